import { topContributions, topSimilar } from './ranking.js';
import type { Contribution, History, Recommendation, RecommendOptions } from './types.js';

/** Sparse item → item weights: for each source item, its kept neighbours (CSR), as item-knn and ease store them. */
export interface NeighborLists {
  indptr: Int32Array;
  indices: Int32Array;
  weights: Float32Array;
}

/**
 * Keeps, per row, the `k` entries of largest |weight| (all non-zero ones when k ≤ 0), in column order.
 * `rowOf(i, out)` fills a dense row into `out`. Ties at the cut keep the lower columns.
 */
export function sparsifyRows(nRows: number, nCols: number, k: number, rowOf: (i: number, out: Float64Array) => void): NeighborLists {
  const row = new Float64Array(nCols);
  const mags = new Float64Array(nCols);
  const indptr = new Int32Array(nRows + 1);
  const idx: Int32Array[] = [];
  const wts: Float32Array[] = [];
  let total = 0;
  for (let i = 0; i < nRows; i++) {
    row.fill(0);
    rowOf(i, row);
    let nz = 0;
    for (let j = 0; j < nCols; j++) if (row[j] !== 0) mags[nz++] = Math.abs(row[j]);
    let threshold = 0;
    let atThreshold = Infinity;
    if (k > 0 && nz > k) {
      const sorted = mags.subarray(0, nz).sort();
      threshold = sorted[nz - k];
      // How many entries equal to the threshold may still be kept.
      let above = 0;
      for (let t = nz - 1; t >= 0 && sorted[t] > threshold; t--) above++;
      atThreshold = k - above;
    }
    const keepIdx: number[] = [];
    const keepW: number[] = [];
    for (let j = 0; j < nCols; j++) {
      const w = row[j];
      if (w === 0) continue;
      const m = Math.abs(w);
      if (m < threshold) continue;
      if (m === threshold && k > 0 && nz > k) {
        if (atThreshold <= 0) continue;
        atThreshold--;
      }
      keepIdx.push(j);
      keepW.push(w);
    }
    idx.push(Int32Array.from(keepIdx));
    wts.push(Float32Array.from(keepW));
    total += keepIdx.length;
    indptr[i + 1] = total;
  }
  const indices = new Int32Array(total);
  const weights = new Float32Array(total);
  for (let i = 0; i < nRows; i++) {
    indices.set(idx[i], indptr[i]);
    weights.set(wts[i], indptr[i]);
  }
  return { indptr, indices, weights };
}

/** scores[j] += Σ_{i in rows} weight(i, j) · (x ?? 1). */
export function accumulate(lists: NeighborLists, rows: ArrayLike<number>, scores: Float64Array, x?: ArrayLike<number>): void {
  const { indptr, indices, weights } = lists;
  for (let r = 0; r < rows.length; r++) {
    const i = rows[r];
    const f = x ? x[r] : 1;
    for (let p = indptr[i]; p < indptr[i + 1]; p++) scores[indices[p]] += f * weights[p];
  }
}

/** weight(i, j) of the lists (0 when j is not among row i's neighbours). */
export function weightOf(lists: NeighborLists, i: number, j: number): number {
  const { indptr, indices, weights } = lists;
  for (let p = indptr[i]; p < indptr[i + 1]; p++) if (indices[p] === j) return weights[p];
  return 0;
}

/** `similar` of a model scored by its lists (item-knn, rp3beta): the largest weights of `movieId`'s row. */
export function similarByLists(
  lists: NeighborLists,
  index: ReadonlyMap<number, number>,
  itemIds: Int32Array,
  movieId: number,
  n: number,
  options?: RecommendOptions,
): Recommendation[] | undefined {
  const col = index.get(movieId);
  if (col === undefined) return undefined;
  const weights = new Float64Array(itemIds.length);
  accumulate(lists, [col], weights);
  return topSimilar(itemIds, weights, movieId, n, options);
}

/** `explain` of a model scored by its lists: the history movies whose weights to each movie add the most. */
export function explainByLists(
  lists: NeighborLists,
  index: ReadonlyMap<number, number>,
  itemIds: Int32Array,
  history: History,
  movieIds: readonly number[],
  k: number,
): Contribution[][] {
  return topContributions(index, itemIds, history, movieIds, k, (h, c) => weightOf(lists, h, c));
}
