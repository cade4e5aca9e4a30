import { withDefaults } from './params.js';
import { packArtifact, unpackArtifact } from './artifact.js';
import { indexOf, itemCounts, transpose } from '../data/interactions.js';
import { NeighborListModel } from './neighbor-list-model.js';
import { kthLargest } from './neighbors.js';
import { fixedTail, historyColumns, popularityPrior, topN, topNScoredThenTail, type FixedTail } from './ranking.js';
import type { Algorithm, History, Recommendation, RecommendOptions, Recommender } from './types.js';
import type { Interactions } from '../data/interactions.js';

export type Rp3betaParams = {
  /** Exponent on the walk's transition probabilities (1 = the plain random walk). */
  alpha: number;
  /** Popularity penalty: a destination movie's weight is divided by its rating count to this power. */
  beta: number;
  /** Weights kept per movie (the largest); 0 keeps every one. */
  neighbors: number;
  /** The learnable movies: at least this many training ratings. The rest rank below, by popularity. */
  minRatings: number;
};

const DEFAULTS: Rp3betaParams = { alpha: 1, beta: 0.3, neighbors: 200, minRatings: 3 };

/**
 * RP³β (Paudel, Christoffel, Cooper & Bernstein 2016, "Updatable, accurate, diverse, and scalable recommendations
 * for interactive applications"): a three-step random walk movie → user → movie on the binary rating graph,
 * W[i][j] = (Σ_u (1/nᵢ)^α · (1/n_u)^α over the users who rated both) / n_j^β, the `neighbors` largest kept per
 * movie; a movie's score is the sum of its weights from the history. Every movie with at least `minRatings`
 * ratings is modelled, whatever the catalogue's size: the cost is Σ_users ratings² (the co-ratings walked once
 * per movie), memory is movies × neighbors, never movies².
 */
export class Rp3betaRecommender extends NeighborListModel implements Recommender {
  readonly algorithm = 'rp3beta';
  readonly params: Rp3betaParams;
  /** 1 for the learnable movies. */
  private learnable: Uint8Array = new Uint8Array(0);

  constructor(params: Record<string, unknown> = {}) {
    super();
    this.params = withDefaults(DEFAULTS, params);
  }

  async fit(data: Interactions): Promise<void> {
    const { alpha, beta, neighbors, minRatings } = this.params;
    const nItems = data.nItems;
    this.itemIds = data.itemIds.slice();
    this.index = indexOf(this.itemIds);
    const counts = itemCounts(data);
    this.prior = popularityPrior(counts);
    this.learnable = Uint8Array.from(counts, (c) => (c >= minRatings ? 1 : 0));
    const byItem = transpose(data);
    // A user's step weight counts only the learnable movies the walk can reach.
    const userStep = new Float64Array(data.nUsers);
    for (let u = 0; u < data.nUsers; u++) {
      let n = 0;
      for (let p = data.indptr[u]; p < data.indptr[u + 1]; p++) n += this.learnable[data.indices[p]];
      userStep[u] = n > 0 ? Math.pow(1 / n, alpha) : 0;
    }
    const penalty = Float64Array.from(counts, (c) => (c > 0 ? Math.pow(c, -beta) : 0));

    const acc = new Float64Array(nItems);
    const mark = new Int32Array(nItems).fill(-1);
    const touched = new Int32Array(nItems);
    const mags = new Float64Array(nItems);
    const indptr = new Int32Array(nItems + 1);
    let indices = new Int32Array(Math.max(16, nItems * Math.min(neighbors, 64)));
    let weights = new Float32Array(indices.length);
    let total = 0;
    for (let i = 0; i < nItems; i++) {
      if (this.learnable[i]) {
        let n = 0;
        for (let p = byItem.indptr[i]; p < byItem.indptr[i + 1]; p++) {
          const u = byItem.indices[p];
          const step = userStep[u];
          for (let q = data.indptr[u]; q < data.indptr[u + 1]; q++) {
            const j = data.indices[q];
            if (!this.learnable[j] || j === i) continue;
            if (mark[j] !== i) {
              mark[j] = i;
              acc[j] = 0;
              touched[n++] = j;
            }
            acc[j] += step;
          }
        }
        const first = Math.pow(1 / counts[i], alpha);
        for (let t = 0; t < n; t++) mags[t] = acc[touched[t]] * first * penalty[touched[t]];
        const kept = keepLargest(touched, mags, n, neighbors);
        if (total + kept.length > indices.length) {
          const grown = Math.max(indices.length * 2, total + kept.length);
          indices = grow(indices, grown);
          weights = grow(weights, grown);
        }
        for (const t of kept) {
          indices[total] = touched[t];
          weights[total] = mags[t];
          total++;
        }
      }
      indptr[i + 1] = total;
    }
    this.lists = { indptr, indices: indices.slice(0, total), weights: weights.slice(0, total) };
    this.tailCache = undefined;
    this.scratch = undefined;
  }

  /**
   * Scores the movies the history's lists reach; every other movie keeps its fixed score (1e-9 · popularity, or
   * below every learnable movie), so the answer is recommendOverAllColumns' (held to it by test/models/rp3beta.test.ts,
   * its reference) without an array of every movie's score per request (500 KB at ML-25M's catalogue, allocated in
   * V8's old space) or a walk over all of them.
   */
  recommend(history: History, n: number, options?: RecommendOptions): Recommendation[] {
    const s = this.rankingScratch();
    const { indptr, indices, weights } = this.lists;
    let reached = 0;
    for (const i of historyColumns(this.index, history).cols)
      for (let p = indptr[i]; p < indptr[i + 1]; p++) {
        const j = indices[p]; // the lists hold learnable movies only (fit)
        if (!s.skip[j]) {
          s.skip[j] = 1;
          s.cols[reached++] = j;
        }
        s.sums[j] += weights[p];
      }
    const scores = s.scores.subarray(0, reached);
    for (let r = 0; r < reached; r++) {
      const j = s.cols[r];
      scores[r] = s.sums[j] + 1e-9 * this.prior[j];
      s.sums[j] = 0;
    }
    try {
      return topNScoredThenTail(this.itemIds, s.cols.subarray(0, reached), scores, this.tail(), n, history, options, s.skip);
    } finally {
      for (let r = 0; r < reached; r++) s.skip[s.cols[r]] = 0;
    }
  }

  private scratch: { cols: Int32Array; scores: Float64Array; sums: Float64Array; skip: Uint8Array } | undefined;
  private rankingScratch(): NonNullable<Rp3betaRecommender['scratch']> {
    const nItems = this.itemIds.length;
    this.scratch ??= { cols: new Int32Array(nItems), scores: new Float64Array(nItems), sums: new Float64Array(nItems), skip: new Uint8Array(nItems) };
    return this.scratch;
  }

  private tailCache: FixedTail | undefined;
  /** Every movie by the score it has when the history reaches it not: 1e-9 · popularity, or −1000 + popularity. */
  private tail(): FixedTail {
    this.tailCache ??= fixedTail(
      Array.from(this.itemIds, (_, j) => j),
      (j) => (this.learnable[j] ? 1e-9 * this.prior[j] : -1e3 + this.prior[j]),
    );
    return this.tailCache;
  }

  /** The plain ranking: a score for every movie of the model. */
  recommendOverAllColumns(history: History, n: number, options?: RecommendOptions): Recommendation[] {
    const scores = this.historyScores(history);
    // Movies below minRatings rank under every learnable one, by popularity; popularity breaks ties above.
    for (let j = 0; j < scores.length; j++)
      scores[j] = this.learnable[j] ? scores[j] + 1e-9 * this.prior[j] : -1e3 + this.prior[j];
    return topN(this.itemIds, scores, n, history, options);
  }

  serialize(): Uint8Array {
    return packArtifact(this.algorithm, { params: this.params }, { ...this.listArrays(), learnable: this.learnable });
  }

  static load(bytes: Uint8Array): Rp3betaRecommender {
    const { meta, arrays } = unpackArtifact(bytes, 'rp3beta');
    const m = new Rp3betaRecommender(meta.params);
    m.restoreLists(arrays);
    m.learnable = arrays.learnable as Uint8Array;
    // At load, not on the first request: it sorts every movie of the catalogue.
    m.tail();
    return m;
  }
}

/**
 * Positions t < n of the `k` largest mags[t] (all when k ≤ 0 or n ≤ k), ordered by column `cols[t]`; ties at the
 * cut keep the lower columns, so the result does not depend on the order in which the walk met the movies. The
 * cut comes from a selection over a copy of the magnitudes (kthLargest), not a sort of tens of thousands of them.
 */
function keepLargest(cols: Int32Array, mags: Float64Array, n: number, k: number): number[] {
  let kept: number[];
  if (k <= 0 || n <= k) kept = Array.from({ length: n }, (_, t) => t);
  else {
    const threshold = kthLargest(mags.slice(0, n), n, k);
    kept = [];
    const ties: number[] = [];
    for (let t = 0; t < n; t++) {
      if (mags[t] > threshold) kept.push(t);
      else if (mags[t] === threshold) ties.push(t);
    }
    ties.sort((a, b) => cols[a] - cols[b]);
    for (let i = 0; kept.length < k && i < ties.length; i++) kept.push(ties[i]);
  }
  return kept.sort((a, b) => cols[a] - cols[b]);
}

function grow<T extends Int32Array | Float32Array>(a: T, length: number): T {
  const b = new (a.constructor as { new (n: number): T })(length);
  b.set(a);
  return b;
}

export const rp3beta: Algorithm = {
  name: 'rp3beta',
  description: 'RP³β random-walk item–item weights (Paudel et al. 2016) over every movie with ≥ 3 ratings',
  create: (params) => new Rp3betaRecommender(params),
  load: (bytes) => Rp3betaRecommender.load(bytes),
};
