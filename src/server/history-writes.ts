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
  const added = [...items].sort((a, b) => a.movieId - b.movieId);
  const movieIds = new Int32Array(base.movieIds.length + added.length);
  const ratings = new Float32Array(movieIds.length);
  let n = 0;
  let i = 0;
  for (const item of added) {
    while (i < base.movieIds.length && base.movieIds[i] < item.movieId) {
      movieIds[n] = base.movieIds[i];
      ratings[n++] = base.ratings[i++];
    }
    if (i < base.movieIds.length && base.movieIds[i] === item.movieId) i++;
    movieIds[n] = item.movieId;
    ratings[n++] = item.rating;
  }
  for (; i < base.movieIds.length; i++, n++) {
    movieIds[n] = base.movieIds[i];
    ratings[n] = base.ratings[i];
  }
  const history = {
    userId: base.userId,
    externalId: base.externalId,
    movieIds: movieIds.slice(0, n),
    ratings: ratings.slice(0, n),
    excluded: base.excluded,
    tastes: n === 0 ? base.tastes : undefined,
  };
  return { ...history, fingerprint: fingerprintOf(history) };
}
