import type { Queryable } from '../types.js';

/** What `reco simulate data` reads from the database: the catalogue and where the ratings end. */
export interface SimulationSource {
  movies: { movieId: number; title: string; genres: string[] }[];
  /** Unix seconds of the latest rating, or null when there are none. */
  latestRatingAt: number | null;
}

export async function loadSimulationSource(db: Queryable): Promise<SimulationSource> {
  const movies = await db.query<{ movie_id: number; title: string; genres: string[] }>(
    'SELECT movie_id, title, genres FROM movies ORDER BY movie_id',
  );
  const latest = await db.query<{ at: string | number | null }>(
    'SELECT floor(extract(epoch FROM max(rated_at)))::bigint AS at FROM ratings',
  );
  const at = latest.rows[0]?.at;
  return {
    movies: movies.rows.map((r) => ({ movieId: Number(r.movie_id), title: r.title, genres: r.genres ?? [] })),
    latestRatingAt: at === null || at === undefined ? null : Number(at),
  };
}
