import { inverse, Matrix } from 'ml-matrix';
import { evaluate, getAlgorithm } from '../../src/core/training/algorithms.js';
import { buildInteractions, type Interactions } from '../../src/core/data/interactions.js';
import { loadModel } from '../../src/core/models/index.js';
import type { Recommender } from '../../src/core/models/types.js';
import { Rng } from '../../src/core/data/random.js';
import { expectEaseClosedForm, historyOf, syntheticRatings } from './fixtures.js';

/**
 * A world where rating sessions carry signal: the catalogue is shown in pages of 5 movies; a user rates in
 * sessions days apart, each session 3–4 movies of one page within minutes. Users lean to one of four taste
 * groups of pages, so which pages one user visits is only weakly related, while the movies of one session are
 * strongly related (what the site showed together).
 */
function sessionWorld(seed = 7): Interactions {
  const rng = new Rng(seed, 'session-world');
  const pages = 60;
  const userIds: number[] = [];
  const movieIds: number[] = [];
  const times: number[] = [];
  for (let u = 0; u < 150; u++) {
    const group = u % 4;
    let t = 1_500_000_000 + rng.int(86_400);
    const visited = new Set<number>();
    while (visited.size < 6) {
      const page = rng.next() < 0.5 ? group + 4 * rng.int(pages / 4) : rng.int(pages);
      if (visited.has(page)) continue;
      visited.add(page);
      const take = 3 + rng.int(2);
      const order = [0, 1, 2, 3, 4].sort(() => rng.next() - 0.5).slice(0, take);
      for (const i of order) {
        userIds.push(1000 + u);
        movieIds.push(10 + 5 * page + i);
        times.push(t);
        t += 20 + rng.int(100);
      }
      t += 3 * 86_400 + rng.int(86_400);
    }
  }
  return buildInteractions({
    userIds: Float64Array.from(userIds),
    movieIds: Int32Array.from(movieIds),
    ratings: new Float32Array(userIds.length).fill(4),
    timestamps: Float64Array.from(times),
  });
}

async function fit(name: string, data: Interactions, params: Record<string, unknown> = {}): Promise<Recommender> {
  const m = getAlgorithm(name).create({ seed: 42, ...params });
  await m.fit(data, { genres: new Map() });
  return m;
}

describe('ease-session', () => {
  it('scores Σ B[history] with B from (XᵀX + w·T)/(1 + w) + λI, T = Σ exp(−|Δt|/τ) over a user\'s pairs, computed independently with ml-matrix', async () => {
    const { interactions: d } = syntheticRatings({ users: 60, movies: 80, perUser: 15 });
    const [lambda, tau, w] = [20, 300, 2];
    const model = await fit('ease-session', d, { lambda, sessionTau: tau, sessionWeight: w, minRatings: 1 });
    const g = Matrix.zeros(d.nItems, d.nItems);
    for (let u = 0; u < d.nUsers; u++)
      for (let p = d.indptr[u]; p < d.indptr[u + 1]; p++)
        for (let q = d.indptr[u]; q < d.indptr[u + 1]; q++) {
          const i = d.indices[p];
          const j = d.indices[q];
          const t = p === q ? 1 : (1 + w * Math.exp(-Math.abs(d.timestamps![p] - d.timestamps![q]) / tau)) / (1 + w);
          g.set(i, j, g.get(i, j) + t);
        }
    for (let j = 0; j < d.nItems; j++) g.set(j, j, g.get(j, j) + lambda);
    const inv = inverse(g);
    expectEaseClosedForm(model, d, inv, [0, 13, 41, 59]);
  });

  it('is plain EASE when the ratings carry no timestamps, and differs from it when they do', async () => {
    const { interactions: d } = syntheticRatings();
    const { timestamps, ...untimed } = d;
    expect(timestamps).toBeDefined();
    const plain = await fit('ease', d);
    const sessionUntimed = await fit('ease-session', untimed);
    const sessionTimed = await fit('ease-session', d);
    let differs = 0;
    for (let u = 0; u < d.nUsers; u += 3) {
      const h = historyOf(d, u);
      expect(sessionUntimed.recommend(h, 10).map((r) => r.movieId)).toEqual(plain.recommend(h, 10).map((r) => r.movieId));
      if (JSON.stringify(sessionTimed.recommend(h, 10)) !== JSON.stringify(plain.recommend(h, 10))) differs++;
    }
    expect(differs).toBeGreaterThan(0);
  });

  it('on data with rating sessions beats plain EASE and popular (split user), and round-trips', async () => {
    const data = sessionWorld();
    const report = await evaluate(data, { genres: new Map() }, ['popular', 'ease', 'ease-session'], { split: 'user', seed: 42, k: 10 });
    const by = Object.fromEntries(report.rows.map((r) => [r.algorithm, r]));
    expect(by['ease-session'].ndcg).toBeGreaterThan(by.popular.ndcg * 1.5);
    expect(by['ease-session'].ndcg).toBeGreaterThan(by.ease.ndcg + 0.05);
    expect(by['ease-session'].precision).toBeGreaterThan(by.ease.precision);
    const model = await fit('ease-session', data);
    const back = loadModel(model.serialize());
    expect(back.algorithm).toBe('ease-session');
    expect(back.params).toEqual(model.params);
    const h = historyOf(data, 5);
    expect(back.recommend(h, 10)).toEqual(model.recommend(h, 10));
  });
});
