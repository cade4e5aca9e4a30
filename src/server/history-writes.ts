import type { HistoryItem } from '../core/db/repositories/api-users.js';
import { fingerprintOf, type CachedHistory } from './history-cache.js';

/**
 * A user's history after a history write that started from `base` (HistoryCache.base) and so was not read back
 * (migration 099): the write upserts each of `items` (distinct movies) — a movie rated again keeps the new rating —
 * and leaves the exclusions as they were, so this is what the database answers after the same write: movies in
 * ascending order, as the write functions' `ORDER BY movie_id` gives them. Stated tastes no longer count once the
 * user has ratings. test/server/history-writes.test.ts holds it to the database's read-back.
 */
export function withRatings(base: CachedHistory, items: readonly HistoryItem[]): CachedHistory {
  const added = items.length === 1 ? items : [...items].sort((a, b) => a.movieId - b.movieId);
  const from = { movieIds: base.movieIds, ratings: base.ratings };
  const movieIds = new Int32Array(from.movieIds.length + added.length);
  const ratings = new Float32Array(movieIds.length);
  let n = 0;
  let i = 0;
  for (const item of added) {
    // The base's movies before this one, copied as one block (most writes add one rating to a long history).
    const at = firstAtLeast(from.movieIds, item.movieId, i);
    movieIds.set(from.movieIds.subarray(i, at), n);
    ratings.set(from.ratings.subarray(i, at), n);
    n += at - i;
    i = at < from.movieIds.length && from.movieIds[at] === item.movieId ? at + 1 : at;
    movieIds[n] = item.movieId;
    ratings[n++] = item.rating;
  }
  movieIds.set(from.movieIds.subarray(i), n);
  ratings.set(from.ratings.subarray(i), n);
  n += from.movieIds.length - i;
  const history = {
    userId: base.userId,
    externalId: base.externalId,
    movieIds: n === movieIds.length ? movieIds : movieIds.slice(0, n),
    ratings: n === ratings.length ? ratings : ratings.slice(0, n),
    excluded: base.excluded,
    tastes: n === 0 ? base.tastes : undefined,
  };
  return { ...history, fingerprint: fingerprintOf(history) };
}

/** The first index at or after `from` whose movie id is at least `movieId` (ids ascending), by bisection. */
function firstAtLeast(ids: Int32Array, movieId: number, from: number): number {
  let lo = from;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ids[mid] < movieId) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
