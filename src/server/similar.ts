import { LRUCache } from 'lru-cache';
import type { CatalogueEntry } from '../core/db/repositories/movies-query.js';
import { topN } from '../core/models/ranking.js';
import type { Recommendation } from '../core/models/types.js';
import type { CatalogueView } from './filters.js';

/**
 * Movies sharing genres with one movie (Jaccard similarity of the genre sets, ties to the movie earlier in the
 * catalogue — topN's rule): the answer of /similar when the served model has no item–item weights for the movie.
 * It reads only the catalogue, so it also reaches movies nobody rated yet. The reference: one pass over the
 * whole catalogue per call.
 */
export function genreSimilar(
  catalogue: ReadonlyMap<number, CatalogueEntry>,
  movieId: number,
  genres: readonly string[],
  n: number,
  exclude?: ReadonlySet<number>,
): Recommendation[] {
  const mine = new Set(genres);
  const ids = new Int32Array(catalogue.size);
  const scores = new Float64Array(catalogue.size);
  let k = 0;
  for (const [id, e] of catalogue) {
    ids[k] = id;
    scores[k++] = jaccard(mine, e.genres);
  }
  return topN(ids, scores, n, { movieIds: [movieId] }, exclude ? { exclude } : undefined);
}

/** NaN when nothing is shared, so ranking leaves the movie out. */
function jaccard(mine: ReadonlySet<string>, theirs: readonly string[]): number {
  let shared = 0;
  for (const g of theirs) if (mine.has(g)) shared++;
  return shared > 0 ? shared / (mine.size + theirs.length - shared) : NaN;
}

/** Candidates kept per genre signature: enough for n ≤ 100 past the movie itself and a filter's exclusions. */
const RANKED_PREFIX = 1000;
/** Genre signatures kept per catalogue (MovieLens has about 1,700 distinct genre sets). */
const SIGNATURES = 2048;

interface Ranked {
  ids: Int32Array;
  scores: Float64Array;
  /** Whether `ids` holds every movie sharing a genre (else only the first RANKED_PREFIX). */
  complete: boolean;
}

const rankedLists = new WeakMap<CatalogueView, LRUCache<string, Ranked>>();

/**
 * genreSimilar from a memo: a movie's Jaccard score depends only on the two genre sets, so the ranked list of
 * candidates is the same for every movie with the same genres. It is built once per catalogue generation and genre
 * signature; a call walks it skipping the movie itself and `exclude`, and falls back to the reference when the
 * kept prefix runs out first.
 */
export function genreSimilarMemo(
  catalogue: CatalogueView,
  movieId: number,
  genres: readonly string[],
  n: number,
  exclude?: ReadonlySet<number>,
): Recommendation[] {
  const ranked = rankedFor(catalogue, genres);
  const out: Recommendation[] = [];
  if (n <= 0) return out;
  for (let i = 0; i < ranked.ids.length; i++) {
    const id = ranked.ids[i];
    if (id === movieId || (exclude && exclude.has(id))) continue;
    out.push({ movieId: id, score: ranked.scores[i] });
    if (out.length === n) return out;
  }
  return ranked.complete ? out : genreSimilar(catalogue.all(), movieId, genres, n, exclude);
}

/** Ranked lists built on demand so far, in this process (warm-up.ts builds the common ones before any request). */
export const genreListBuilds = { lists: 0 };

/** The ranked list of a genre signature for the catalogue's current generation, from the memo or built. */
function rankedFor(catalogue: CatalogueView, genres: readonly string[]): Ranked {
  let memo = rankedLists.get(catalogue);
  if (!memo) rankedLists.set(catalogue, (memo = new LRUCache({ max: SIGNATURES })));
  const signature = [...new Set(genres)].sort();
  const key = JSON.stringify([catalogue.generation, signature]);
  let ranked = memo.get(key);
  if (!ranked) {
    ranked = rankByGenres(catalogue.all(), new Set(signature));
    memo.set(key, ranked);
    genreListBuilds.lists++;
  }
  return ranked;
}

/**
 * The catalogue's distinct genre sets, the most common first (ties in catalogue order), at most `max`: the
 * signatures whose ranked lists /similar's genre fallback most often needs.
 */
export function commonGenreSignatures(catalogue: CatalogueView, max = SIGNATURES): string[][] {
  const counts = new Map<string, { genres: readonly string[]; count: number }>();
  for (const e of catalogue.all().values()) {
    const key = [...new Set(e.genres)].sort().join('\u0000');
    const c = counts.get(key);
    if (c) c.count++;
    else counts.set(key, { genres: e.genres, count: 1 });
  }
  return [...counts.values()]
    .sort((a, b) => b.count - a.count)
    .slice(0, Math.min(max, SIGNATURES))
    .map((c) => [...c.genres]);
}

/** Builds the ranked list of one genre signature for the current generation (none when it is kept already). */
export function warmGenreSimilar(catalogue: CatalogueView, genres: readonly string[]): void {
  rankedFor(catalogue, genres);
}

/**
 * The catalogue's movies sharing a genre with `mine`, best score first, ties in catalogue order. Jaccard scores of
 * small genre sets take few distinct values, so the movies are grouped by score (in catalogue order) rather than
 * sorted one by one.
 */
function rankByGenres(catalogue: ReadonlyMap<number, CatalogueEntry>, mine: ReadonlySet<string>): Ranked {
  const groups = new Map<number, number[]>();
  let total = 0;
  for (const [id, e] of catalogue) {
    const s = jaccard(mine, e.genres);
    if (Number.isNaN(s)) continue;
    let group = groups.get(s);
    if (!group) groups.set(s, (group = []));
    group.push(id);
    total++;
  }
  const size = Math.min(total, RANKED_PREFIX);
  const ids = new Int32Array(size);
  const scores = new Float64Array(size);
  let k = 0;
  for (const s of [...groups.keys()].sort((a, b) => b - a)) {
    for (const id of groups.get(s)!) {
      if (k === size) break;
      ids[k] = id;
      scores[k++] = s;
    }
  }
  return { ids, scores, complete: size === total };
}
