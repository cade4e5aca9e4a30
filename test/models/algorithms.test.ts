import { evaluate, getAlgorithm } from '../../src/core/training/algorithms.js';
import { inverse, Matrix } from 'ml-matrix';
import { ALGORITHMS, loadModel } from '../../src/core/models/index.js';
import type { Recommender } from '../../src/core/models/types.js';
import { expectEaseClosedForm, historyOf, syntheticRatings } from './fixtures.js';

/** Every algorithm's contract, on a small structured data set (no database needed). */
const data = syntheticRatings();
const names = ALGORITHMS.map((a) => a.name);

async function fitted(name: string, params: Record<string, unknown> = {}): Promise<Recommender> {
  const m = getAlgorithm(name).create({ seed: 42, ...params });
  await m.fit(data.interactions, data.catalogue);
  return m;
}

// EASE's tail (the movies beyond its cap) under the same contract: the fixture's 200 movies, 60 modelled.
const cases: [string, string, Record<string, unknown>][] = [
  ...names.map((n): [string, string, Record<string, unknown>] => [n, n, {}]),
  ['ease with a tail', 'ease', { maxItems: 60 }],
  ['ease-session with a tail', 'ease-session', { maxItems: 60 }],
];

describe.each(cases)('%s', (_label, name, params) => {
  let model: Recommender;
  beforeAll(async () => {
    model = await fitted(name, params);
  });

  it('never recommends a movie of the history, returns n distinct known movies best first', () => {
    const known = new Set(data.interactions.itemIds);
    for (let u = 0; u < data.interactions.nUsers; u += 7) {
      const h = historyOf(data.interactions, u);
      const recs = model.recommend(h, 10);
      expect(recs).toHaveLength(10);
      const ids = recs.map((r) => r.movieId);
      expect(new Set(ids).size).toBe(10);
      for (const id of ids) {
        expect(h.movieIds).not.toContain(id);
        expect(known.has(id)).toBe(true);
      }
      for (let i = 1; i < recs.length; i++) expect(recs[i - 1].score).toBeGreaterThanOrEqual(recs[i].score);
    }
  });

  it('serves a brand-new history without retraining, ignoring unknown movies, honouring exclude and candidates', () => {
    const fresh = { movieIds: [10, 22, 34, 999_999], ratings: [5, 4, 5, 3] };
    const recs = model.recommend(fresh, 5);
    expect(recs).toHaveLength(5);
    for (const r of recs) expect(fresh.movieIds).not.toContain(r.movieId);
    const exclude = new Set(recs.slice(0, 2).map((r) => r.movieId));
    const again = model.recommend(fresh, 5, { exclude });
    for (const r of again) expect(exclude.has(r.movieId)).toBe(false);
    const candidates = new Set([13, 16, 19, 25, 10]);
    const only = model.recommend(fresh, 10, { candidates });
    expect(only.map((r) => r.movieId).sort((a, b) => a - b)).toEqual([13, 16, 19, 25]);
    expect(model.recommend({ movieIds: [] }, 3)).toHaveLength(3);
  });

  it('is deterministic: a second fit with the same seed gives the same recommendations', async () => {
    const other = await fitted(name, params);
    for (let u = 0; u < data.interactions.nUsers; u += 11) {
      const h = historyOf(data.interactions, u);
      expect(other.recommend(h, 10)).toEqual(model.recommend(h, 10));
    }
  });

  it('round-trips through serialize/load with identical output', () => {
    const bytes = model.serialize();
    const loaded = loadModel(bytes);
    expect(loaded.algorithm).toBe(name);
    expect(getAlgorithm(name).load(bytes).algorithm).toBe(name);
    for (let u = 0; u < data.interactions.nUsers; u += 5) {
      const h = historyOf(data.interactions, u);
      expect(loaded.recommend(h, 10)).toEqual(model.recommend(h, 10));
    }
    expect(Buffer.from(loaded.serialize()).equals(Buffer.from(bytes))).toBe(true);
  });
});

describe('ease against its closed form', () => {
  it('scores Σ B[history] with B = −P / diag(P), P = (XᵀX + λI)⁻¹ computed independently with ml-matrix', async () => {
    const { interactions: d } = data;
    const lambda = 200;
    const model = await fitted('ease', { lambda });
    const x = Matrix.zeros(d.nUsers, d.nItems);
    for (let u = 0; u < d.nUsers; u++) for (let p = d.indptr[u]; p < d.indptr[u + 1]; p++) x.set(u, d.indices[p], 1);
    const g = x.transpose().mmul(x);
    for (let j = 0; j < d.nItems; j++) g.set(j, j, g.get(j, j) + lambda);
    const inv = inverse(g);
    expectEaseClosedForm(model, d, inv, [0, 13, 57, 101], { sameTopTen: true });
  });
});

describe('quality on structured data', () => {
  it('no model scores below popular, and the collaborative ones beat it clearly', async () => {
    const report = await evaluate(data.interactions, data.catalogue, names, { split: 'user', seed: 42, k: 10 });
    const by = Object.fromEntries(report.rows.map((r) => [r.algorithm, r]));
    for (const name of names) expect(by[name].ndcg).toBeGreaterThanOrEqual(by.popular.ndcg);
    expect(by.segments.ndcg).toBeGreaterThan(by.popular.ndcg * 1.2);
    expect(by['item-knn'].ndcg).toBeGreaterThan(by.popular.ndcg * 1.2);
    expect(by.ease.ndcg).toBeGreaterThan(by.popular.ndcg * 1.2);
  });

  it('auto picks the best candidate by holdout nDCG@10 and then serves as that algorithm', async () => {
    const auto = getAlgorithm('auto').create({ seed: 42, candidates: 'popular,segments,ease' }) as any;
    await auto.fit(data.interactions, data.catalogue);
    const rows = auto.selection.report.rows as { algorithm: string; ndcg: number }[];
    const best = rows.reduce((a, b) => (b.ndcg > a.ndcg ? b : a));
    expect(auto.algorithm).toBe(best.algorithm);
    expect(best.algorithm).not.toBe('popular');
    const h = historyOf(data.interactions, 3);
    expect(loadModel(auto.serialize()).recommend(h, 10)).toEqual(auto.recommend(h, 10));
  });

  it('ease with sparse rows (neighbors > 0) keeps the contract and stays close to the dense model', async () => {
    const dense = await fitted('ease');
    const sparse = await fitted('ease', { neighbors: 40 });
    const back = loadModel(sparse.serialize());
    let same = 0;
    for (let u = 0; u < data.interactions.nUsers; u += 3) {
      const h = historyOf(data.interactions, u);
      const recs = sparse.recommend(h, 10);
      expect(back.recommend(h, 10)).toEqual(recs);
      for (const r of recs) expect(h.movieIds).not.toContain(r.movieId);
      const d = new Set(dense.recommend(h, 10).map((r) => r.movieId));
      same += recs.filter((r) => d.has(r.movieId)).length;
    }
    expect(same / (10 * Math.ceil(data.interactions.nUsers / 3))).toBeGreaterThan(0.7);
  });

  it('an unknown algorithm is a clear error', () => {
    expect(() => getAlgorithm('svd')).toThrow(/unknown algorithm "svd": choose one of popular, segments, item-knn, ease, ease-session, rp3beta, auto/);
  });
});
