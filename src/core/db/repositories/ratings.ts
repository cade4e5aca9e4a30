import type { Queryable } from '../types.js';

/** The rating writes of `reco ingest`: COPY into a temporary staging table, then one set-based upsert. */

export const RATING_STAGE = 'ingest_stage_ratings';
/** Columns of the processed ratings.csv (and of the staging table), in file order. */
export const RATING_STAGE_COLUMNS = ['user_ext', 'movie_id', 'rating', 'ts'] as const;

export async function createRatingStage(tx: Queryable): Promise<void> {
  await tx.exec(`CREATE TEMP TABLE ${RATING_STAGE} (user_ext bigint NOT NULL, movie_id integer NOT NULL, rating real NOT NULL, ts bigint NOT NULL) ON COMMIT DROP`);
}

/** COPYs the rows, then ANALYZE so that the planner joins a million staged rows by hash, not by loop. */
export async function copyIntoRatingStage(tx: Queryable, csv: AsyncIterable<string | Uint8Array>): Promise<number> {
  const n = await tx.copyFrom(RATING_STAGE, RATING_STAGE_COLUMNS, csv);
  await tx.exec(`ANALYZE ${RATING_STAGE}`);
  return n;
}

/**
 * Inserts the staged ratings of the touched users (upsertStagedUsers first). A re-delivered rating (same
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
      if (err?.code !== '23505') throw err;
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
