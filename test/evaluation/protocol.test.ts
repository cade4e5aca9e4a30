import { rankingMetrics, splitInteractions } from '../../src/core/evaluation/index.js';
import { addRankingCurve, emptyCurveSums } from '../../src/core/evaluation/metrics.js';
import { evaluate } from '../../src/core/training/algorithms.js';
import { trainCount } from '../../src/core/evaluation/split.js';
import { buildInteractions } from '../../src/core/data/interactions.js';
import { popular } from '../../src/core/models/popular.js';
import { evaluateAlgorithms, sampleTestUsers } from '../../src/core/evaluation/protocol.js';
import { syntheticRatings } from '../models/fixtures.js';

describe('ranking metrics (docs/evaluation.md), checked by hand', () => {
  it('P, R, nDCG and AP of one ranking', () => {
    // Test set {1,2,3}; ranking 1 9 2 8 7: hits at ranks 1 and 3.
    const m = rankingMetrics([1, 9, 2, 8, 7], new Set([1, 2, 3]), 5);
    expect(m.precision).toBeCloseTo(2 / 5, 12);
    expect(m.recall).toBeCloseTo(2 / 3, 12);
    // DCG = 1/log2(2) + 1/log2(4) = 1.5; ideal DCG of 3 hits = 1 + 1/log2(3) + 1/2.
    expect(m.ndcg).toBeCloseTo(1.5 / (1.5 + 1 / Math.log2(3)), 12);
    // AP = (1/1 + 2/3) / min(3, 5).
    expect(m.ap).toBeCloseTo((1 + 2 / 3) / 3, 12);
  });

  it('a short ranking still divides precision by k; the ideal DCG is capped at k hits', () => {
    const m = rankingMetrics([4], new Set([4, 5, 6, 7]), 2);
    expect(m.precision).toBe(0.5);
    expect(m.recall).toBe(0.25);
    expect(m.ndcg).toBeCloseTo(1 / (1 + 1 / Math.log2(3)), 12);
    expect(m.ap).toBeCloseTo(1 / 2, 12);
    expect(rankingMetrics([], new Set([1]), 10)).toEqual({ precision: 0, recall: 0, ndcg: 0, ap: 0 });
  });
});

describe('the protocol on a tiny hand-made data set', () => {
  // User 1 rates 10, 20, 30, 40 in that order; user 2 rates 10, 50, 60, 20. Temporal split: round(0.75·4) = 3
  // earliest ratings train, the latest one is the test set: {40} and {20}. Candidates = movies in training:
  // {10, 20, 30, 50, 60}. Popular (train counts 10:2, the rest 1, ties to the lower id) ranks, at k = 2,
  // user 1: [50, 60] (no hit; 40 is no candidate), user 2: [20, 30] (hit at rank 1).
  const data = buildInteractions({
    userIds: Float64Array.from([1, 1, 1, 1, 2, 2, 2, 2]),
    movieIds: Int32Array.from([10, 20, 30, 40, 10, 50, 60, 20]),
    ratings: Float32Array.from([4, 4, 4, 4, 4, 4, 4, 4]),
    timestamps: Float64Array.from([1, 2, 3, 4, 1, 2, 3, 4]),
  });

  it('gives the hand-computed figures', async () => {
    const report = await evaluateAlgorithms(data, { genres: new Map() }, [popular], { split: 'temporal', k: 2 });
    expect(report.counts).toMatchObject({
      users: 2,
      ratings: 8,
      trainRatings: 6,
      testRatings: 2,
      evaluatedUsers: 2,
      candidates: 5,
    });
    const row = report.rows[0];
    expect(row.precision).toBeCloseTo((0 + 1 / 2) / 2, 12);
    expect(row.recall).toBeCloseTo((0 + 1) / 2, 12);
    expect(row.ndcg).toBeCloseTo((0 + 1) / 2, 12);
    expect(row.map).toBeCloseTo((0 + 1) / 2, 12);
    expect(row.coverage).toBeCloseTo(4 / 5, 12);
    expect(row.longTail).toBe(0); // 5 training movies, all within the 3,500 most rated
  });

  it('scores an oracle ranker on the same split as the first row, given the row and the candidates', async () => {
    const seen: { row: number; history: number[]; candidates: number[] }[] = [];
    // A "perfect" ranker for this split: each user's own test movie if it is a candidate, then the lowest ids.
    const oracle = (
      row: number,
      history: { movieIds: ArrayLike<number> },
      k: number,
      candidates: ReadonlySet<number>,
    ) => {
      seen.push({ row, history: Array.from(history.movieIds), candidates: [...candidates].sort((a, b) => a - b) });
      return [[40], [20]][row]
        .filter((id) => candidates.has(id))
        .concat([30, 50, 60])
        .slice(0, k);
    };
    const report = await evaluateAlgorithms(data, { genres: new Map() }, [popular], {
      split: 'temporal',
      k: 2,
      oracle,
    });
    expect(report.rows.map((r) => r.algorithm)).toEqual(['oracle', 'popular']);
    expect(seen).toEqual([
      { row: 0, history: [10, 20, 30], candidates: [10, 20, 30, 50, 60] },
      { row: 1, history: [10, 50, 60], candidates: [10, 20, 30, 50, 60] },
    ]);
    // User 1's test movie 40 is no candidate: [30, 50], no hit; user 2: [20, 30], a hit at rank 1.
    expect(report.rows[0].ndcg).toBeCloseTo(0.5, 12);
    expect(report.rows[0].coverage).toBeCloseTo(3 / 5, 12);
  });
});

describe('splits', () => {
  const { interactions: data } = syntheticRatings({ users: 40, movies: 60, perUser: 9 });

  function perRow(d: typeof data) {
    return Array.from({ length: d.nUsers }, (_, u) =>
      Array.from(d.indices.subarray(d.indptr[u], d.indptr[u + 1]), (c) => d.itemIds[c]),
    );
  }

  it('user: round(0.75·n) of each user train, the rest test, nothing lost or shared; seeded', () => {
    const s = splitInteractions(data, 'user', 42);
    const all = perRow(data);
    const train = perRow(s.train);
    all.forEach((items, u) => {
      expect(train[u].length).toBe(trainCount(items.length));
      expect([...train[u], ...s.test[u]].sort((a, b) => a - b)).toEqual([...items].sort((a, b) => a - b));
    });
    expect(splitInteractions(data, 'user', 42).test).toEqual(s.test);
    expect(splitInteractions(data, 'user', 7).test).not.toEqual(s.test);
  });

  it("item: round(0.75·n) of each movie's ratings train", () => {
    const s = splitInteractions(data, 'item', 42);
    const count = (d: typeof data) => {
      const c = new Map<number, number>();
      for (let p = 0; p < d.indices.length; p++)
        c.set(d.itemIds[d.indices[p]], (c.get(d.itemIds[d.indices[p]]) ?? 0) + 1);
      return c;
    };
    const all = count(data);
    const train = count(s.train);
    for (const [movie, n] of all) expect(train.get(movie) ?? 0).toBe(trainCount(n));
  });

  it("temporal: each user's latest ratings are the test set", () => {
    const s = splitInteractions(data, 'temporal', 42);
    for (let u = 0; u < data.nUsers; u++) {
      const times = new Map<number, number>();
      for (let p = data.indptr[u]; p < data.indptr[u + 1]; p++)
        times.set(data.itemIds[data.indices[p]], data.timestamps![p]);
      const trainMax = Math.max(
        ...Array.from(s.train.indices.subarray(s.train.indptr[u], s.train.indptr[u + 1]), (c) =>
          times.get(s.train.itemIds[c])!,
        ),
      );
      for (const m of s.test[u]) expect(times.get(m)!).toBeGreaterThan(trainMax);
    }
  });

  it('evaluate() runs named algorithms for other modules (e.g. the simulation)', async () => {
    const syn = syntheticRatings();
    const r = await evaluate(syn.interactions, syn.catalogue, ['popular', 'item-knn'], { seed: 1 });
    expect(r.rows.map((x) => x.algorithm)).toEqual(['popular', 'item-knn']);
    expect(r.rows[1].ndcg).toBeGreaterThan(r.rows[0].ndcg);
    await expect(evaluate(syn.interactions, syn.catalogue, ['nope'])).rejects.toThrow(/unknown algorithm/);
  });
});

describe('trainCount', () => {
  it('is round(0.75·n) with halves to even, like the numpy reference', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 10, 14, 22].map(trainCount)).toEqual([1, 2, 2, 3, 4, 4, 5, 8, 10, 16]);
  });
});

describe('metrics at every k from one ranking (the curve of reco evaluate --html)', () => {
  it('addRankingCurve gives rankingMetrics at each k, short rankings and empty test sets included', () => {
    const cases: [number[], number[]][] = [
      [
        [1, 9, 2, 8, 7, 3],
        [1, 2, 3],
      ],
      [[4], [4, 5, 6, 7]],
      [[], [1]],
      [[1, 2], []],
    ];
    for (const [ranking, test] of cases) {
      const sums = emptyCurveSums(8);
      addRankingCurve(ranking, new Set(test), sums);
      for (let k = 1; k <= 8; k++) {
        const m = rankingMetrics(ranking, new Set(test), k);
        expect([sums.precision[k - 1], sums.recall[k - 1], sums.ndcg[k - 1], sums.ap[k - 1]]).toEqual([
          m.precision,
          m.recall,
          m.ndcg,
          m.ap,
        ]);
      }
    }
  });

  it('asking for a curve leaves the row at k unchanged, and the curve at k is that row', async () => {
    const syn = syntheticRatings({ users: 80, movies: 120, perUser: 15 });
    const names = ['popular', 'item-knn', 'ease'];
    const plain = await evaluate(syn.interactions, syn.catalogue, names, { seed: 3, k: 5 });
    const curved = await evaluate(syn.interactions, syn.catalogue, names, { seed: 3, k: 5, curve: 12 });
    const metrics = ({ precision, recall, ndcg, map, coverage, longTail, users }: (typeof plain.rows)[number]) => ({
      precision,
      recall,
      ndcg,
      map,
      coverage,
      longTail,
      users,
    });
    expect(curved.rows.map(metrics)).toEqual(plain.rows.map(metrics));
    for (const row of curved.rows) {
      expect(row.curve?.map((p) => p.k)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
      const at5 = row.curve![4];
      expect(at5.precision).toBeCloseTo(row.precision, 12);
      expect(at5.recall).toBeCloseTo(row.recall, 12);
      expect(at5.ndcg).toBeCloseTo(row.ndcg, 12);
      expect(at5.map).toBeCloseTo(row.map, 12);
      // Recall only grows with k; at least one model finds something.
      for (let i = 1; i < 12; i++) expect(row.curve![i].recall).toBeGreaterThanOrEqual(row.curve![i - 1].recall);
    }
    expect(Math.max(...curved.rows.map((r) => r.curve![11].recall))).toBeGreaterThan(0);
    expect(plain.rows[0].curve).toBeUndefined();
  });
});

describe('a sample of the evaluated users', () => {
  const syn = syntheticRatings({ users: 300, movies: 80, perUser: 12 });

  it('scores n seeded users of the split, fitted on the whole training part, nDCG with its 95 % interval', async () => {
    const all = await evaluateAlgorithms(syn.interactions, syn.catalogue, [popular], { seed: 3 });
    const some = await evaluateAlgorithms(syn.interactions, syn.catalogue, [popular], { seed: 3, sampleUsers: 120 });
    expect(some.counts.evaluatedUsers).toBe(120);
    expect(some.counts.usersWithTest).toBe(all.counts.evaluatedUsers);
    expect(some.counts.testRatings).toBe(all.counts.testRatings);
    expect(all.rows[0].ndcgCi95).toBeUndefined();
    const [low, high] = some.rows[0].ndcgCi95!;
    expect(low).toBeLessThan(some.rows[0].ndcg);
    expect(high).toBeGreaterThan(some.rows[0].ndcg);
    expect(high - low).toBeLessThan(0.5);
    // The whole population's mean lies in the sample's interval here (seeded, so this is deterministic).
    expect(all.rows[0].ndcg).toBeGreaterThan(low);
    expect(all.rows[0].ndcg).toBeLessThan(high);
  });

  it('is the same users for a seed, other users for another, the whole split when n covers it', () => {
    const s = splitInteractions(syn.interactions, 'user', 3);
    const users = (x: typeof s) => x.test.flatMap((t, u) => (t.length ? [u] : []));
    const a = sampleTestUsers(s, 50, 3);
    expect(users(a)).toHaveLength(50);
    expect(users(sampleTestUsers(s, 50, 3))).toEqual(users(a));
    expect(users(sampleTestUsers(s, 50, 4))).not.toEqual(users(a));
    for (const u of users(a)) expect(a.test[u]).toBe(s.test[u]);
    expect(a.train).toBe(s.train);
    expect(sampleTestUsers(s, 10_000, 3)).toBe(s);
  });

  it("the interval is the mean ± 1.96 standard errors of the sampled users' nDCG", async () => {
    // Every user gets the same fixed list: each one's nDCG is then computable here by hand.
    const list = [...syn.interactions.itemIds].slice(0, 10);
    const r = await evaluateAlgorithms(syn.interactions, syn.catalogue, [], {
      seed: 3,
      sampleUsers: 100,
      oracle: (_row, _history, k, candidates) => list.filter((id) => candidates.has(id)).slice(0, k),
    });
    const s = sampleTestUsers(splitInteractions(syn.interactions, 'user', 3), 100, 3);
    const candidates = new Set<number>();
    for (let p = 0; p < s.train.indices.length; p++) candidates.add(s.train.itemIds[s.train.indices[p]]);
    const each = s.test
      .filter((t) => t.length > 0)
      .map(
        (t) =>
          rankingMetrics(
            list.filter((id) => candidates.has(id)),
            new Set(t),
            10,
          ).ndcg,
      );
    const mean = each.reduce((a, x) => a + x, 0) / each.length;
    const sd = Math.sqrt(each.reduce((a, x) => a + (x - mean) ** 2, 0) / (each.length - 1));
    expect(r.rows[0].ndcg).toBeCloseTo(mean, 12);
    expect(r.rows[0].ndcgCi95![0]).toBeCloseTo(mean - (1.96 * sd) / Math.sqrt(100), 12);
    expect(r.rows[0].ndcgCi95![1]).toBeCloseTo(mean + (1.96 * sd) / Math.sqrt(100), 12);
    expect(sd).toBeGreaterThan(0);
  });
});
