import type { Queryable } from '../types.js';

export interface MovieRow {
  movie_id: number;
  title: string;
  genres: string[];
  year: number | null;
}

export interface MovieSearch {
  /** Case-insensitive substring of the title. */
  query?: string;
  /** Exact genre name, e.g. "Sci-Fi". */
  genre?: string;
  limit: number;
  offset: number;
}

/** Escapes LIKE wildcards so that a user's "%" or "_" match themselves. */
function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** Catalogue search, ordered by title then id, with the total number of matches for paging. */
export async function searchMovies(db: Queryable, search: MovieSearch): Promise<{ total: number; movies: MovieRow[] }> {
  const pattern = search.query ? likePattern(search.query) : null;
  const genre = search.genre ?? null;
  const where = `($1::text IS NULL OR title ILIKE $1) AND ($2::text IS NULL OR $2 = ANY(genres))`;
  const [count, page] = await Promise.all([
    db.query<{ n: number }>(`SELECT count(*)::int AS n FROM movies WHERE ${where}`, [pattern, genre]),
    db.query<MovieRow>(
      `SELECT movie_id, title, genres, year FROM movies WHERE ${where} ORDER BY title, movie_id LIMIT $3 OFFSET $4`,
      [pattern, genre, search.limit, search.offset],
    ),
  ]);
  return { total: count.rows[0].n, movies: page.rows };
}

export interface CatalogueEntry {
  title: string;
  genres: string[];
  /** Release year parsed from the title, null when it has none. */
  year: number | null;
}

/** The whole catalogue (id → title, genres), kept in memory by the server to answer without a query. */
export async function loadCatalogueEntries(db: Queryable): Promise<Map<number, CatalogueEntry>> {
  const r = await db.query<{ movie_id: number; title: string; genres: string[]; year: number | null }>(
    'SELECT movie_id, title, genres, year FROM movies',
  );
  const map = new Map<number, CatalogueEntry>();
  for (const row of r.rows) map.set(row.movie_id, { title: row.title, genres: row.genres, year: row.year });
  return map;
}

/** These of `ids` that are in the catalogue, with their entries. */
export async function findMovies(db: Queryable, ids: readonly number[]): Promise<Map<number, CatalogueEntry>> {
  const map = new Map<number, CatalogueEntry>();
  if (ids.length === 0) return map;
  const r = await db.query<{ movie_id: number; title: string; genres: string[]; year: number | null }>(
    'SELECT movie_id, title, genres, year FROM movies WHERE movie_id = ANY($1::int[])',
    [ids],
  );
  for (const row of r.rows) map.set(row.movie_id, { title: row.title, genres: row.genres, year: row.year });
  return map;
}

/** Number of movies, to notice that the catalogue changed since it was cached. */
export async function catalogueSignature(db: Queryable): Promise<string> {
  const r = await db.query<{ n: number; latest: Date | null }>(
    'SELECT count(*)::int AS n, max(updated_at) AS latest FROM movies',
  );
  return `${r.rows[0].n}:${r.rows[0].latest ? new Date(r.rows[0].latest).getTime() : 0}`;
}

/** Movies in the catalogue (quickstart: 0 means "load the initial data"). */
export async function countMovies(db: Queryable): Promise<number> {
  const r = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM movies');
  return r.rows[0].n;
}
