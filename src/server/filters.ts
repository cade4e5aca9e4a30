import { GENRES } from '../core/features/genres.js';
import type { CatalogueCache } from './catalogue-cache.js';
import { HttpError } from './http-errors.js';

/** The filter of /recommendations and /movies/{id}/similar (schemas.ts, Filter). */
export interface MovieFilter {
  genres_any?: string[];
  genres_none?: string[];
  year_min?: number;
  year_max?: number;
  exclude_movie_ids?: number[];
}

const KNOWN_GENRES = new Set<string>(GENRES);

/** Unknown genre names are a 422 that lists the known ones. */
function checkGenres(names: readonly string[] | undefined, field: string): void {
  const unknown = (names ?? []).filter((g) => !KNOWN_GENRES.has(g));
  if (unknown.length > 0) {
    throw new HttpError(
      422,
      `filter.${field}: unknown genre ${unknown.map((g) => JSON.stringify(g)).join(', ')}; known genres: ${GENRES.join(', ')}`,
    );
  }
}

export function hasFilter(f: MovieFilter | undefined): f is MovieFilter {
  return f !== undefined && Object.values(f).some((v) => v !== undefined);
}

/**
 * The movies of the catalogue a filter leaves out, as a set for the models' `exclude` option: ranking then skips
 * them before the top n is cut, so n movies come back while enough pass. Movies the model knows but the
 * catalogue does not are dropped when the answer is rendered anyway.
 */
export function excludedByFilter(catalogue: CatalogueCache, f: MovieFilter): Set<number> {
  checkGenres(f.genres_any, 'genres_any');
  checkGenres(f.genres_none, 'genres_none');
  if (f.year_min !== undefined && f.year_max !== undefined && f.year_min > f.year_max) {
    throw new HttpError(422, `filter: year_min (${f.year_min}) is after year_max (${f.year_max})`);
  }
  const out = new Set<number>(f.exclude_movie_ids ?? []);
  const byYear = f.year_min !== undefined || f.year_max !== undefined;
  if (!f.genres_any?.length && !f.genres_none?.length && !byYear) return out;
  for (const [id, e] of catalogue.all()) if (!passes(id, e, f)) out.add(id);
  return out;
}

/** Whether one catalogue entry passes (the answer is checked again: a movie newer than the cached catalogue). */
export function passes(
  movieId: number,
  e: { genres: readonly string[]; year: number | null },
  f: MovieFilter,
): boolean {
  if (f.exclude_movie_ids?.includes(movieId)) return false;
  if (f.genres_any && f.genres_any.length > 0 && !e.genres.some((g) => f.genres_any!.includes(g))) return false;
  if (f.genres_none && e.genres.some((g) => f.genres_none!.includes(g))) return false;
  if (f.year_min !== undefined && (e.year === null || e.year < f.year_min)) return false;
  if (f.year_max !== undefined && (e.year === null || e.year > f.year_max)) return false;
  return true;
}
