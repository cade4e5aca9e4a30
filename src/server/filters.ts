import { LRUCache } from 'lru-cache';
import { GENRES } from '../core/features/genres.js';
import type { CatalogueEntry } from '../core/db/repositories/movies-query.js';
import { HttpError } from './http-errors.js';
import { SetUnion } from './id-sets.js';
import { CatalogueIndex, CatalogueSubset, genreMask } from './catalogue-index.js';

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

/** What the filters and the genre fallback of /similar read of the catalogue (CatalogueCache). */
export interface CatalogueView {
  /** Changes whenever an entry may have changed (not when one is added: `added`): memos are kept per generation. */
  readonly generation: number;
  all(): ReadonlyMap<number, CatalogueEntry>;
  /**
   * Movies added to this generation since it was published, in order: the last entries of `all()` (none when
   * absent). A memo built before they came takes them in when it is read instead of being built again.
   */
  readonly added?: readonly number[];
}

/**
 * Genre and year parts of a filter, memoised per catalogue generation (one byte per movie each); the catalogue in
 * columns is kept for the latest generation, so a miss is one scan of typed arrays. The memo is bounded in bytes,
 * so a small catalogue keeps more sets than a large one: about 1,700 on ml-latest-small's 9,742 movies, where the
 * traffic mix asks for ~3,000 genre and year combinations, and about 270 on MovieLens 25M's 62,423.
 */
export const FILTER_MEMO_BYTES = 16 << 20;
/** What a memoised set costs beyond its byte per movie (its objects, the key). */
const SET_FIXED_BYTES = 200;
const filterMemos = new WeakMap<CatalogueView, FilterMemo>();

interface FilterMemo {
  generation: number;
  index: CatalogueIndex;
  sets: LRUCache<string, ReadonlySet<number>>;
}

/**
 * The movies of the catalogue a filter leaves out, as a set for the models' `exclude` option: ranking then skips
 * them before the top n is cut, so n movies come back while enough pass. Movies the model knows but the
 * catalogue does not are dropped when the answer is rendered anyway. The genre and year part depends only on the
 * catalogue, so it is built once per catalogue generation and shared; the request's ids are added by a view.
 */
export function excludedByFilter(catalogue: CatalogueView, f: MovieFilter): ReadonlySet<number> {
  checkGenres(f.genres_any, 'genres_any');
  checkGenres(f.genres_none, 'genres_none');
  if (f.year_min !== undefined && f.year_max !== undefined && f.year_min > f.year_max) {
    throw new HttpError(422, `filter: year_min (${f.year_min}) is after year_max (${f.year_max})`);
  }
  const byId = new Set<number>(f.exclude_movie_ids ?? []);
  const byYear = f.year_min !== undefined || f.year_max !== undefined;
  if (!f.genres_any?.length && !f.genres_none?.length && !byYear) return byId;
  const parts = catalogueParts(catalogue, f);
  addedExcluded(catalogue, f, byId);
  return byId.size === 0 ? parts : new SetUnion(parts, byId);
}

/** What the filters built on demand so far, in this process (warm-up.ts builds them before any request). */
export const filterBuilds = { indexes: 0, sets: 0 };

/** The memo of the catalogue's current generation, built when there is none yet. */
function currentMemo(catalogue: CatalogueView): FilterMemo {
  let memo = filterMemos.get(catalogue);
  if (!memo || memo.generation !== catalogue.generation) {
    const index = new CatalogueIndex(catalogue.all());
    memo = {
      generation: catalogue.generation,
      index,
      sets: new LRUCache({
        maxSize: FILTER_MEMO_BYTES,
        sizeCalculation: (_set, key) => SET_FIXED_BYTES + key.length + index.ids.length,
      }),
    };
    filterMemos.set(catalogue, memo);
    filterBuilds.indexes++;
  }
  return memo;
}

/** The movies the genre and year parts of `f` leave out, from the memo when this generation already built them. */
function catalogueParts(catalogue: CatalogueView, f: MovieFilter): ReadonlySet<number> {
  const memo = currentMemo(catalogue);
  const any = genreMask(f.genres_any);
  const none = genreMask(f.genres_none);
  const key = `${any}:${none}:${f.year_min ?? ''}:${f.year_max ?? ''}`;
  let out = memo.sets.get(key);
  if (!out) {
    out = scanIndex(memo.index, any, none, f.year_min, f.year_max);
    memo.sets.set(key, out);
    filterBuilds.sets++;
  }
  return out;
}

/**
 * Adds to `out` the movies added to the catalogue (CatalogueView.added) after its columns were built that the
 * genre and year parts of `f` leave out: a few movies until the next refresh, checked one by one instead of
 * building the columns and every set again.
 */
function addedExcluded(catalogue: CatalogueView, f: MovieFilter, out: Set<number>): void {
  const added = catalogue.added;
  if (!added?.length) return;
  const index = currentMemo(catalogue).index;
  const parts = { genres_any: f.genres_any, genres_none: f.genres_none, year_min: f.year_min, year_max: f.year_max };
  for (const id of added) {
    if (index.position.has(id)) continue;
    const e = catalogue.all().get(id);
    if (e && !passes(id, e, parts)) out.add(id);
  }
}

/** The filters whose sets a warm-up builds ahead (warm-up.ts): each genre alone, as `genres_any` and `genres_none`. */
export const ONE_GENRE_FILTERS: readonly MovieFilter[] = GENRES.flatMap((g) => [
  { genres_any: [g] },
  { genres_none: [g] },
]);

/** Builds the catalogue in columns for the current generation (nothing when it is built already). */
export function warmFilterIndex(catalogue: CatalogueView): void {
  currentMemo(catalogue);
}

/** Builds the set of `f`'s genre and year parts for the current generation (nothing when it is kept already). */
export function warmFilter(catalogue: CatalogueView, f: MovieFilter): void {
  catalogueParts(catalogue, f);
}

/** `passes` over the catalogue's columns (catalogueExcluded is the reference). */
function scanIndex(
  index: CatalogueIndex,
  any: number,
  none: number,
  yearMin: number | undefined,
  yearMax: number | undefined,
): CatalogueSubset {
  const flags = new Uint8Array(index.ids.length);
  const min = yearMin ?? -Infinity;
  const max = yearMax ?? Infinity;
  const byYear = yearMin !== undefined || yearMax !== undefined;
  let size = 0;
  for (let k = 0; k < flags.length; k++) {
    const g = index.genres[k];
    const y = index.years[k];
    // NaN (no year) fails both comparisons, so it is left out whenever a year bound is given.
    const out = (any !== 0 && (g & any) === 0) || (g & none) !== 0 || (byYear && !(y >= min && y <= max));
    if (out) {
      flags[k] = 1;
      size++;
    }
  }
  return new CatalogueSubset(index, flags, size);
}

/** Reference: the catalogue movies `f` leaves out, by scanning the whole catalogue. */
export function catalogueExcluded(catalogue: ReadonlyMap<number, CatalogueEntry>, f: MovieFilter): Set<number> {
  const out = new Set<number>();
  for (const [id, e] of catalogue) if (!passes(id, e, f)) out.add(id);
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
