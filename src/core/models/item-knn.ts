import { withDefaults } from './params.js';
import { packArtifact, unpackArtifact } from './artifact.js';
import { indexOf, itemCounts, transpose } from '../data/interactions.js';
import { accumulate, explainByLists, similarByLists, sparsifyRows, type NeighborLists } from './neighbors.js';
import { historyColumns, popularityPrior, topN } from './ranking.js';
import type { Algorithm, Contribution, History, Recommendation, RecommendOptions, Recommender } from './types.js';
import type { Interactions } from '../data/interactions.js';

export type ItemKnnParams = {
  /** Neighbours kept per item (largest cosine first); 0 keeps every co-rated item. */
  neighbors: number;
  /**
   * Shrinkage: similarity = co-raters / (√(nᵢ·nⱼ) + shrink), damping pairs that rest on a handful of raters
   * (plain cosine lets a movie with one or two raters look very similar to anything they rated). 50 was
   * chosen from {0, 10, 50} on ml-latest-small and its 2010+ ratings under splits user and item; it helped in
   * all four (plain cosine lost to popular on the 2010+ ratings) — see docs/benchmarks/quality.md.
   */
  shrink: number;
};

const DEFAULTS: ItemKnnParams = { neighbors: 200, shrink: 50 };

/**
 * Item–item collaborative filtering: cosine similarity of the items' binary user vectors (who rated it), a
 * movie scored by the sum of its similarities to the history. Similarities come from co-occurrence counts
 * (one pass over each item's raters), so the cost is Σ_users |ratings|², never items².
 */
export class ItemKnnRecommender implements Recommender {
  readonly algorithm = 'item-knn';
  readonly params: ItemKnnParams;
  private itemIds: Int32Array = new Int32Array(0);
  private index = new Map<number, number>();
  private prior: Float32Array = new Float32Array(0);
  private lists: NeighborLists = { indptr: new Int32Array(1), indices: new Int32Array(0), weights: new Float32Array(0) };

  constructor(params: Record<string, unknown> = {}) {
    this.params = withDefaults(DEFAULTS, params);
  }

  async fit(data: Interactions): Promise<void> {
    this.itemIds = data.itemIds.slice();
    this.index = indexOf(this.itemIds);
    const counts = itemCounts(data);
    this.prior = popularityPrior(counts);
    const byItem = transpose(data);
    const norms = Float64Array.from(counts, (c) => Math.sqrt(c));
    this.lists = sparsifyRows(data.nItems, data.nItems, this.params.neighbors, (i, row) => {
      for (let p = byItem.indptr[i]; p < byItem.indptr[i + 1]; p++) {
        const u = byItem.indices[p];
        for (let q = data.indptr[u]; q < data.indptr[u + 1]; q++) row[data.indices[q]] += 1;
      }
      row[i] = 0;
      const ni = norms[i];
      const shrink = this.params.shrink;
      for (let j = 0; j < row.length; j++) if (row[j] !== 0) row[j] /= ni * norms[j] + shrink;
    });
  }

  recommend(history: History, n: number, options?: RecommendOptions): Recommendation[] {
    const scores = new Float64Array(this.itemIds.length);
    accumulate(this.lists, historyColumns(this.index, history).cols, scores);
    for (let j = 0; j < scores.length; j++) scores[j] += 1e-6 * this.prior[j];
    return topN(this.itemIds, scores, n, history, options);
  }

  similar(movieId: number, n: number, options?: RecommendOptions): Recommendation[] | undefined {
    return similarByLists(this.lists, this.index, this.itemIds, movieId, n, options);
  }

  explain(history: History, movieIds: readonly number[], k: number): Contribution[][] {
    return explainByLists(this.lists, this.index, this.itemIds, history, movieIds, k);
  }

  get knownMovieIds(): Int32Array {
    return this.itemIds;
  }

  serialize(): Uint8Array {
    return packArtifact(this.algorithm, { params: this.params }, {
      itemIds: this.itemIds,
      prior: this.prior,
      indptr: this.lists.indptr,
      indices: this.lists.indices,
      weights: this.lists.weights,
    });
  }

  static load(bytes: Uint8Array): ItemKnnRecommender {
    const { meta, arrays } = unpackArtifact(bytes, 'item-knn');
    const m = new ItemKnnRecommender(meta.params);
    m.itemIds = arrays.itemIds as Int32Array;
    m.index = indexOf(m.itemIds);
    m.prior = arrays.prior as Float32Array;
    m.lists = { indptr: arrays.indptr as Int32Array, indices: arrays.indices as Int32Array, weights: arrays.weights as Float32Array };
    return m;
  }
}

export const itemKnn: Algorithm = {
  name: 'item-knn',
  description: 'item–item cosine similarity on who rated what, top neighbours per movie',
  create: (params) => new ItemKnnRecommender(params),
  load: (bytes) => ItemKnnRecommender.load(bytes),
};
