import { Matrix, solve } from 'ml-matrix';
import { EaseRecommender } from '../../src/core/models/ease.js';
import { fitEaseTail, tailByInput, type EaseTail } from '../../src/core/models/ease-tail.js';
import { packArtifact, unpackArtifact } from '../../src/core/models/artifact.js';
import { itemCounts, type Interactions } from '../../src/core/data/interactions.js';
import { historyOf, syntheticRatings } from './fixtures.js';
import { Rng } from '../../src/core/data/random.js';

const LAMBDA = 200;
const world = syntheticRatings({ users: 160, movies: 240, perUser: 20, seed: 5 });
const data = world.interactions;

/** The 40 most rated columns as the modelled movies, and their Gram + λI (dense, from a dense binary matrix). */
function modelledSet(data: Interactions, size: number) {
  const counts = itemCounts(data);
  const chosen = Array.from({ length: data.nItems }, (_, j) => j)
    .sort((a, b) => counts[b] - counts[a] || a - b)
    .slice(0, size)
    .sort((a, b) => a - b);
  const local = new Int32Array(data.nItems).fill(-1);
  chosen.forEach((j, a) => (local[j] = a));
  const x = Array.from({ length: data.nUsers }, () => new Float64Array(data.nItems));
  for (let u = 0; u < data.nUsers; u++) for (let p = data.indptr[u]; p < data.indptr[u + 1]; p++) x[u][data.indices[p]] = 1;
  const m = chosen.length;
  const gram = new Float32Array(m * m);
  for (let a = 0; a < m; a++)
    for (let b = 0; b <= a; b++) {
      let s = 0;
      for (let u = 0; u < data.nUsers; u++) s += x[u][chosen[a]] * x[u][chosen[b]];
      gram[a * m + b] = s + (a === b ? LAMBDA : 0);
    }
  return { counts, chosen, local, x, m, gram };
}

/** The ridge regression of column j on the modelled movies S, solved by ml-matrix's LU on the dense Gram. */
function ridge(set: ReturnType<typeof modelledSet>, j: number, inputs: number[], crossScale = 1): number[] {
  const { x, chosen, gram, m } = set;
  const k = inputs.length;
  const a = new Matrix(k, k);
  const y = new Matrix(k, 1);
  for (let s = 0; s < k; s++) {
    for (let t = 0; t < k; t++) a.set(s, t, gram[Math.max(inputs[s], inputs[t]) * m + Math.min(inputs[s], inputs[t])]);
    let cross = 0;
    for (const row of x) cross += row[chosen[inputs[s]]] * row[j];
    y.set(s, 0, cross * crossScale);
  }
  return solve(a, y).getColumn(0);
}

function coRated(set: ReturnType<typeof modelledSet>, j: number): { a: number; count: number }[] {
  const out: { a: number; count: number }[] = [];
  for (let a = 0; a < set.m; a++) {
    let count = 0;
    for (const row of set.x) count += row[set.chosen[a]] * row[j];
    if (count > 0) out.push({ a, count });
  }
  return out;
}

function inputsOf(tail: EaseTail, t: number): { inputs: number[]; weights: number[] } {
  return {
    inputs: Array.from(tail.inputs.subarray(tail.indptr[t], tail.indptr[t + 1])),
    weights: Array.from(tail.weights.subarray(tail.indptr[t], tail.indptr[t + 1])),
  };
}

describe("EASE's tail: each movie beyond the modelled ones is a ridge regression on modelled movies", () => {
  const set = modelledSet(data, 40);
  const options = { local: set.local, gram: set.gram, m: set.m, minRatings: 3, counts: set.counts, fanOut: 0 };

  it('is the ridge regression on every co-rated modelled movie when the inputs allow them all', () => {
    const tail = fitEaseTail(data, { ...options, inputs: 1000 });
    const expectedCols = Array.from({ length: data.nItems }, (_, j) => j).filter((j) => set.local[j] < 0 && set.counts[j] >= 3);
    expect(Array.from(tail.cols)).toEqual(expectedCols);
    expect(tail.cols.length).toBeGreaterThan(100);
    tail.cols.forEach((j, t) => {
      const { inputs, weights } = inputsOf(tail, t);
      expect(inputs).toEqual(coRated(set, j).map((c) => c.a));
      const expected = ridge(set, j, inputs);
      weights.forEach((w, s) => expect(w).toBeCloseTo(expected[s], 5));
    });
  });

  it('keeps the most co-rated modelled movies (ties: the lower index) and solves on them only', () => {
    const tail = fitEaseTail(data, { ...options, inputs: 4 });
    let cut = 0;
    tail.cols.forEach((j, t) => {
      const all = coRated(set, j);
      const kept = [...all].sort((p, q) => q.count - p.count || p.a - q.a).slice(0, 4).map((c) => c.a).sort((p, q) => p - q);
      if (all.length > 4) cut++;
      const { inputs, weights } = inputsOf(tail, t);
      expect(inputs).toEqual(kept);
      const expected = ridge(set, j, inputs);
      weights.forEach((w, s) => expect(w).toBeCloseTo(expected[s], 5));
    });
    expect(cut).toBeGreaterThan(50);
  });

  it("weighs each pair as the Gram's pair weight says (ease-session's time proximity)", () => {
    const tail = fitEaseTail(data, { ...options, inputs: 1000, pairWeight: () => 0.25 });
    tail.cols.forEach((j, t) => {
      const { inputs, weights } = inputsOf(tail, t);
      const expected = ridge(set, j, inputs, 0.25);
      weights.forEach((w, s) => expect(w).toBeCloseTo(expected[s], 5));
    });
  });

  it('keeps for each modelled movie its largest |weights| in the tail, up to the fan-out (ties: the lower tail movie)', () => {
    const full = fitEaseTail(data, { ...options, inputs: 8 });
    const capped = fitEaseTail(data, { ...options, inputs: 8, fanOut: 10 });
    const entries = (tail: EaseTail) => {
      const out: { t: number; a: number; w: number }[] = [];
      for (let t = 0; t < tail.cols.length; t++)
        for (let p = tail.indptr[t]; p < tail.indptr[t + 1]; p++) out.push({ t, a: tail.inputs[p], w: tail.weights[p] });
      return out;
    };
    const expected = new Set<string>();
    let cut = 0;
    for (let a = 0; a < set.m; a++) {
      const list = entries(full).filter((e) => e.a === a);
      if (list.length > 10) cut++;
      list
        .sort((x, y) => Math.abs(y.w) - Math.abs(x.w) || x.t - y.t)
        .slice(0, 10)
        .forEach((e) => expected.add(`${e.t}:${e.a}:${e.w}`));
    }
    expect(cut).toBeGreaterThan(5);
    expect(new Set(entries(capped).map((e) => `${e.t}:${e.a}:${e.w}`))).toEqual(expected);
    expect(capped.cols).toEqual(full.cols);
  });

  it('indexes the tail by input with every weight once', () => {
    const tail = fitEaseTail(data, { ...options, inputs: 4, fanOut: 6 });
    const byInput = tailByInput(tail, set.m);
    const seen: string[] = [];
    for (let a = 0; a < set.m; a++)
      for (let p = byInput.indptr[a]; p < byInput.indptr[a + 1]; p++) seen.push(`${byInput.tails[p]}:${a}:${byInput.weights[p]}`);
    const expected: string[] = [];
    for (let t = 0; t < tail.cols.length; t++)
      for (let p = tail.indptr[t]; p < tail.indptr[t + 1]; p++) expected.push(`${t}:${tail.inputs[p]}:${tail.weights[p]}`);
    expect(seen.sort()).toEqual(expected.sort());
  });
});

describe("an ease-session model's tail", () => {
  it('regresses each tail movie on the session Gram: pairs weighted (1 + w·exp(−|Δt|/τ)) / (1 + w), by ml-matrix', async () => {
    const [tau, w] = [300, 2];
    const model = new EaseRecommender(
      { lambda: LAMBDA, minRatings: 3, maxItems: 40, tailInputs: 1000, tailFanOut: 1000, sessionTau: tau, sessionWeight: w },
      'ease-session',
    );
    await model.fit(data);
    const { arrays } = unpackArtifact(model.serialize(), 'ease-session');
    const tail: EaseTail = {
      cols: arrays.tailCols as Int32Array,
      indptr: arrays.tailIndptr as Int32Array,
      inputs: arrays.tailInputs as Int32Array,
      weights: arrays.tailWeights as Float32Array,
    };
    const { chosen, m } = modelledSet(data, 40);
    // The session Gram and each tail movie's cross Gram, summed pair by pair from the ratings' timestamps.
    const weight = (p: number, q: number) =>
      (1 + w * Math.exp(-Math.abs(data.timestamps![p] - data.timestamps![q]) / tau)) / (1 + w);
    const at = new Int32Array(data.nItems).fill(-1);
    chosen.forEach((j, a) => (at[j] = a));
    const gram = Matrix.zeros(m, m);
    const cross = new Map<number, Float64Array>();
    let near = 0;
    for (let u = 0; u < data.nUsers; u++)
      for (let p = data.indptr[u]; p < data.indptr[u + 1]; p++)
        for (let q = data.indptr[u]; q < data.indptr[u + 1]; q++) {
          const [a, b] = [at[data.indices[p]], at[data.indices[q]]];
          if (b < 0) continue;
          const v = p === q ? 1 : weight(p, q);
          if (p !== q && v > 0.5) near++;
          if (a >= 0) gram.set(a, b, gram.get(a, b) + v);
          else {
            const row = cross.get(data.indices[p]) ?? new Float64Array(m);
            row[b] += v;
            cross.set(data.indices[p], row);
          }
        }
    expect(near).toBeGreaterThan(1000);
    for (let a = 0; a < m; a++) gram.set(a, a, gram.get(a, a) + LAMBDA);
    expect(tail.cols.length).toBeGreaterThan(50);
    tail.cols.forEach((j, t) => {
      const { inputs, weights } = inputsOf(tail, t);
      const c = cross.get(j)!;
      // Every co-rated modelled movie is an input (the inputs allow them all).
      expect(inputs).toEqual(Array.from({ length: m }, (_, a) => a).filter((a) => c[a] > 0));
      const sub = new Matrix(inputs.map((a) => inputs.map((b) => gram.get(a, b))));
      const expected = solve(sub, Matrix.columnVector(inputs.map((a) => c[a]))).getColumn(0);
      weights.forEach((x, s) => expect(x).toBeCloseTo(expected[s], 4));
    });
  });
});

describe('an EASE model with a tail', () => {
  const params = { minRatings: 3, maxItems: 40, tailInputs: 8, tailFanOut: 20 };
  let model: EaseRecommender;
  beforeAll(async () => {
    model = new EaseRecommender(params);
    await model.fit(data);
  });

  it("recommends tail movies with the sum of their regressions' weights over the history", () => {
    const set = modelledSet(data, 40);
    const tail = fitEaseTail(data, { local: set.local, gram: set.gram, m: set.m, minRatings: 3, counts: set.counts, inputs: 8, fanOut: 20 });
    const prior = itemCounts(data);
    const maxCount = Math.max(...prior);
    let checked = 0;
    for (let u = 0; u < 40; u++) {
      const history = historyOf(data, u);
      const inHistory = new Set(history.movieIds.map((id) => set.local[data.itemIds.indexOf(id)]).filter((a) => a >= 0));
      for (const r of model.recommend(history, 30)) {
        const t = tail.cols.indexOf(data.itemIds.indexOf(r.movieId));
        if (t < 0) continue;
        const { inputs, weights } = inputsOf(tail, t);
        const sum = inputs.reduce((s, a, i) => s + (inHistory.has(a) ? weights[i] : 0), 0);
        expect(r.score).toBeCloseTo(sum + (1e-6 * prior[tail.cols[t]]) / maxCount, 4);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(20);
  });

  it('explains a tail movie by its inputs in the history, and lists them as its similar movies', () => {
    const history = historyOf(data, 3);
    const { local, counts } = modelledSet(data, 40);
    const inTail = (id: number) => local[data.itemIds.indexOf(id)] < 0 && counts[data.itemIds.indexOf(id)] >= 3;
    const tailPick = model.recommend(history, 60).find((r) => inTail(r.movieId) && model.explain(history, [r.movieId], 3)[0].length > 0);
    expect(tailPick).toBeDefined();
    const [contributions] = model.explain(history, [tailPick!.movieId], 50);
    const similar = new Map(model.similar(tailPick!.movieId, 50)!.map((r) => [r.movieId, r.score]));
    for (const c of contributions) {
      expect(history.movieIds).toContain(c.movieId);
      // A positive weight in the regression is a similar movie with that weight.
      expect(similar.get(c.movieId)).toBeCloseTo(c.weight, 6);
    }
  });

  it.each([
    ['dense', {}],
    ['sparse lists', { neighbors: 10 }],
  ])('lists similar movies as from weights spread over the catalogue (%s)', async (_form, extra) => {
    const m = new EaseRecommender({ ...params, ...extra });
    await m.fit(data);
    const rng = new Rng(9, 'ease-similar');
    const ids = Array.from(data.itemIds);
    const pick = (share: number) => new Set(ids.filter(() => rng.next() < share));
    let answered = 0;
    for (const id of [...ids, 999_999]) {
      const options = [undefined, { exclude: pick(0.3) }, { candidates: pick(0.2) }][rng.int(3)];
      const n = 1 + rng.int(15);
      const answer = m.similar(id, n, options);
      expect(answer).toEqual(m.similarOverAllColumns(id, n, options));
      if (answer && answer.length > 0) answered++;
    }
    expect(answered).toBeGreaterThan(ids.length / 2);
  });

  it('keeps its tail through serialize and load; an artifact without one loads with none', async () => {
    const loaded = EaseRecommender.load(model.serialize());
    const untailed = new EaseRecommender({ ...params, tailInputs: 0 });
    await untailed.fit(data);
    const { meta, arrays } = unpackArtifact(model.serialize(), 'ease');
    const { tailCols: _c, tailIndptr: _i, tailInputs: _n, tailWeights: _w, ...before } = arrays;
    const old = EaseRecommender.load(packArtifact('ease', meta, before));
    let differs = 0;
    for (let u = 0; u < data.nUsers; u += 7) {
      const history = historyOf(data, u);
      expect(loaded.recommend(history, 20)).toEqual(model.recommend(history, 20));
      expect(old.recommend(history, 20)).toEqual(untailed.recommend(history, 20));
      if (JSON.stringify(model.recommend(history, 20)) !== JSON.stringify(untailed.recommend(history, 20))) differs++;
    }
    expect(differs).toBeGreaterThan(0);
  });
});
