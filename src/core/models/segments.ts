import { withDefaults } from './params.js';
import { kmeans } from 'ml-kmeans';
import KNN from 'ml-knn';
import { genreProfile } from '../features/genre-profile.js';
import { GENRES } from '../features/genres.js';
import { Rng } from '../data/random.js';
import { packArtifact, unpackArtifact } from './artifact.js';
import { indexOf, itemCounts } from '../data/interactions.js';
import { popularityPrior, topN } from './ranking.js';
import type { Algorithm, Catalogue, History, Recommendation, RecommendOptions, Recommender } from './types.js';
import type { Interactions } from '../data/interactions.js';

export type SegmentsParams = {
  /** Number of k-means clusters. */
  clusters: number;
  /** Neighbours that vote on a new history's segment. */
  neighbors: number;
  /** At most this many users are kept as the k-NN reference set (a sample, for a bounded artifact). */
  maxReferenceUsers: number;
  seed: number;
};

const DEFAULTS: SegmentsParams = { clusters: 20, neighbors: 10, maxReferenceUsers: 5000, seed: 42 };

/**
 * The seed's idea done properly: users' genre profiles (features/genre-profile.ts) are clustered with ml-kmeans;
 * a history — known or brand new — is placed in a segment by ml-knn over the users' profiles; the segment's
 * most rated movies are recommended (global popularity breaks ties).
 */
export class SegmentsRecommender implements Recommender {
  readonly algorithm = 'segments';
  readonly params: SegmentsParams;
  private itemIds: Int32Array = new Int32Array(0);
  private index = new Map<number, number>();
  /** clusters × items rating counts, row-major. */
  private segmentCounts: Float32Array = new Float32Array(0);
  private prior: Float32Array = new Float32Array(0);
  /** itemGenres[j] = bit mask over GENRES. */
  private itemGenres: Uint32Array = new Uint32Array(0);
  private refVectors: Float32Array = new Float32Array(0);
  private refLabels: Int32Array = new Int32Array(0);
  private knn: KNN | undefined;

  constructor(params: Record<string, unknown> = {}) {
    this.params = withDefaults(DEFAULTS, params);
  }

  async fit(data: Interactions, catalogue: Catalogue): Promise<void> {
    const { clusters, seed } = this.params;
    this.itemIds = data.itemIds.slice();
    this.index = indexOf(this.itemIds);
    this.itemGenres = new Uint32Array(data.nItems);
    for (let j = 0; j < data.nItems; j++) this.itemGenres[j] = genreMask(catalogue.genres.get(data.itemIds[j]) ?? []);
    this.prior = popularityPrior(itemCounts(data));

    const users: number[] = [];
    const vectors: number[][] = [];
    for (let u = 0; u < data.nUsers; u++) {
      const start = data.indptr[u];
      const end = data.indptr[u + 1];
      if (end === start) continue;
      users.push(u);
      vectors.push(Array.from(this.profile(data.indices.subarray(start, end), data.ratings.subarray(start, end))));
    }
    const k = Math.max(1, Math.min(clusters, vectors.length));
    this.segmentCounts = new Float32Array(k * data.nItems);
    if (vectors.length === 0) {
      this.refVectors = new Float32Array(0);
      this.refLabels = new Int32Array(0);
      this.knn = undefined;
      return;
    }
    const result = kmeans(vectors, k, { seed, initialization: 'kmeans++', maxIterations: 100 });
    users.forEach((u, i) => {
      const c = result.clusters[i];
      for (let p = data.indptr[u]; p < data.indptr[u + 1]; p++) this.segmentCounts[c * data.nItems + data.indices[p]]++;
    });
    // The k-NN reference set: every user, or a seeded sample when there are very many.
    let chosen = users.map((_, i) => i);
    if (chosen.length > this.params.maxReferenceUsers) {
      const rng = new Rng(seed, 'segments-reference');
      for (let i = chosen.length - 1; i > 0; i--) {
        const r = rng.int(i + 1);
        [chosen[i], chosen[r]] = [chosen[r], chosen[i]];
      }
      chosen = chosen.slice(0, this.params.maxReferenceUsers).sort((a, b) => a - b);
    }
    const dim = GENRES.length;
    this.refVectors = new Float32Array(chosen.length * dim);
    this.refLabels = new Int32Array(chosen.length);
    chosen.forEach((i, r) => {
      this.refVectors.set(vectors[i], r * dim);
      this.refLabels[r] = result.clusters[i];
    });
    this.knn = this.buildKnn();
  }

  private buildKnn(): KNN | undefined {
    const dim = GENRES.length;
    const n = this.refLabels.length;
    if (n === 0) return undefined;
    const points: number[][] = [];
    for (let r = 0; r < n; r++) points.push(Array.from(this.refVectors.subarray(r * dim, (r + 1) * dim)));
    return new KNN(points, Array.from(this.refLabels), { k: Math.min(this.params.neighbors, n) });
  }

  private profile(cols: ArrayLike<number>, ratings: ArrayLike<number>): Float32Array {
    const items: { genres: readonly string[]; rating: number }[] = [];
    for (let i = 0; i < cols.length; i++) items.push({ genres: maskGenres(this.itemGenres[cols[i]]), rating: ratings[i] });
    return genreProfile(items);
  }

  /** The segment a history falls in (−1 when nothing of it is known). */
  segmentOf(history: History): number {
    const cols: number[] = [];
    const ratings: number[] = [];
    for (let i = 0; i < history.movieIds.length; i++) {
      const c = this.index.get(Number(history.movieIds[i]));
      if (c === undefined) continue;
      cols.push(c);
      ratings.push(history.ratings ? Number(history.ratings[i]) : 4);
    }
    if (cols.length === 0 || !this.knn) return -1;
    return this.knn.predict(Array.from(this.profile(cols, ratings)));
  }

  recommend(history: History, n: number, options?: RecommendOptions): Recommendation[] {
    const nItems = this.itemIds.length;
    const segment = this.segmentOf(history);
    const scores = new Float32Array(nItems);
    if (segment >= 0) {
      const row = this.segmentCounts.subarray(segment * nItems, (segment + 1) * nItems);
      for (let j = 0; j < nItems; j++) scores[j] = row[j] + 0.5 * this.prior[j];
    } else {
      scores.set(this.prior);
    }
    return topN(this.itemIds, scores, n, history, options);
  }

  get knownMovieIds(): Int32Array {
    return this.itemIds;
  }

  serialize(): Uint8Array {
    return packArtifact(this.algorithm, { params: this.params }, {
      itemIds: this.itemIds,
      itemGenres: this.itemGenres,
      segmentCounts: this.segmentCounts,
      prior: this.prior,
      refVectors: this.refVectors,
      refLabels: this.refLabels,
    });
  }

  static load(bytes: Uint8Array): SegmentsRecommender {
    const { meta, arrays } = unpackArtifact(bytes, 'segments');
    const m = new SegmentsRecommender(meta.params);
    m.itemIds = arrays.itemIds as Int32Array;
    m.index = indexOf(m.itemIds);
    m.itemGenres = arrays.itemGenres as Uint32Array;
    m.segmentCounts = arrays.segmentCounts as Float32Array;
    m.prior = arrays.prior as Float32Array;
    m.refVectors = arrays.refVectors as Float32Array;
    m.refLabels = arrays.refLabels as Int32Array;
    m.knn = m.buildKnn();
    return m;
  }
}

function genreMask(genres: readonly string[]): number {
  let mask = 0;
  for (const g of genres) {
    const k = (GENRES as readonly string[]).indexOf(g);
    if (k >= 0) mask |= 1 << k;
  }
  return mask >>> 0;
}

const MASK_CACHE = new Map<number, string[]>();
function maskGenres(mask: number): string[] {
  let g = MASK_CACHE.get(mask);
  if (!g) {
    g = GENRES.filter((_, k) => (mask >>> k) & 1);
    MASK_CACHE.set(mask, g);
  }
  return g;
}

export const segments: Algorithm = {
  name: 'segments',
  description: 'k-means segments of genre profiles, a new history placed by k-NN, segment popularity',
  create: (params) => new SegmentsRecommender(params),
  load: (bytes) => SegmentsRecommender.load(bytes),
};
