import { GENRES } from '../core/features/genres.js';
import type { Recommendation, RecommendOptions, Recommender } from '../core/models/types.js';
import type { CatalogueCache } from './catalogue-cache.js';
import { HttpError } from './http-errors.js';

/** Movies of the model's list for an empty history that stated tastes re-rank. */
const POOL = 1000;
/** Kept per model: the pool with room for the request's exclusions. */
const POOL_KEPT = 2 * POOL;
const emptyHistoryLists = new WeakMap<Recommender, Recommendation[]>();

const GENRE_INDEX = new Map<string, number>(GENRES.map((g, i) => [g, i]));

/** `genres: {Comedy: 1, Horror: -1}` as a vector in GENRES order; an unknown genre is a 422 listing the known ones. */
export function tastesVector(genres: Readonly<Record<string, number>>): number[] {
  const unknown = Object.keys(genres).filter((g) => !GENRE_INDEX.has(g));
  if (unknown.length > 0)
    throw new HttpError(
      422,
      `genres: unknown genre ${unknown.map((g) => JSON.stringify(g)).join(', ')}; known genres: ${GENRES.join(', ')}`,
    );
  const v = new Array<number>(GENRES.length).fill(0);
  for (const [g, w] of Object.entries(genres)) v[GENRE_INDEX.get(g)!] = w;
  return v;
}

export function hasTastes(tastes: ArrayLike<number> | undefined): tastes is ArrayLike<number> {
  if (!tastes) return false;
  for (let i = 0; i < tastes.length; i++) if (tastes[i] !== 0) return true;
  return false;
}

/**
 * Genre-weighted popularity for a user without ratings: the served model's list for an empty history (its
 * popularity order) — the first POOL movies — re-ranked by rank score × (1 + the mean stated weight of the movie's
 * genres), so a liked genre counts up to double and a movie whose genres are all disliked drops out.
 */
export function coldStart(
  model: Recommender,
  catalogue: CatalogueCache,
  tastes: ArrayLike<number>,
  n: number,
  options?: RecommendOptions,
): Recommendation[] {
  const pool = emptyHistoryPool(model, options);
  const scored: Recommendation[] = [];
  pool.forEach((r, rank) => {
    const genres = catalogue.get(r.movieId)?.genres ?? [];
    let sum = 0;
    let count = 0;
    for (const g of genres) {
      const k = GENRE_INDEX.get(g);
      if (k === undefined) continue;
      sum += tastes[k];
      count++;
    }
    const score = (1 - rank / pool.length) * (1 + (count > 0 ? sum / count : 0));
    if (score > 0) scored.push({ movieId: r.movieId, score });
  });
  return scored.sort((a, b) => b.score - a.score || a.movieId - b.movieId).slice(0, n);
}

/**
 * `model.recommend({ movieIds: [] }, POOL, options)` from a list kept per model: the list for an empty history is
 * the same for every user, and `exclude` only removes movies from it (topN's rule), so the first POOL of the kept
 * list that are not excluded are the answer; when the kept list runs out first, the model is asked.
 */
export function emptyHistoryPool(model: Recommender, options?: RecommendOptions): Recommendation[] {
  if (options?.candidates) return model.recommend({ movieIds: [] }, POOL, options);
  const ranked = keptList(model);
  const exclude = options?.exclude;
  if (!exclude) return ranked.slice(0, POOL);
  const out: Recommendation[] = [];
  for (const r of ranked) {
    if (exclude.has(r.movieId)) continue;
    out.push(r);
    if (out.length === POOL) return out;
  }
  return ranked.length < POOL_KEPT ? out : model.recommend({ movieIds: [] }, POOL, options);
}

/** Kept lists built on demand so far, in this process (warm-up.ts builds a model's before it is served). */
export const coldStartBuilds = { pools: 0 };

function keptList(model: Recommender): Recommendation[] {
  let ranked = emptyHistoryLists.get(model);
  if (!ranked) {
    emptyHistoryLists.set(model, (ranked = model.recommend({ movieIds: [] }, POOL_KEPT)));
    coldStartBuilds.pools++;
  }
  return ranked;
}

/** Builds the model's kept list for an empty history (none when it has one already). */
export function warmColdStart(model: Recommender): void {
  keptList(model);
}
