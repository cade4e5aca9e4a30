import type { Recommender } from '../core/models/types.js';
import type { CatalogueCache } from './catalogue-cache.js';

/** A recommended movie as answers show it (recommend.ts), with its explanation when asked for. */
interface Shown {
  movie_id: number;
  title: string;
  genres: string[];
  score: number;
}

/** History movies named per recommendation. */
export const BECAUSE_LIMIT = 3;

/**
 * `explain: true`: for a model whose score is a sum over the history (EASE, ease-session, item-kNN: `explain`),
 * `because` lists the history movies that added the most to each movie's score; for the others, a `reason`:
 * `popular` ranks by popularity alone, `segments` (and anything else) by what viewers with the user's genre
 * profile watch, named by the user's two strongest genres.
 */
export function explainRecommendations(
  model: Recommender,
  catalogue: CatalogueCache,
  history: { movieIds: Int32Array; ratings: Float32Array },
  items: readonly Shown[],
): (Shown & { because?: { movie_id: number; title: string; weight: number }[]; reason?: string })[] {
  if (model.explain) {
    const all = model.explain(
      { movieIds: history.movieIds, ratings: history.ratings },
      items.map((m) => m.movie_id),
      BECAUSE_LIMIT,
    );
    return items.map((m, i) => ({
      ...m,
      because: all[i].map((c) => ({
        movie_id: c.movieId,
        title: catalogue.get(c.movieId)?.title ?? '',
        weight: c.weight,
      })),
    }));
  }
  const reason =
    model.algorithm === 'popular' || history.movieIds.length === 0
      ? 'popular with all viewers'
      : `popular with viewers of ${topGenres(catalogue, history).join(' and ')}`;
  return items.map((m) => ({ ...m, reason }));
}

/** The user's two genres with the largest rating sums (ties by name), as the genre profile ranks them. */
function topGenres(catalogue: CatalogueCache, history: { movieIds: Int32Array; ratings: Float32Array }): string[] {
  const sums = new Map<string, number>();
  history.movieIds.forEach((id, i) => {
    for (const g of catalogue.get(id)?.genres ?? []) sums.set(g, (sums.get(g) ?? 0) + history.ratings[i]);
  });
  const ranked = [...sums].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([g]) => g);
  return ranked.length > 0 ? ranked.slice(0, 2) : ['every genre'];
}
