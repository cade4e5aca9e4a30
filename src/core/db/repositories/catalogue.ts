import type { Queryable } from '../types.js';

/** The movie catalogue writes of `reco ingest`: a staging table filled by COPY, then one set-based upsert. */

const STAGE = 'ingest_stage_movies';
/** Columns of the processed movies.csv (and of the staging table), in file order. */
export const MOVIE_STAGE_COLUMNS = ['movie_id', 'title', 'genres', 'year'] as const;

/** The ids already in the catalogue, to tell a known movie from an unknown one while validating ratings. */
export async function catalogueMovieIds(db: Queryable): Promise<Set<number>> {
  const r = await db.query<{ movie_id: number }>('SELECT movie_id FROM movies');
  return new Set(r.rows.map((row) => row.movie_id));
}

/** A temporary staging table that lives until the end of the transaction (not WAL-logged). */
export async function createMovieStage(tx: Queryable): Promise<void> {
  await tx.exec(
    `CREATE TEMP TABLE ${STAGE} (movie_id integer PRIMARY KEY, title text NOT NULL, genres text NOT NULL, year smallint) ON COMMIT DROP`,
  );
}

export function copyIntoMovieStage(tx: Queryable, csv: AsyncIterable<string | Uint8Array>): Promise<number> {
  return tx.copyFrom(STAGE, MOVIE_STAGE_COLUMNS, csv);
}

/**
 * Inserts new movies and updates changed ones; an unchanged movie is not touched (so a second delivery
 * of the same catalogue changes nothing). Genres arrive as MovieLens writes them ("A|B", "(no genres listed)").
 */
export async function upsertMoviesFromStage(tx: Queryable): Promise<{ inserted: number; updated: number }> {
  const r = await tx.query<{ inserted: number; updated: number }>(`
    WITH up AS (
      INSERT INTO movies (movie_id, title, genres, year)
      SELECT movie_id, title,
             CASE WHEN genres IN ('', '(no genres listed)') THEN '{}'::text[] ELSE string_to_array(genres, '|') END,
             year
        FROM ${STAGE}
      ON CONFLICT (movie_id) DO UPDATE
         SET title = EXCLUDED.title, genres = EXCLUDED.genres, year = EXCLUDED.year, updated_at = now()
       WHERE (movies.title, movies.genres, movies.year) IS DISTINCT FROM (EXCLUDED.title, EXCLUDED.genres, EXCLUDED.year)
      RETURNING (xmax = 0) AS inserted
    )
    SELECT count(*) FILTER (WHERE inserted)::int AS inserted, count(*) FILTER (WHERE NOT inserted)::int AS updated FROM up`);
  return r.rows[0];
}
