import { EaseRecommender } from '../../src/core/models/ease.js';
import { ItemKnnRecommender } from '../../src/core/models/item-knn.js';
import { PopularRecommender } from '../../src/core/models/popular.js';
import { Rp3betaRecommender } from '../../src/core/models/rp3beta.js';
import type { Recommender } from '../../src/core/models/types.js';
import { historyOf, syntheticRatings } from './fixtures.js';

/**
 * The optional item-weight capabilities of the Recommender contract: `similar` (GET /movies/{id}/similar) and
 * `explain` (explain: true), for the models that score by summing item–item weights over the history.
 */
describe.each([
  ['item-knn', () => new ItemKnnRecommender()],
  ['ease (dense)', () => new EaseRecommender({ lambda: 50 })],
  ['ease (sparse neighbours)', () => new EaseRecommender({ lambda: 50, neighbors: 30 })],
  ['rp3beta', () => new Rp3betaRecommender()],
])('%s item weights', (_name, make) => {
  const syn = syntheticRatings();
  let model: Recommender;
  beforeAll(async () => {
    model = make();
    await model.fit(syn.interactions, syn.catalogue);
  });

  it('similar: best first, positive, never the movie itself, honouring exclude; undefined for an unknown movie', () => {
    const movie = syn.movies[0].movieId;
    const list = model.similar!(movie, 10)!;
    expect(list.length).toBe(10);
    expect(list.map((r) => r.movieId)).not.toContain(movie);
    expect(list.every((r) => r.score > 0)).toBe(true);
    expect(list.map((r) => r.score)).toEqual([...list.map((r) => r.score)].sort((a, b) => b - a));
    // The movie's own taste group (every fourth movie) dominates its neighbours.
    const group = new Set(syn.movies.filter((_, i) => i % 4 === 0).map((m) => m.movieId));
    expect(list.filter((r) => group.has(r.movieId)).length).toBeGreaterThanOrEqual(7);
    const without = model.similar!(movie, 10, { exclude: new Set([list[0].movieId]) })!;
    expect(without[0].movieId).toBe(list[1].movieId);
    expect(model.similar!(999_999, 10)).toBeUndefined();
  });

  it("explain: a movie's contributions are the weights that sum to its score", () => {
    const h = historyOf(syn.interactions, 3);
    const recs = model.recommend(h, 5);
    const all = model.explain!(h, recs.map((r) => r.movieId), 1000);
    recs.forEach((r, i) => {
      const parts = all[i];
      expect(parts.length).toBeGreaterThan(0);
      for (const p of parts) expect(h.movieIds).toContain(p.movieId);
      // Positive contributions only: their sum is at least the score (less the popularity tie-breaker).
      const sum = parts.reduce((s, p) => s + p.weight, 0);
      expect(sum).toBeGreaterThanOrEqual(r.score - 1e-3);
      // A contribution is what /similar gives for the pair.
      const first = parts[0];
      const fromSimilar = model.similar!(first.movieId, 10_000)!.find((s) => s.movieId === r.movieId)!;
      expect(fromSimilar.score).toBeCloseTo(first.weight, 6);
    });
    expect(model.explain!(h, recs.map((r) => r.movieId), 3).every((parts) => parts.length <= 3)).toBe(true);
  });
});

test('a model without item weights has neither capability', async () => {
  const p: Recommender = new PopularRecommender();
  const syn = syntheticRatings();
  await p.fit(syn.interactions, syn.catalogue);
  expect(p.similar).toBeUndefined();
  expect(p.explain).toBeUndefined();
});
