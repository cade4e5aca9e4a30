import type { ShapedWorld } from '../simulation/shaped-world.js';
import type { Interactions } from '../data/interactions.js';
import type { Ranker } from './protocol.js';

/**
 * The oracle of a simulated world: each user's candidates ranked by the world's own choice probability
 * p(movie | user) (shaped-world.ts), ties to the lower movie id. Rows whose user id is not one of the world's
 * users rank nothing. Only the user's niches change p, so the rest of the ranking is the global popularity
 * order: the oracle scores the niches' movies and walks that order for the others (no pass over the catalogue).
 */
export function worldOracle(world: ShapedWorld, train: Interactions): Ranker {
  const m = world.maxMovieId;
  const byPopularity = Int32Array.from({ length: m }, (_, i) => i).sort(
    (a, b) => world.global[b] - world.global[a] || a - b,
  );
  const share = world.params.nicheShare;
  return (row, history, k, candidates) => {
    const id = train.userIds[row];
    if (!Number.isInteger(id) || id < 1 || id > world.shape.users) return [];
    const user = world.user(id);
    const seen = new Set<number>();
    for (let i = 0; i < history.movieIds.length; i++) seen.add(Number(history.movieIds[i]));
    const usable = (movieId: number) => candidates.has(movieId) && !seen.has(movieId);
    const scored: { movieId: number; p: number }[] = [];
    for (const k of user.niches) {
      for (const i of world.nicheMovies[k])
        if (usable(i + 1)) scored.push({ movieId: i + 1, p: world.choiceProbability(user, i) });
    }
    const own = new Set(user.niches);
    let outside = 0;
    for (let r = 0; r < m && outside < k; r++) {
      const i = byPopularity[r];
      if (own.has(world.niche[i]) || !usable(i + 1)) continue;
      scored.push({ movieId: i + 1, p: ((1 - share) * world.global[i]) / world.globalTotal });
      outside++;
    }
    scored.sort((a, b) => b.p - a.p || a.movieId - b.movieId);
    return scored.slice(0, k).map((x) => x.movieId);
  };
}
