import { genreVocabulary, recomputeProfilesSql } from '../../features/genre-profile.js';
import { GENRES } from '../../features/genres.js';
import type { Queryable } from '../types.js';
import { PgError } from '../pg-errors.js';

/**
 * The users of one client, as `reco ingest` writes them: the users of a ratings file (external id = the
 * dataset's userId) created with the vectors computed from the file, or locked when they existed; the vectors
 * of those recomputed from all of their ratings.
 */

const TOUCHED = 'ingest_touched_users';

/** The users a load touches; `created`: made by this transaction, with their vector already computed. */
export async function createTouchedTable(tx: Queryable): Promise<void> {
  await tx.exec(
    `CREATE TEMP TABLE ${TOUCHED} (user_id bigint PRIMARY KEY, external_id bigint NOT NULL UNIQUE, created boolean NOT NULL DEFAULT false) ON COMMIT DROP`,
  );
}

export interface FileUsers {
  /** users.id of each external id given, in the same order. */
  ids: Float64Array;
  /** 1 where this transaction created the user. */
  created: Uint8Array;
  createdCount: number;
}

/**
 * The users of one ratings file. Creates those the client does not have yet, with the vector and rating
 * count computed from the file (their only ratings, so exact); locks those that existed FOR KEY SHARE, as
 * the ratings foreign key did, so a concurrent delete waits. Lists them all in the touched-users table
 * (createTouchedTable first: then the INSERT is the first statement sent, and the caller can work meanwhile).
 * `vectors[i]` is an array literal ('{0.25,0,…}') for externalIds[i]. Throws (code 23503) when a user
 * that existed a moment ago is gone (deleted concurrently): the load then fails and can be rerun.
 */
export async function createFileUsers(
  tx: Queryable,
  clientId: number,
  externalIds: readonly number[],
  vectors: readonly string[],
  counts: readonly number[],
): Promise<FileUsers> {
  const n = externalIds.length;
  const ids = new Float64Array(n);
  const created = new Uint8Array(n);
  const index = new Map<number, number>(externalIds.map((e, i) => [e, i]));
  // One statement creates the users and lists them as touched (a data-modifying CTE), a second one locks and
  // lists those that existed.
  const made = await tx.query<{ id: number; external_id: number }>(
    `WITH made AS (
       INSERT INTO users (client_id, external_id, characteristic, rating_count)
       SELECT $1::int, t.e::text, t.v::real[], t.n FROM unnest($2::bigint[], $3::text[], $4::int[]) AS t(e, v, n)
       ON CONFLICT (client_id, external_id) DO NOTHING
       RETURNING id, external_id::bigint AS external_id
     ), listed AS (
       INSERT INTO ${TOUCHED} (user_id, external_id, created) SELECT id, external_id, true FROM made
     )
     SELECT id, external_id FROM made`,
    [clientId, externalIds, vectors, counts],
  );
  for (const row of made.rows) {
    const i = index.get(Number(row.external_id))!;
    ids[i] = Number(row.id);
    created[i] = 1;
  }
  const others = made.rows.length === n ? [] : externalIds.filter((_, i) => !created[i]);
  if (others.length > 0) {
    const found = await tx.query<{ id: number; external_id: number }>(
      `WITH found AS (
         SELECT id, external_id::bigint AS external_id FROM users WHERE client_id = $1 AND external_id = ANY($2::bigint[]::text[]) FOR KEY SHARE
       ), listed AS (
         INSERT INTO ${TOUCHED} (user_id, external_id, created) SELECT id, external_id, false FROM found
       )
       SELECT id, external_id FROM found`,
      [clientId, others],
    );
    if (found.rows.length !== others.length) {
      throw Object.assign(
        new Error(
          `${others.length - found.rows.length} users of the file were deleted while it was loading; nothing was stored`,
        ),
        { code: PgError.FOREIGN_KEY_VIOLATION },
      );
    }
    for (const row of found.rows) ids[index.get(Number(row.external_id))!] = Number(row.id);
  }
  await tx.exec(`ANALYZE ${TOUCHED}`);
  return { ids, created, createdCount: made.rows.length };
}

/**
 * Recomputes characteristic and rating_count of every touched user that existed before this load, from all
 * of its ratings, in one statement (the users the load created got theirs at creation).
 */
export async function recomputeTouchedProfiles(tx: Queryable): Promise<number> {
  // For the rest of this (ingest) transaction: with the default work_mem the per-genre aggregate of a large
  // load spills to disk, and the planner's estimates over the CTEs make it JIT-compile (docs/benchmarks/ingest.md).
  await tx.exec(`SET LOCAL work_mem = '64MB'; SET LOCAL jit = off`);
  const r = await tx.query(recomputeProfilesSql(`SELECT user_id FROM ${TOUCHED} WHERE NOT created`), [
    genreVocabulary(),
  ]);
  return r.rowCount;
}

/** The touched users' vectors as CSV rows (no header): userId, rating_count, one column per genre. */
export function touchedProfilesCsv(tx: Queryable): AsyncIterable<Uint8Array> {
  // The column list comes from the GENRES constant, never from input.
  const columns = GENRES.map((_, i) => `u.characteristic[${i + 1}]`).join(', ');
  return tx.copyTo(
    `SELECT t.external_id, u.rating_count, ${columns} FROM users u JOIN ${TOUCHED} t ON t.user_id = u.id ORDER BY t.external_id`,
  );
}

export const PROFILE_CSV_HEADER = ['userId', 'rating_count', ...GENRES];

/** One user's stored vector (for tests and the API). */
export async function userProfile(
  db: Queryable,
  clientId: number,
  externalId: number | string,
): Promise<{ characteristic: number[] | null; rating_count: number } | undefined> {
  const r = await db.query<{ characteristic: number[] | null; rating_count: number }>(
    'SELECT characteristic, rating_count FROM users WHERE client_id = $1 AND external_id = $2',
    [clientId, String(externalId)],
  );
  return r.rows[0];
}
