import { withDefaults } from './params.js';
import { packArtifact, unpackArtifact } from './artifact.js';
import { indexOf, itemCounts } from './interactions.js';
import { invertSpdInPlace } from './linalg/spd-inverse.js';
import { accumulate, sparsifyRows, type NeighborLists } from './neighbors.js';
import { historyColumns, popularityPrior, topN } from './ranking.js';
import type { Algorithm, History, Interactions, Recommendation, RecommendOptions, Recommender } from './types.js';

export type EaseParams = {
  /** L2 regularisation λ added to the Gram diagonal (Steck 2019). */
  lambda: number;
  /** Only movies with at least this many training ratings are modelled; the rest rank by popularity below. */
  minRatings: number;
  /** At most this many modelled movies (the most rated), so the items² memory and items³ time stay bounded. */
  maxItems: number;
  /** Weights kept per movie row (largest |B|), for a compact artifact; 0 keeps the dense matrix. */
  neighbors: number;
};

const DEFAULTS: EaseParams = { lambda: 200, minRatings: 3, maxItems: 6000, neighbors: 1000 };

/**
 * EASE (Steck 2019, "Embarrassingly Shallow Autoencoders"): B = I − P·diag(1/diag P) with P = (XᵀX + λI)⁻¹
 * on the binary user × movie matrix, zero diagonal; a movie's score is the sum of its weights from the
 * history. The inverse uses the Cholesky kernel of linalg/spd-inverse.ts.
 */
export class EaseRecommender implements Recommender {
  readonly algorithm = 'ease';
  readonly params: EaseParams;
  private itemIds: Int32Array = new Int32Array(0);
  private index = new Map<number, number>();
  private prior: Float32Array = new Float32Array(0);
  /** Columns of the model's items that EASE models (others are ranked by popularity). */
  private modelled: Int32Array = new Int32Array(0);
  private lists: NeighborLists = { indptr: new Int32Array(1), indices: new Int32Array(0), weights: new Float32Array(0) };

  constructor(params: Record<string, unknown> = {}) {
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
    for (let a = 0; a < m; a++) g[a * m + a] += lambda;
    invertSpdInPlace(g, m);
    const diag = new Float64Array(m);
    for (let a = 0; a < m; a++) diag[a] = g[a * m + a];
    // B[a][b] = −P[a][b] / P[b][b], zero diagonal; rows kept sparse in the model's column space.
    this.lists = sparsifyRows(data.nItems, data.nItems, neighbors, (i, out) => {
      const a = local[i];
      if (a < 0) return;
      const ra = a * m;
      for (let b = 0; b < m; b++) if (b !== a) out[chosen[b]] = -g[ra + b] / diag[b];
    });
  }

  recommend(history: History, n: number, options?: RecommendOptions): Recommendation[] {
    const nItems = this.itemIds.length;
    const scores = new Float64Array(nItems);
    accumulate(this.lists, historyColumns(this.index, history).cols, scores);
    // Unmodelled movies rank below every modelled one, by popularity.
    const isModelled = this.modelledMask();
    for (let j = 0; j < nItems; j++) scores[j] = isModelled[j] ? scores[j] + 1e-6 * this.prior[j] : -1e3 + this.prior[j];
    return topN(this.itemIds, scores, n, history, options);
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
      indptr: this.lists.indptr,
      indices: this.lists.indices,
      weights: this.lists.weights,
    });
  }

  static load(bytes: Uint8Array): EaseRecommender {
    const { meta, arrays } = unpackArtifact(bytes, 'ease');
    const m = new EaseRecommender(meta.params);
    m.itemIds = arrays.itemIds as Int32Array;
    m.index = indexOf(m.itemIds);
    m.prior = arrays.prior as Float32Array;
    m.modelled = arrays.modelled as Int32Array;
    m.lists = { indptr: arrays.indptr as Int32Array, indices: arrays.indices as Int32Array, weights: arrays.weights as Float32Array };
    return m;
  }
}

export const ease: Algorithm = {
  name: 'ease',
  description: 'EASE (Steck 2019) linear autoencoder, λ = 200, movies with ≥ 3 ratings',
  create: (params) => new EaseRecommender(params),
  load: (bytes) => EaseRecommender.load(bytes),
};
