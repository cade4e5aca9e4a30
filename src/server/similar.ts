import type { CatalogueEntry } from '../core/db/repositories/movies-query.js';
import { topN } from '../core/models/ranking.js';
import type { Recommendation } from '../core/models/types.js';

/**
 * Movies sharing genres with one movie (Jaccard similarity of the genre sets, ties to the lower movie id): the
 * answer of /similar when the served model has no item–item weights for the movie. It reads only the catalogue,
 * so it also reaches movies nobody rated yet.
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
    let shared = 0;
    for (const g of e.genres) if (mine.has(g)) shared++;
    const union = mine.size + e.genres.length - shared;
    ids[k] = id;
    scores[k++] = shared > 0 ? shared / union : NaN;
  }
  return topN(ids, scores, n, { movieIds: [movieId] }, exclude ? { exclude } : undefined);
}
