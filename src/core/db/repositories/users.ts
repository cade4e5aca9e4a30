import { genreVocabulary, recomputeProfilesSql } from '../../features/genre-profile-sql.js';
import { GENRES } from '../../features/genres.js';
import type { Queryable } from '../types.js';
import { RATING_STAGE } from './ratings.js';

/**
 * The users of one client, as `reco ingest` writes them: created from the staged ratings (external id =
 * the dataset's userId), then their characteristic vectors recomputed from all of their ratings.
 */

const TOUCHED = 'ingest_touched_users';

/**
 * Creates the users of the staged ratings that the client does not have yet, and lists every staged user
 * (new or not) in a temporary table for the rating upsert and the vector update. Returns the new users.
 */
export async function upsertStagedUsers(tx: Queryable, clientId: number): Promise<{ created: number; touched: number }> {
  const created = await tx.query(
    `INSERT INTO users (client_id, external_id)
     SELECT DISTINCT $1::int, user_ext FROM ${RATING_STAGE}
     ON CONFLICT (client_id, external_id) DO NOTHING`,
    [clientId],
  );
  await tx.exec(`CREATE TEMP TABLE ${TOUCHED} (user_id bigint PRIMARY KEY, external_id bigint NOT NULL UNIQUE) ON COMMIT DROP`);
  const touched = await tx.query(
    `INSERT INTO ${TOUCHED} (user_id, external_id)
     SELECT u.id, u.external_id FROM users u
      WHERE u.client_id = $1 AND u.external_id IN (SELECT user_ext FROM ${RATING_STAGE})`,
    [clientId],
  );
  await tx.exec(`ANALYZE ${TOUCHED}`);
  return { created: created.rowCount, touched: touched.rowCount };
}

/** Recomputes characteristic and rating_count of every touched user in one statement. */
export async function recomputeTouchedProfiles(tx: Queryable): Promise<number> {
  const r = await tx.query(recomputeProfilesSql(`SELECT user_id FROM ${TOUCHED}`), [genreVocabulary()]);
  return r.rowCount;
}

/** The touched users' vectors as CSV rows (no header): userId, rating_count, one column per genre. */
export function touchedProfilesCsv(tx: Queryable): AsyncIterable<Uint8Array> {
  // The column list comes from the GENRES constant, never from input.
  const columns = GENRES.map((_, i) => `u.characteristic[${i + 1}]`).join(', ');
  return tx.copyTo(`SELECT u.external_id, u.rating_count, ${columns} FROM users u JOIN ${TOUCHED} t ON t.user_id = u.id ORDER BY u.external_id`);
}

export const PROFILE_CSV_HEADER = ['userId', 'rating_count', ...GENRES];

/** One user's stored vector (for tests and the API). */
export async function userProfile(db: Queryable, clientId: number, externalId: number): Promise<{ characteristic: number[] | null; rating_count: number } | undefined> {
  const r = await db.query<{ characteristic: number[] | null; rating_count: number }>(
    'SELECT characteristic, rating_count FROM users WHERE client_id = $1 AND external_id = $2',
    [clientId, externalId],
  );
  return r.rows[0];
}
