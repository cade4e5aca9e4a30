import type { Queryable } from '../types.js';
import { PgError } from '../pg-errors.js';
import { Table } from '../tables.js';

/**
 * The rating writes. `ratings` has no foreign keys (migration 011): every writer checks, set-based and in its
 * own transaction, that the users and movies it names exist, and locks them FOR KEY SHARE as a foreign key
 * did, so that a concurrent delete waits for the commit (and then meets the ratings, see migration 011).
 * `reco ingest` writes ratings by COPY straight into `ratings`: those of users it created in the same
 * transaction cannot clash (no other session can see those users); those of users that existed before may meet
 * a stored pair, and then go through a staging table and a set-based upsert instead (one remedy).
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
    throw integrityError(
      `ratings name movies that are not in the catalogue (e.g. ${missing.join(', ')}); nothing was stored`,
    );
  }
  return genres;
}

/** The columns of `ratings` that a direct COPY writes, in CSV order. */
export const RATING_COLUMNS = ['user_id', 'movie_id', 'rating', 'rated_at'] as const;

/**
 * COPY (binary tuples, see Queryable.copyFromBinary) straight into `ratings`, for rows whose users and movies
 * the caller has created or locked (lockRatedMovies, createFileUsers). Pairs of users created in this
 * transaction cannot exist yet; for users that existed, run it under Transaction.attempt with
 * isUniqueViolation and take upsertRatings when it meets a stored pair.
 */
export function copyIntoRatings(tx: Queryable, tuples: AsyncIterable<Uint8Array>): Promise<number> {
  return tx.copyFromBinary(Table.ratings, RATING_COLUMNS, tuples);
}

/** Bytes of the `ratings` table's heap (not its indexes): a count(*) in a few milliseconds, see embedded-limit.ts. */
export async function ratingsHeapBytes(db: Queryable): Promise<number> {
  const r = await db.query<{ b: number }>('SELECT pg_relation_size($1::regclass)::bigint AS b', [Table.ratings]);
  return Number(r.rows[0]?.b ?? 0);
}

/** A unique violation: a pair stored already. What a direct COPY for users that existed may meet. */
export function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: unknown } | undefined)?.code === PgError.UNIQUE_VIOLATION;
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

const RATING_STAGE = 'ingest_stage_ratings';
/** Columns of the staging table: the external user id, then as in `ratings` (rating, unix seconds). */
const RATING_STAGE_COLUMNS = ['user_ext', 'movie_id', 'rating', 'ts'] as const;

/**
 * The remedy when ratings of users that existed meet stored pairs (a re-delivery, or the API meanwhile): the
 * rows (binary tuples of user_ext int8, movie_id int4, rating float4, ts int8) go through a staging table into
 * a set-based upsert over the touched users (createFileUsers first). A re-delivered rating replaces the stored
 * one unless the stored one is newer; an identical one is not touched.
 */
export async function upsertRatings(
  tx: Queryable,
  tuples: AsyncIterable<Uint8Array>,
): Promise<{ inserted: number; updated: number }> {
  await tx.exec(
    `CREATE TEMP TABLE ${RATING_STAGE} (user_ext bigint NOT NULL, movie_id integer NOT NULL, rating real NOT NULL, ts bigint NOT NULL) ON COMMIT DROP`,
  );
  await tx.copyFromBinary(RATING_STAGE, RATING_STAGE_COLUMNS, tuples);
  // So that the planner joins a million staged rows by hash, not by loop.
  await tx.exec(`ANALYZE ${RATING_STAGE}`);
  const r = await tx.query<{ inserted: number; updated: number }>(`
    WITH up AS (
      INSERT INTO ratings (user_id, movie_id, rating, rated_at)
      SELECT t.user_id, s.movie_id, s.rating, to_timestamp(s.ts)
        FROM ${RATING_STAGE} s JOIN ingest_touched_users t ON t.external_id = s.user_ext
      ON CONFLICT (user_id, movie_id) DO UPDATE
         SET rating = EXCLUDED.rating, rated_at = EXCLUDED.rated_at
       WHERE ratings.rated_at <= EXCLUDED.rated_at
         AND (ratings.rating, ratings.rated_at) IS DISTINCT FROM (EXCLUDED.rating, EXCLUDED.rated_at)
      RETURNING (xmax = 0) AS inserted
    )
    SELECT count(*) FILTER (WHERE inserted)::int AS inserted, count(*) FILTER (WHERE NOT inserted)::int AS updated FROM up`);
  return r.rows[0];
}
