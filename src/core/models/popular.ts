import { packArtifact, unpackArtifact } from './artifact.js';
import { itemCounts } from '../data/interactions.js';
import { topN } from './ranking.js';
import type { Algorithm, History, Recommendation, RecommendOptions, Recommender } from './types.js';
import type { Interactions } from '../data/interactions.js';

/** Most rated first: the baseline every other model must beat, and the server's fallback. */
export class PopularRecommender implements Recommender {
  readonly algorithm = 'popular';
  readonly params: Readonly<Record<string, unknown>> = {};
  private itemIds: Int32Array = new Int32Array(0);
  private counts: Float32Array = new Float32Array(0);

  async fit(data: Interactions): Promise<void> {
    this.itemIds = data.itemIds.slice();
    this.counts = Float32Array.from(itemCounts(data));
  }

  recommend(history: History, n: number, options?: RecommendOptions): Recommendation[] {
    return topN(this.itemIds, this.counts, n, history, options);
  }

  get knownMovieIds(): Int32Array {
    return this.itemIds;
  }

  serialize(): Uint8Array {
    return packArtifact(this.algorithm, {}, { itemIds: this.itemIds, counts: this.counts });
  }

  /** A fitted model straight from per-movie rating counts (the server's fallback reads these with one query). */
  static fromCounts(movieIds: Int32Array, counts: Float32Array): PopularRecommender {
    const order = Array.from(movieIds.keys()).sort((a, b) => movieIds[a] - movieIds[b]);
    const m = new PopularRecommender();
    m.itemIds = Int32Array.from(order, (i) => movieIds[i]);
    m.counts = Float32Array.from(order, (i) => counts[i]);
    return m;
  }

  static load(bytes: Uint8Array): PopularRecommender {
    const { arrays } = unpackArtifact(bytes, 'popular');
    const m = new PopularRecommender();
    m.itemIds = arrays.itemIds as Int32Array;
    m.counts = arrays.counts as Float32Array;
    return m;
  }
}

export const popular: Algorithm = {
  name: 'popular',
  description: 'most rated movies first (baseline and fallback)',
  create: () => new PopularRecommender(),
  load: (bytes) => PopularRecommender.load(bytes),
};

