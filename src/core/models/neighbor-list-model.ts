import type { PackedArray, UnpackedArtifact } from './artifact.js';
import { indexOf } from '../data/interactions.js';
import { accumulate, explainByLists, similarByLists, type NeighborLists } from './neighbors.js';
import { historyColumns } from './ranking.js';
import type { Contribution, History, Recommendation, RecommendOptions } from './types.js';

/**
 * What the models that keep a list of weighted neighbours per movie (item-knn, rp3beta) share: the movies, their
 * popularity prior, the lists, and everything answered from the lists alone — a history's scores, similar movies,
 * explanations and the lists' part of the artifact. Each model fits its own weights and ranks its own way.
 */
export abstract class NeighborListModel {
  protected itemIds: Int32Array = new Int32Array(0);
  protected index = new Map<number, number>();
  protected prior: Float32Array = new Float32Array(0);
  protected lists: NeighborLists = { indptr: new Int32Array(1), indices: new Int32Array(0), weights: new Float32Array(0) };

  /** Each movie's sum of weights from the history's movies. */
  protected historyScores(history: History): Float64Array {
    const scores = new Float64Array(this.itemIds.length);
    accumulate(this.lists, historyColumns(this.index, history).cols, scores);
    return scores;
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

  /** The artifact arrays of the movies, the prior and the lists. */
  protected listArrays(): Record<string, PackedArray> {
    return {
      itemIds: this.itemIds,
      prior: this.prior,
      indptr: this.lists.indptr,
      indices: this.lists.indices,
      weights: this.lists.weights,
    };
  }

  /** Restores what listArrays wrote. */
  protected restoreLists(arrays: UnpackedArtifact['arrays']): void {
    this.itemIds = arrays.itemIds as Int32Array;
    this.index = indexOf(this.itemIds);
    this.prior = arrays.prior as Float32Array;
    this.lists = {
      indptr: arrays.indptr as Int32Array,
      indices: arrays.indices as Int32Array,
      weights: arrays.weights as Float32Array,
    };
  }
}
