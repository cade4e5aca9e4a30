import { Rng } from '../../src/core/data/random.js';
import { getAlgorithm } from '../../src/core/training/algorithms.js';
import { ALGORITHMS } from '../../src/core/models/index.js';
import type { Recommender } from '../../src/core/models/types.js';
import { emptyHistoryPool } from '../../src/server/cold-start.js';
import { syntheticRatings } from '../models/fixtures.js';

async function fitted(name: string, movies: number): Promise<Recommender> {
  const data = syntheticRatings({ movies, users: 400, perUser: 40 });
  const m = getAlgorithm(name).create({ seed: 42 });
  await m.fit(data.interactions, data.catalogue);
  return m;
}

/** The reference: the model asked directly, as coldStart did before the kept list. */
const reference = (model: Recommender, exclude?: ReadonlySet<number>) =>
  model.recommend({ movieIds: [] }, 1000, exclude ? { exclude } : undefined);

describe('emptyHistoryPool', () => {
  it.each(ALGORITHMS.map((a) => a.name))(
    'answers as %s does for an empty history, whatever is excluded',
    async (name) => {
      const model = await fitted(name, 240);
      const rng = new Rng(5, 'pool', name);
      const ids = reference(model).map((r) => r.movieId);
      expect(emptyHistoryPool(model)).toEqual(reference(model));
      for (let q = 0; q < 20; q++) {
        const exclude = new Set(ids.filter(() => rng.next() < q / 20));
        expect(emptyHistoryPool(model, { exclude })).toEqual(reference(model, exclude));
      }
    },
  );

  it('asks the model when the exclusions use up the kept list', async () => {
    const model = await fitted('popular', 3000);
    const all = model.recommend({ movieIds: [] }, 5000);
    expect(all.length).toBeGreaterThan(2000);
    const exclude = new Set(all.slice(0, 1500).map((r) => r.movieId));
    const got = emptyHistoryPool(model, { exclude });
    expect(got).toHaveLength(1000);
    expect(got).toEqual(reference(model, exclude));
  });
});
