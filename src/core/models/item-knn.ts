import { withDefaults } from './params.js';
import { packArtifact, unpackArtifact } from './artifact.js';
import { indexOf, itemCounts, transpose } from '../data/interactions.js';
import { NeighborListModel } from './neighbor-list-model.js';
import { sparsifyRows } from './neighbors.js';
import { popularityPrior, topN } from './ranking.js';
import type { Algorithm, History, Recommendation, RecommendOptions, Recommender } from './types.js';
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
export class ItemKnnRecommender extends NeighborListModel implements Recommender {
  readonly algorithm = 'item-knn';
  readonly params: ItemKnnParams;

  constructor(params: Record<string, unknown> = {}) {
    super();
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
    const scores = this.historyScores(history);
    for (let j = 0; j < scores.length; j++) scores[j] += 1e-6 * this.prior[j];
    return topN(this.itemIds, scores, n, history, options);
  }

  serialize(): Uint8Array {
    return packArtifact(this.algorithm, { params: this.params }, this.listArrays());
  }

  static load(bytes: Uint8Array): ItemKnnRecommender {
    const { meta, arrays } = unpackArtifact(bytes, 'item-knn');
    const m = new ItemKnnRecommender(meta.params);
    m.restoreLists(arrays);
    return m;
  }
}

export const itemKnn: Algorithm = {
  name: 'item-knn',
  description: 'item–item cosine similarity on who rated what, top neighbours per movie',
  create: (params) => new ItemKnnRecommender(params),
  load: (bytes) => ItemKnnRecommender.load(bytes),
};
