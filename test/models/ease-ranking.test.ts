import { EaseRecommender } from '../../src/core/models/ease.js';
import { fixedTail, topN, topNScoredThenTail } from '../../src/core/models/ranking.js';
import { Rng } from '../../src/core/data/random.js';
import type { RecommendOptions } from '../../src/core/models/types.js';
import { historyOf, syntheticRatings } from './fixtures.js';

/** Random filters as the server builds them: exclusions, and candidate sets from wide to narrow. */
function optionsFor(rng: Rng, movieIds: readonly number[]): RecommendOptions | undefined {
  const pick = (share: number) => new Set(movieIds.filter(() => rng.next() < share));
  switch (rng.int(4)) {
    case 0:
      return undefined;
    case 1:
      return { exclude: pick(0.3) };
    case 2:
      return { candidates: pick(rng.next() < 0.5 ? 0.5 : 0.03) };
    default:
      return { exclude: pick(0.1), candidates: pick(0.2) };
  }
}

describe('topNScoredThenTail (the fast path of a ranking whose unscored columns have a fixed order)', () => {
  it('answers as topN over every column, ties and NaN included, scored columns below the tail too', () => {
    const rng = new Rng(7, 'tail');
    let below = 0;
    for (let trial = 0; trial < 300; trial++) {
      const nItems = 5 + rng.int(60);
      const itemIds = Int32Array.from({ length: nItems }, (_, j) => 100 + 2 * j);
      const scored: number[] = [];
      const rest: number[] = [];
      for (let j = 0; j < nItems; j++) (rng.next() < 0.4 ? scored : rest).push(j);
      // Few distinct values, so that ties are common; now and then a NaN, or a score below the tail.
      const scoreOf = () => (rng.next() < 0.05 ? NaN : rng.int(5) + (rng.next() < 0.03 ? -2000 : 0));
      // Tail scores below every score (EASE's unmodelled movies), or among them (rp3beta's unreached ones).
      const mixed = rng.next() < 0.5;
      const tailScore = new Map(rest.map((j) => [j, mixed && rng.next() < 0.5 ? rng.int(5) : -1000 + rng.int(3)]));
      const scoredScores = Float64Array.from(scored, scoreOf);
      const all = new Float64Array(nItems);
      scored.forEach((j, b) => (all[j] = scoredScores[b]));
      for (const [j, s] of tailScore) all[j] = s;
      const history = { movieIds: Array.from(itemIds).filter(() => rng.next() < 0.15) };
      const options = optionsFor(rng, Array.from(itemIds));
      const n = 1 + rng.int(12);
      // Some scored columns also sit in the fixed order, marked to be passed over there (EASE's reached tail).
      const skip = new Uint8Array(nItems);
      const alsoInTail = scored.filter(() => rng.next() < 0.3);
      for (const j of alsoInTail) skip[j] = 1;
      const fast = topNScoredThenTail(
        itemIds,
        Int32Array.from(scored),
        scoredScores,
        fixedTail([...rest, ...alsoInTail], (j) => tailScore.get(j) ?? rng.int(5)),
        n,
        history,
        options,
        skip,
      );
      if (scored.some((_, b) => scoredScores[b] <= -998)) below++;
      expect(fast).toEqual(topN(itemIds, all, n, history, options));
    }
    expect(below).toBeGreaterThan(0);
  });
});

describe('EASE ranks the modelled movies, then the rest by popularity, as over every column', () => {
  const world = syntheticRatings({ users: 160, movies: 240, perUser: 20, seed: 3 });
  const movieIds = Array.from(world.interactions.itemIds);

  it.each([
    ['dense', { minRatings: 12 }],
    ['sparse lists', { minRatings: 12, neighbors: 15 }],
    ['every movie modelled', { minRatings: 1 }],
    ['a tail beyond the cap', { minRatings: 12, maxItems: 40, tailInputs: 6 }],
    ['a tail, sparse lists', { minRatings: 12, maxItems: 40, tailInputs: 6, neighbors: 15 }],
  ])('%s', async (_form, params) => {
    const model = new EaseRecommender(params);
    await model.fit(world.interactions);
    const rng = new Rng(11, 'ease-ranking');
    let tailUsed = 0;
    for (let u = 0; u < world.interactions.nUsers; u++) {
      const full = historyOf(world.interactions, u);
      const history = rng.next() < 0.3 ? { movieIds: full.movieIds.slice(0, 1 + rng.int(3)) } : full;
      const options = optionsFor(rng, movieIds);
      const n = 1 + rng.int(30);
      const answer = model.recommend(history, n, options);
      expect(answer).toEqual(model.recommendOverAllColumns(history, n, options));
      if (answer.some((r) => r.score < -900)) tailUsed++;
    }
    // The unmodelled movies were reached in some answers (not in the form that models every movie).
    if (params.minRatings > 1) expect(tailUsed).toBeGreaterThan(0);
  });

  it("scores the tail's movies by their regressions, above the movies left to popularity", async () => {
    const model = new EaseRecommender({ minRatings: 12, maxItems: 40, tailInputs: 6 });
    await model.fit(world.interactions);
    const fixed = new EaseRecommender({ minRatings: 12, maxItems: 40, tailInputs: 0 });
    await fixed.fit(world.interactions);
    let reachedTail = 0;
    for (let u = 0; u < world.interactions.nUsers; u++) {
      const history = historyOf(world.interactions, u);
      const all = model.recommend(history, 200);
      // Without the tail, nothing past the 40 modelled movies has a score of its own.
      expect(fixed.recommend(history, 200).filter((r) => r.score > -900).length).toBeLessThanOrEqual(40);
      if (all.filter((r) => r.score > -900).length > 40) reachedTail++;
    }
    expect(reachedTail).toBeGreaterThan(world.interactions.nUsers / 2);
  });
});
