import { Rng } from '../../src/core/data/random.js';
import { topContributions, topContributionsBySort } from '../../src/core/models/ranking.js';

/** topContributions (top k kept by insertion) against its plain reference (sort everything, take k). */
describe('explanations: the k largest contributions', () => {
  it('are the sorted reference’s, with ties, zeros, negatives and NaN among the weights', () => {
    const rng = new Rng(11, 'explain test');
    const next = () => rng.next();
    for (let round = 0; round < 300; round++) {
      const nItems = 1 + Math.floor(next() * 60);
      const itemIds = Int32Array.from({ length: nItems }, (_, j) => 1000 - 7 * j); // ids not in column order
      const index = new Map(Array.from(itemIds, (id, j) => [id, j] as const));
      const history = { movieIds: Array.from({ length: Math.floor(next() * nItems * 1.5) }, () => itemIds[Math.floor(next() * nItems)]) };
      const levels = [0, -1, 0.5, 0.5, 0.25, 1, 2, NaN];
      const table = Float64Array.from({ length: nItems * nItems }, () =>
        next() < 0.5 ? levels[Math.floor(next() * levels.length)] : next() - 0.2,
      );
      const weight = (h: number, c: number) => table[h * nItems + c];
      const asked = [...Array.from({ length: 5 }, () => itemIds[Math.floor(next() * nItems)]), 123_456];
      for (const k of [0, 1, 3, 10]) {
        expect(topContributions(index, itemIds, history, asked, k, weight)).toEqual(
          topContributionsBySort(index, itemIds, history, asked, k, weight),
        );
      }
    }
  });
});
