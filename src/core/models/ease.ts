import { denseRows, type DenseRows } from './dense-rows.js';
import { withDefaults } from './params.js';
import { packArtifact, unpackArtifact } from './artifact.js';
import { indexOf, itemCounts } from '../data/interactions.js';
import { invertSpdInPlace } from './linalg/spd-inverse.js';
import { accumulate, type NeighborLists, sparsifyRows, weightOf } from './neighbors.js';
import { EMPTY_TAIL, fitEaseTail, tailByInput, tailWeight, type EaseTail, type TailByInput } from './ease-tail.js';
import {
  fixedTail,
  historyColumns,
  popularityPrior,
  topContributions,
  topN,
  topNScoredThenTail,
  topSimilar,
  topSimilarAmong,
  type FixedTail,
} from './ranking.js';
import type { Algorithm, Contribution, History, RecommendOptions, Recommendation, Recommender } from './types.js';
import type { Interactions } from '../data/interactions.js';

export type EaseParams = {
  /** L2 regularisation λ added to the Gram diagonal (Steck 2019). */
  lambda: number;
  /** Only movies with at least this many training ratings are modelled; the rest rank by popularity below. */
  minRatings: number;
  /**
   * At most this many modelled movies (the most rated), so the items² memory and items³ time stay bounded at
   * a negligible cost in quality (docs/benchmarks/quality.md).
   */
  maxItems: number;
  /**
   * Weights kept per movie row (largest |B|) in a sparse list; 0 (default) keeps the whole matrix, quantised
   * to 16 bits per weight with one scale per row: sparse rows lose quality, 16 bits lose none and halve
   * Float32's memory (docs/models.md).
   */
  neighbors: number;
  /**
   * Time proximity (`ease-session`): 0 (plain EASE) or a time scale τ in seconds. The Gram becomes
   * (XᵀX + w·T) / (1 + w), where T sums over each user's pairs of training ratings exp(−|tᵢ − tⱼ| / τ) — movies
   * rated minutes apart (one rating session: the site showed them together) count more than movies a user rated
   * years apart. The diagonal stays the rating counts. Needs the ratings' timestamps at fit time only
   * (without them the fit is plain EASE); recommending is unchanged.
   */
  sessionTau: number;
  /** w above: the weight of the time-proximity Gram against the plain one. */
  sessionWeight: number;
  /**
   * Movies with at least `minRatings` ratings beyond `maxItems` (the tail) are scored by a ridge regression on
   * this many of their most co-rated modelled movies (ease-tail.ts); 0 leaves them to popularity.
   */
  tailInputs: number;
  /** Each modelled movie feeds at most this many tail movies (its largest weights there), bounding a history's reach. */
  tailFanOut: number;
};

const DEFAULTS: EaseParams = {
  lambda: 200,
  minRatings: 3,
  maxItems: 3500,
  neighbors: 0,
  sessionTau: 0,
  sessionWeight: 0,
  tailInputs: 32,
  tailFanOut: 64,
};
/** `ease-session`'s setting, chosen on numpy's splits of seeds 1–5 of ml-latest-small (docs/models.md). */
const SESSION_DEFAULTS = { sessionTau: 600, sessionWeight: 2 };
/** exp(−x) below e^−40 ≈ 4e−18 is not added (the pairs of a user's ratings further apart than 40 τ). */
const MAX_DECAYS = 40;

/**
 * EASE (Steck 2019, "Embarrassingly Shallow Autoencoders"): B = I − P·diag(1/diag P) with P = (XᵀX + λI)⁻¹
 * on the binary user × movie matrix, zero diagonal; a movie's score is the sum of its weights from the
 * history. The inverse uses the Cholesky kernel of linalg/spd-inverse.ts. `ease-session` is the same model with
 * the time-proximity Gram of `sessionTau` / `sessionWeight`.
 */
export class EaseRecommender implements Recommender {
  readonly params: EaseParams;
  private itemIds: Int32Array = new Int32Array(0);
  private index = new Map<number, number>();
  private prior: Float32Array = new Float32Array(0);
  /** Columns of the model's items that EASE models (others are ranked by popularity). */
  private modelled: Int32Array = new Int32Array(0);
  private lists: NeighborLists = { indptr: new Int32Array(1), indices: new Int32Array(0), weights: new Float32Array(0) };
  /**
   * Dense form (neighbors = 0): B over the modelled movies, row a = q[a·m … a·m+m) · scale[a]; `rows` holds q and
   * sums a history's rows (dense-rows.ts: a WebAssembly kernel, the plain loop its reference).
   */
  private q: Int16Array = new Int16Array(0);
  private rows: DenseRows | undefined;
  private scale: Float32Array = new Float32Array(0);
  /** Column of the model → row of B (−1 when not modelled). */
  private local: Int32Array = new Int32Array(0);
  /** The movies beyond the modelled ones that have enough ratings, each a regression on modelled movies. */
  private tailModel: EaseTail = EMPTY_TAIL;
  private byInput: TailByInput = tailByInput(EMPTY_TAIL, 0);
  /** Column of the model → index into tailModel.cols (−1 when not in the tail). */
  private tailOf: Int32Array = new Int32Array(0);
  /** Scratch of a ranking (recommend is synchronous, so one set per model): see recommend. */
  private scratch: { cols: Int32Array; scores: Float64Array; tailSums: Float64Array; reached: Uint8Array; skip: Uint8Array } | undefined;

  constructor(
    params: Record<string, unknown> = {},
    readonly algorithm: 'ease' | 'ease-session' = 'ease',
  ) {
    this.params = withDefaults(DEFAULTS, params);
  }

  async fit(data: Interactions): Promise<void> {
    const { lambda, minRatings, maxItems, neighbors } = this.params;
    this.itemIds = data.itemIds.slice();
    this.index = indexOf(this.itemIds);
    const counts = itemCounts(data);
    this.prior = popularityPrior(counts);
    let chosen = Array.from({ length: data.nItems }, (_, j) => j).filter((j) => counts[j] >= minRatings);
    if (chosen.length > maxItems) chosen = chosen.sort((a, b) => counts[b] - counts[a] || a - b).slice(0, maxItems).sort((a, b) => a - b);
    this.modelled = Int32Array.from(chosen);
    const m = chosen.length;
    const local = new Int32Array(data.nItems).fill(-1);
    chosen.forEach((j, a) => (local[j] = a));

    // Lower triangle of G = XᵀX + λI, from each user's modelled movies.
    const g = new Float64Array(m * m);
    const ts = this.params.sessionTau > 0 && this.params.sessionWeight > 0 ? data.timestamps : undefined;
    if (ts) this.accumulateSessionGram(data, local, m, ts, g);
    else {
      const row: number[] = [];
      for (let u = 0; u < data.nUsers; u++) {
        row.length = 0;
        for (let p = data.indptr[u]; p < data.indptr[u + 1]; p++) {
          const a = local[data.indices[p]];
          if (a >= 0) row.push(a);
        }
        row.sort((x, y) => x - y);
        for (let s = 0; s < row.length; s++) {
          const ra = row[s] * m;
          for (let t = 0; t <= s; t++) g[ra + row[t]] += 1;
        }
      }
    }
    for (let a = 0; a < m; a++) g[a * m + a] += lambda;
    // The tail's regressions need G itself, which the inversion overwrites.
    const hasTail = this.params.tailInputs > 0 && counts.some((c, j) => local[j] < 0 && c >= minRatings);
    const gram = hasTail ? Float32Array.from(g) : undefined;
    invertSpdInPlace(g, m);
    const diag = new Float64Array(m);
    for (let a = 0; a < m; a++) diag[a] = g[a * m + a];
    // B[a][b] = −P[a][b] / P[b][b], zero diagonal.
    this.local = local;
    if (neighbors <= 0) {
      this.q = new Int16Array(m * m);
      this.scale = new Float32Array(m);
      for (let a = 0; a < m; a++) {
        const ra = a * m;
        let max = 0;
        for (let b = 0; b < m; b++) if (b !== a) max = Math.max(max, Math.abs(g[ra + b] / diag[b]));
        const sc = max > 0 ? max / 32767 : 1;
        this.scale[a] = sc;
        for (let b = 0; b < m; b++) this.q[ra + b] = b === a ? 0 : Math.round(-g[ra + b] / diag[b] / sc);
      }
      this.useRows();
    } else {
      // Sparse: the largest weights of each row, in the model's column space.
      this.lists = sparsifyRows(data.nItems, data.nItems, neighbors, (i, out) => {
        const a = local[i];
        if (a < 0) return;
        const ra = a * m;
        for (let b = 0; b < m; b++) if (b !== a) out[chosen[b]] = -g[ra + b] / diag[b];
      });
    }
    const tail = gram
      ? fitEaseTail(data, { local, gram, m, minRatings, counts, inputs: this.params.tailInputs, fanOut: this.params.tailFanOut, pairWeight: this.pairWeight(ts) })
      : EMPTY_TAIL;
    this.setTail(tail);
  }

  /** The Gram's weight of a user's pair of ratings at positions p and q (undefined: 1, plain EASE). */
  private pairWeight(ts: Float64Array | undefined): ((p: number, q: number) => number) | undefined {
    if (!ts) return undefined;
    const { sessionTau: tau, sessionWeight: w } = this.params;
    const plain = 1 / (1 + w);
    const near = w / (1 + w);
    const horizon = MAX_DECAYS * tau;
    return (p, q) => {
      const d = Math.abs(ts[p] - ts[q]);
      return d < horizon ? plain + near * Math.exp(-d / tau) : plain;
    };
  }

  private setTail(tail: EaseTail): void {
    this.tailModel = tail;
    this.byInput = tailByInput(tail, this.modelled.length);
    this.tailOf = new Int32Array(this.itemIds.length).fill(-1);
    tail.cols.forEach((j, t) => (this.tailOf[j] = t));
    this.scratch = undefined;
  }
  /**
   * Lower triangle of (XᵀX + w·T) / (1 + w): each pair of one user's modelled ratings adds
   * (1 + w·exp(−|Δt| / τ)) / (1 + w), each rating 1 on the diagonal. A user's ratings are walked in time order,
   * so the pairs further apart than MAX_DECAYS·τ add the plain 1 / (1 + w) without an exp.
   */
  private accumulateSessionGram(data: Interactions, local: Int32Array, m: number, ts: Float64Array, g: Float64Array): void {
    const { sessionTau: tau, sessionWeight: w } = this.params;
    const plain = 1 / (1 + w);
    const near = w / (1 + w);
    const horizon = MAX_DECAYS * tau;
    let maxRow = 0;
    for (let u = 0; u < data.nUsers; u++) maxRow = Math.max(maxRow, data.indptr[u + 1] - data.indptr[u]);
    const order = new Int32Array(maxRow);
    const cols = new Int32Array(maxRow);
    const times = new Float64Array(maxRow);
    for (let u = 0; u < data.nUsers; u++) {
      let n = 0;
      for (let p = data.indptr[u]; p < data.indptr[u + 1]; p++) if (local[data.indices[p]] >= 0) order[n++] = p;
      // Time order (ties by position, so the result does not depend on the sort's stability).
      order.subarray(0, n).sort((x, y) => ts[x] - ts[y] || x - y);
      for (let s = 0; s < n; s++) {
        cols[s] = local[data.indices[order[s]]];
        times[s] = ts[order[s]];
      }
      for (let s = 0; s < n; s++) {
        const a = cols[s];
        g[a * m + a] += 1;
        const ta = times[s];
        let t = s - 1;
        // Earlier ratings within the horizon (times ascending: Δt grows as t falls).
        for (; t >= 0 && ta - times[t] < horizon; t--) {
          const b = cols[t];
          const v = plain + near * Math.exp((times[t] - ta) / tau);
          if (a > b) g[a * m + b] += v;
          else g[b * m + a] += v;
        }
        for (; t >= 0; t--) {
          const b = cols[t];
          if (a > b) g[a * m + b] += plain;
          else g[b * m + a] += plain;
        }
      }
    }
  }

  /**
   * Scores the modelled movies and the tail movies the history reaches (one of their inputs is in it); every other
   * movie ranks below them in a fixed order, so the answer is recommendOverAllColumns' (held to it by
   * test/models/ease-ranking.test.ts, its reference) without a score for every movie of the catalogue.
   */
  recommend(history: History, n: number, options?: RecommendOptions): Recommendation[] {
    const cols = historyColumns(this.index, history).cols;
    const m = this.modelled.length;
    const scratch = this.rankingScratch();
    const scores = scratch.scores;
    scores.fill(0, 0, m);
    this.modelledScores(cols, scores.subarray(0, m));
    for (let b = 0; b < m; b++) scores[b] += 1e-6 * this.prior[this.modelled[b]];
    const reached = this.reachedTail(cols, scratch, m);
    const scoredCols = scratch.cols.subarray(0, m + reached);
    try {
      return topNScoredThenTail(this.itemIds, scoredCols, scores.subarray(0, m + reached), this.tail(), n, history, options, scratch.skip);
    } finally {
      for (let i = m; i < scoredCols.length; i++) scratch.skip[scoredCols[i]] = 0;
    }
  }

  /**
   * The tail movies the history reaches, appended after the modelled ones to the scratch's columns and scores
   * (their sums in the history's order, + 1e-6 · popularity) and marked in its skip mask; how many.
   */
  private reachedTail(cols: Int32Array, scratch: NonNullable<EaseRecommender['scratch']>, at: number): number {
    const { indptr, tails, weights } = this.byInput;
    const { tailSums, reached } = scratch;
    const order = scratch.cols;
    let n = 0;
    for (const c of cols) {
      const a = this.local[c];
      if (a < 0) continue;
      for (let p = indptr[a]; p < indptr[a + 1]; p++) {
        const t = tails[p];
        if (!reached[t]) {
          reached[t] = 1;
          order[at + n++] = t;
        }
        tailSums[t] += weights[p];
      }
    }
    for (let i = at; i < at + n; i++) {
      const t = order[i];
      const col = this.tailModel.cols[t];
      order[i] = col;
      scratch.scores[i] = tailSums[t] + 1e-6 * this.prior[col];
      scratch.skip[col] = 1;
      tailSums[t] = 0;
      reached[t] = 0;
    }
    return n;
  }

  private rankingScratch(): NonNullable<EaseRecommender['scratch']> {
    if (!this.scratch) {
      const m = this.modelled.length;
      const nTail = this.tailModel.cols.length;
      const cols = new Int32Array(m + nTail);
      cols.set(this.modelled);
      this.scratch = {
        cols,
        scores: new Float64Array(m + nTail),
        tailSums: new Float64Array(nTail),
        reached: new Uint8Array(nTail),
        skip: new Uint8Array(this.itemIds.length),
      };
    }
    return this.scratch;
  }

  /**
   * The plain ranking: a score for every movie of the model. Modelled movies by B; a tail movie whose inputs the
   * history holds by its regression; the others below them all, by popularity.
   */
  recommendOverAllColumns(history: History, n: number, options?: RecommendOptions): Recommendation[] {
    const nItems = this.itemIds.length;
    const scores = new Float64Array(nItems);
    const cols = historyColumns(this.index, history).cols;
    if (this.q.length > 0) this.scoreDense(cols, scores);
    else accumulate(this.lists, cols, scores);
    const isModelled = this.modelledMask();
    for (let j = 0; j < nItems; j++) {
      if (isModelled[j]) {
        scores[j] += 1e-6 * this.prior[j];
        continue;
      }
      const t = this.tailOf[j];
      let sum = 0;
      let reached = false;
      if (t >= 0)
        for (const c of cols) {
          const a = this.local[c];
          for (let p = this.tailModel.indptr[t]; a >= 0 && p < this.tailModel.indptr[t + 1]; p++)
            if (this.tailModel.inputs[p] === a) {
              sum += this.tailModel.weights[p];
              reached = true;
            }
        }
      scores[j] = reached ? sum + 1e-6 * this.prior[j] : -1e3 + this.prior[j];
    }
    return topN(this.itemIds, scores, n, history, options);
  }

  /** Adds the history's scores of the modelled movies into acc (row a of B's sums for modelled movie a). */
  private modelledScores(cols: Int32Array, acc: Float64Array): void {
    if (this.q.length > 0) this.denseSums(cols, acc);
    else {
      const { indptr, indices, weights } = this.lists;
      for (const i of cols) for (let p = indptr[i]; p < indptr[i + 1]; p++) acc[this.local[indices[p]]] += weights[p];
    }
  }

  private tailCache: FixedTail | undefined;
  /** The unmodelled movies by their fixed score −1000 + popularity, best first. */
  private tail(): FixedTail {
    if (!this.tailCache) {
      const isModelled = this.modelledMask();
      const cols: number[] = [];
      for (let j = 0; j < this.itemIds.length; j++) if (!isModelled[j]) cols.push(j);
      this.tailCache = fixedTail(cols, (j) => -1e3 + this.prior[j]);
    }
    return this.tailCache;
  }

  /**
   * A modelled movie: its row of B and its weights in the tail's regressions, what its presence in a history adds
   * to every other movie's score. A tail movie: its regression's weights, the modelled movies that predict it. The
   * positive ones ranked by topSimilarAmong, without an array of the catalogue (similarOverAllColumns, its
   * reference in test/models/ease-tail.test.ts).
   */
  similar(movieId: number, n: number, options?: RecommendOptions): Recommendation[] | undefined {
    const col = this.index.get(movieId);
    if (col === undefined) return undefined;
    const a = this.local[col];
    const tail = this.tailModel;
    if (a >= 0) {
      const row = new Float64Array(this.modelled.length);
      this.modelledScores(Int32Array.of(col), row);
      const { indptr, tails, weights } = this.byInput;
      const tailCols = Array.from(tails.subarray(indptr[a], indptr[a + 1]), (t) => tail.cols[t]);
      const tailWeights = weights.subarray(indptr[a], indptr[a + 1]);
      return topSimilarAmong(this.itemIds, [...this.modelled, ...tailCols], [...row, ...tailWeights], movieId, n, options);
    }
    const t = this.tailOf[col];
    if (t < 0) return undefined;
    const inputs = Array.from(tail.inputs.subarray(tail.indptr[t], tail.indptr[t + 1]), (b) => this.modelled[b]);
    return topSimilarAmong(this.itemIds, inputs, tail.weights.subarray(tail.indptr[t], tail.indptr[t + 1]), movieId, n, options);
  }

  /** similar's reference: the same weights spread over an array of every movie, then topSimilar. */
  similarOverAllColumns(movieId: number, n: number, options?: RecommendOptions): Recommendation[] | undefined {
    const col = this.index.get(movieId);
    if (col === undefined) return undefined;
    const weights = new Float64Array(this.itemIds.length);
    const a = this.local[col];
    const tail = this.tailModel;
    if (a >= 0) {
      if (this.q.length > 0) this.scoreDense(Int32Array.of(col), weights);
      else accumulate(this.lists, [col], weights);
      const { indptr, tails, weights: w } = this.byInput;
      for (let p = indptr[a]; p < indptr[a + 1]; p++) weights[tail.cols[tails[p]]] = w[p];
    } else {
      const t = this.tailOf[col];
      if (t < 0) return undefined;
      for (let p = tail.indptr[t]; p < tail.indptr[t + 1]; p++) weights[this.modelled[tail.inputs[p]]] = tail.weights[p];
    }
    return topSimilar(this.itemIds, weights, movieId, n, options);
  }

  /** What each history movie h adds to each movie c's score: B[h][c], or h's weight in c's tail regression. */
  explain(history: History, movieIds: readonly number[], k: number): Contribution[][] {
    const m = this.modelled.length;
    const modelledWeight =
      this.q.length > 0
        ? (h: number, c: number) => {
            const a = this.local[h];
            const b = this.local[c];
            return a < 0 || b < 0 ? 0 : this.scale[a] * this.q[a * m + b];
          }
        : (h: number, c: number) => weightOf(this.lists, h, c);
    const weight = (h: number, c: number) => {
      const t = this.tailOf[c];
      if (t < 0) return modelledWeight(h, c);
      const a = this.local[h];
      return a < 0 ? 0 : tailWeight(this.tailModel, t, a);
    };
    return topContributions(this.index, this.itemIds, history, movieIds, k, weight);
  }

  private scoreDense(cols: Int32Array, scores: Float64Array): void {
    const m = this.modelled.length;
    const acc = new Float64Array(m);
    this.denseSums(cols, acc);
    for (let b = 0; b < m; b++) scores[this.modelled[b]] = acc[b];
  }

  /** acc[b] += B[a][b] for each history movie a, over the modelled movies b (the dense form). */
  private denseSums(cols: Int32Array, acc: Float64Array): void {
    const rows = new Int32Array(cols.length);
    for (let i = 0; i < cols.length; i++) rows[i] = this.local[cols[i]];
    this.rows!.sumRows(rows, this.scale, acc);
  }

  /** q moved into the summing kernel's memory (the plain loop where it cannot run): q becomes its view. */
  private useRows(): void {
    this.rows = denseRows(this.q, this.modelled.length);
    this.q = this.rows.q;
  }

  private mask: Uint8Array | undefined;
  private modelledMask(): Uint8Array {
    if (!this.mask) {
      this.mask = new Uint8Array(this.itemIds.length);
      for (const j of this.modelled) this.mask[j] = 1;
    }
    return this.mask;
  }

  get knownMovieIds(): Int32Array {
    return this.itemIds;
  }

  serialize(): Uint8Array {
    return packArtifact(this.algorithm, { params: this.params }, {
      itemIds: this.itemIds,
      prior: this.prior,
      modelled: this.modelled,
      q: this.q,
      scale: this.scale,
      indptr: this.lists.indptr,
      indices: this.lists.indices,
      weights: this.lists.weights,
      tailCols: this.tailModel.cols,
      tailIndptr: this.tailModel.indptr,
      tailInputs: this.tailModel.inputs,
      tailWeights: this.tailModel.weights,
    });
  }

  static load(bytes: Uint8Array, algorithm: 'ease' | 'ease-session' = 'ease'): EaseRecommender {
    const { meta, arrays } = unpackArtifact(bytes, algorithm);
    const m = new EaseRecommender(meta.params as Record<string, unknown>, algorithm);
    m.itemIds = arrays.itemIds as Int32Array;
    m.index = indexOf(m.itemIds);
    m.prior = arrays.prior as Float32Array;
    m.modelled = arrays.modelled as Int32Array;
    m.q = arrays.q as Int16Array;
    m.scale = arrays.scale as Float32Array;
    if (m.q.length > 0) m.useRows();
    m.local = new Int32Array(m.itemIds.length).fill(-1);
    m.modelled.forEach((j, a) => (m.local[j] = a));
    m.lists = { indptr: arrays.indptr as Int32Array, indices: arrays.indices as Int32Array, weights: arrays.weights as Float32Array };
    // Artifacts of releases before the tail have none.
    m.setTail(
      arrays.tailCols
        ? {
            cols: arrays.tailCols as Int32Array,
            indptr: arrays.tailIndptr as Int32Array,
            inputs: arrays.tailInputs as Int32Array,
            weights: arrays.tailWeights as Float32Array,
          }
        : EMPTY_TAIL,
    );
    // At load, not on the first request: it sorts every unmodelled movie of the catalogue.
    m.tail();
    return m;
  }
}

export const ease: Algorithm = {
  name: 'ease',
  description: 'EASE (Steck 2019) linear autoencoder, λ = 200, movies with ≥ 3 ratings',
  create: (params) => new EaseRecommender(params),
  load: (bytes) => EaseRecommender.load(bytes),
};

export const easeSession: Algorithm = {
  name: 'ease-session',
  description: 'EASE whose Gram also counts how close in time each user rated two movies (rating sessions)',
  create: (params) => new EaseRecommender({ ...SESSION_DEFAULTS, ...params }, 'ease-session'),
  load: (bytes) => EaseRecommender.load(bytes, 'ease-session'),
};
