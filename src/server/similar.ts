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
  /** How many of the catalogue's `added` movies it holds (those added later are merged in by genreSimilarMemo). */
  added: number;
}

const rankedLists = new WeakMap<CatalogueView, LRUCache<string, Ranked>>();

/**
 * genreSimilar from a memo: a movie's Jaccard score depends only on the two genre sets, so the ranked list of
 * candidates is the same for every movie with the same genres. It is built once per catalogue generation and genre
 * signature; a call walks it skipping the movie itself and `exclude`, and falls back to the reference when the
 * kept prefix runs out first. Movies added to the generation after the list was built (CatalogueView.added: last
 * in catalogue order, so after every kept movie of the same score) are merged in as it is walked.
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
  const late = addedSince(catalogue, ranked, genres);
  let i = 0;
  let j = 0;
  for (;;) {
    let next: Recommendation;
    const kept = i < ranked.ids.length;
    // A later movie goes before a kept one only with a higher score; past the kept ones only when they are all.
    if (j < late.length && (kept ? late[j].score > ranked.scores[i] : ranked.complete)) next = late[j++];
    else if (kept) next = { movieId: ranked.ids[i], score: ranked.scores[i++] };
    else break;
    if (next.movieId === movieId || (exclude && exclude.has(next.movieId))) continue;
    out.push(next);
    if (out.length === n) return out;
  }
  return ranked.complete ? out : genreSimilar(catalogue.all(), movieId, genres, n, exclude);
}

/** The movies added to the catalogue after `ranked` was built that share a genre, best score first (ties in order). */
function addedSince(catalogue: CatalogueView, ranked: Ranked, genres: readonly string[]): Recommendation[] {
  const added = catalogue.added;
  if (!added || added.length <= ranked.added) return [];
  const mine = new Set(genres);
  const out: Recommendation[] = [];
  for (let k = ranked.added; k < added.length; k++) {
    const e = catalogue.all().get(added[k]);
    const score = e ? jaccard(mine, e.genres) : NaN;
    if (!Number.isNaN(score)) out.push({ movieId: added[k], score });
  }
  return out.sort((a, b) => b.score - a.score);
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
    ranked = { ...rankByGenres(catalogue.all(), new Set(signature)), added: catalogue.added?.length ?? 0 };
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
function rankByGenres(
  catalogue: ReadonlyMap<number, CatalogueEntry>,
  mine: ReadonlySet<string>,
): Omit<Ranked, 'added'> {
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
