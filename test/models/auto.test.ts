import { getAlgorithm, AUTO_CANDIDATES } from '../../src/core/training/algorithms.js';
import { withoutIdenticalFits } from '../../src/core/training/auto.js';
import { syntheticRatings } from './fixtures.js';

/** auto's candidates: every algorithm, one left out only when its fit is provably another's. */
describe('auto candidates', () => {
  const { interactions, catalogue } = syntheticRatings({ users: 60, movies: 80, perUser: 15 });

  it('compares every algorithm, plain ease and the full-catalogue rp3beta included', () => {
    expect(AUTO_CANDIDATES.map((a) => a.name)).toEqual(['popular', 'segments', 'item-knn', 'ease', 'ease-session', 'rp3beta']);
  });

  it('leaves out ease-session only when the timestamps cannot change its fit (none, or all equal)', () => {
    const names = (data: typeof interactions) => withoutIdenticalFits(AUTO_CANDIDATES, data).map((a) => a.name);
    expect(names(interactions)).toContain('ease-session');
    expect(names({ ...interactions, timestamps: undefined })).not.toContain('ease-session');
    expect(names({ ...interactions, timestamps: new Float64Array(interactions.indices.length).fill(1_500_000_000) })).not.toContain('ease-session');
    expect(names({ ...interactions, timestamps: undefined })).toContain('ease');
    // Without plain ease among the candidates, ease-session stays (it is then the only EASE).
    expect(withoutIdenticalFits([getAlgorithm('ease-session')], { ...interactions, timestamps: undefined }).map((a) => a.name)).toEqual(['ease-session']);
  });

  it('fits ease and ease-session side by side on timed data and keeps the better by holdout nDCG@10', async () => {
    const auto = getAlgorithm('auto').create({ seed: 42, candidates: 'popular,ease,ease-session' }) as any;
    await auto.fit(interactions, catalogue);
    const rows = auto.selection.report.rows as { algorithm: string; ndcg: number }[];
    expect(rows.map((r) => r.algorithm)).toEqual(['popular', 'ease', 'ease-session']);
    const best = rows.reduce((a, b) => (b.ndcg > a.ndcg ? b : a));
    expect(auto.algorithm).toBe(best.algorithm);
  });
});
