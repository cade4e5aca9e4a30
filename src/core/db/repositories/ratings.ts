import type { Queryable } from '../types.js';
import { PgError } from '../pg-errors.js';
import { Table } from '../tables.js';

/**
 * The rating writes. `ratings` has no foreign keys (migration 011): every writer checks, set-based and in its
 * own transaction, that the users and movies it names exist, and locks them FOR KEY SHARE as a foreign key
 * did, so that a concurrent delete waits for the commit (and then meets the ratings, see migration 011).
 * `reco ingest` writes the ratings of users it created in the same transaction by COPY straight into
 * `ratings` (no other session can see those users, so their pairs cannot exist yet); those of users that
 * existed before go through a staging table and a set-based upsert (re-delivery).
 */

function integrityError(message: string): Error {
  return Object.assign(new Error(message), { code: PgError.FOREIGN_KEY_VIOLATION });
}

/**
 * Locks the given movies FOR KEY SHARE (a concurrent delete waits until this transaction ends) and returns
 * their genres. Throws an error with code 23503 when one of them is not in the catalogue.
 */
export async function lockRatedMovies(tx: Queryable, movieIds: readonly number[]): Promise<Map<number, string[]>> {
  const r = await tx.query<{ movie_id: number; genres: string[] }>(
    'SELECT movie_id, genres FROM movies WHERE movie_id = ANY($1::int[]) FOR KEY SHARE',
    [movieIds],
  );
  const genres = new Map<number, string[]>(r.rows.map((row) => [row.movie_id, row.genres]));
  if (genres.size !== new Set(movieIds).size) {
    const missing = movieIds.filter((id) => !genres.has(id)).slice(0, 5);
    throw integrityError(`ratings name movies that are not in the catalogue (e.g. ${missing.join(', ')}); nothing was stored`);
  }
  return genres;
}

/** The columns of `ratings` that a direct COPY writes, in CSV order. */
export const RATING_COLUMNS = ['user_id', 'movie_id', 'rating', 'rated_at'] as const;

/**
 * COPY (binary tuples, see Queryable.copyFromBinary) straight into `ratings`. Only for pairs that cannot exist
 * yet (users created in this transaction), whose users and movies the caller has created or locked
 * (lockRatedMovies, createFileUsers).
 */
export function copyIntoRatings(tx: Queryable, tuples: AsyncIterable<Uint8Array>): Promise<number> {
  return tx.copyFromBinary(Table.ratings, RATING_COLUMNS, tuples);
}

/**
 * For users that existed before the load: COPY straight into `ratings` under a savepoint, on the bet that none
 * of the pairs is stored yet (a day of new ratings, the usual case). A stored pair (a re-delivery, or the API
 * meanwhile) makes the COPY fail with a unique violation: the savepoint takes it all back and this returns
 * undefined, for the caller to take the staged upsert instead.
 */
export async function tryCopyIntoRatings(tx: Queryable, tuples: AsyncIterable<Uint8Array>): Promise<number | undefined> {
  await tx.exec('SAVEPOINT ingest_direct_copy');
  try {
    const n = await copyIntoRatings(tx, tuples);
    await tx.exec('RELEASE SAVEPOINT ingest_direct_copy');
    return n;
  } catch (err: any) {
    if (err?.code !== PgError.UNIQUE_VIOLATION) throw err;
    await tx.exec('ROLLBACK TO SAVEPOINT ingest_direct_copy');
    return undefined;
  }
}

/**
 * Ratings whose user or movie does not exist (0 when the writers kept their promise). Seq scans; for tests
 * and checks after bulk writes such as a restore.
 */
export async function countOrphanRatings(db: Queryable): Promise<{ withoutUser: number; withoutMovie: number }> {
  const r = await db.query<{ without_user: number; without_movie: number }>(`
    SELECT (SELECT count(*) FROM ratings r WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = r.user_id))::int AS without_user,
           (SELECT count(*) FROM ratings r WHERE NOT EXISTS (SELECT 1 FROM movies m WHERE m.movie_id = r.movie_id))::int AS without_movie`);
  return { withoutUser: r.rows[0].without_user, withoutMovie: r.rows[0].without_movie };
}

export const RATING_STAGE = 'ingest_stage_ratings';
/** Columns of the processed ratings.csv (and of the staging table), in file order. */
export const RATING_STAGE_COLUMNS = ['user_ext', 'movie_id', 'rating', 'ts'] as const;

export async function createRatingStage(tx: Queryable): Promise<void> {
  await tx.exec(`CREATE TEMP TABLE ${RATING_STAGE} (user_ext bigint NOT NULL, movie_id integer NOT NULL, rating real NOT NULL, ts bigint NOT NULL) ON COMMIT DROP`);
}

/**
 * COPYs the rows (CSV, or binary tuples with `binary`), then ANALYZE so that the planner joins a million
 * staged rows by hash, not by loop.
 */
export async function copyIntoRatingStage(tx: Queryable, data: AsyncIterable<string | Uint8Array>, binary = false): Promise<number> {
  const n = binary ? await tx.copyFromBinary(RATING_STAGE, RATING_STAGE_COLUMNS, data as AsyncIterable<Uint8Array>) : await tx.copyFrom(RATING_STAGE, RATING_STAGE_COLUMNS, data);
  await tx.exec(`ANALYZE ${RATING_STAGE}`);
  return n;
}

/**
 * Inserts the staged ratings of the touched users (createFileUsers first). A re-delivered rating (same
 * user and movie) replaces the stored one unless the stored one is newer; an identical one is not touched.
 */
export async function upsertRatingsFromStage(tx: Queryable): Promise<{ inserted: number; updated: number }> {
  // ON CONFLICT's speculative inserts cost about as much as the inserts themselves: when no staged pair is
  // stored yet (a first load, most days), a plain INSERT does. A pair stored meanwhile by the API makes it
  // fail with a unique violation; the savepoint then takes it back and the upsert below runs instead.
  const clash = await tx.query<{ any: boolean }>(`
    SELECT EXISTS (SELECT 1 FROM ${RATING_STAGE} s JOIN ingest_touched_users t ON t.external_id = s.user_ext
                     JOIN ratings r ON r.user_id = t.user_id AND r.movie_id = s.movie_id) AS any`);
  if (!clash.rows[0].any) {
    await tx.exec('SAVEPOINT ingest_plain_insert');
    try {
      const plain = await tx.query(`
        INSERT INTO ratings (user_id, movie_id, rating, rated_at)
        SELECT t.user_id, s.movie_id, s.rating, to_timestamp(s.ts)
          FROM ${RATING_STAGE} s JOIN ingest_touched_users t ON t.external_id = s.user_ext`);
      await tx.exec('RELEASE SAVEPOINT ingest_plain_insert');
      return { inserted: plain.rowCount, updated: 0 };
    } catch (err: any) {
      if (err?.code !== PgError.UNIQUE_VIOLATION) throw err;
      await tx.exec('ROLLBACK TO SAVEPOINT ingest_plain_insert');
    }
  }
  const r = await tx.query<{ inserted: number; updated: number }>(`
    WITH up AS (
      INSERT INTO ratings (user_id, movie_id, rating, rated_at)
      SELECT t.user_id, s.movie_id, s.rating, to_timestamp(s.ts)
        FROM ingest_stage_ratings s JOIN ingest_touched_users t ON t.external_id = s.user_ext
      ON CONFLICT (user_id, movie_id) DO UPDATE
         SET rating = EXCLUDED.rating, rated_at = EXCLUDED.rated_at
       WHERE ratings.rated_at <= EXCLUDED.rated_at
         AND (ratings.rating, ratings.rated_at) IS DISTINCT FROM (EXCLUDED.rating, EXCLUDED.rated_at)
      RETURNING (xmax = 0) AS inserted
    )
    SELECT count(*) FILTER (WHERE inserted)::int AS inserted, count(*) FILTER (WHERE NOT inserted)::int AS updated FROM up`);
  return r.rows[0];
}
