import { topContributions, topSimilar, topSimilarAmong } from './ranking.js';
import type { Contribution, History, Recommendation, RecommendOptions } from './types.js';

/** Sparse item → item weights: for each source item, its kept neighbours (CSR), as item-knn and ease store them. */
export interface NeighborLists {
  indptr: Int32Array;
  indices: Int32Array;
  weights: Float32Array;
}

/**
 * The k-th largest of a[0..n) (1 ≤ k ≤ n), what `a.slice(0, n).sort()[n - k]` gives (kthLargestBySort, its
 * reference twin), by Hoare's selection with a median-of-three pivot: O(n) on average where the sort is
 * O(n log n). Item–item fits cut one row of up to a whole catalogue's co-rated movies per movie; at 62k movies the
 * sorts were most of item-knn's and rp3beta's fit. Reorders a[0..n) in place.
 */
export function kthLargest(a: Float64Array, n: number, k: number): number {
  const target = n - k;
  let lo = 0;
  let hi = n - 1;
  while (hi > lo) {
    const x = a[lo];
    const y = a[(lo + hi) >>> 1];
    const z = a[hi];
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    // a[lo..j] ≤ pivot ≤ a[i..hi], and everything strictly between j and i equals the pivot.
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else return a[target];
  }
  return a[target];
}

/** kthLargest's reference: a native sort of the first n values. */
export function kthLargestBySort(a: Float64Array, n: number, k: number): number {
  return a.slice(0, n).sort()[n - k];
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
      threshold = kthLargest(mags, nz, k);
      // How many entries equal to the threshold may still be kept.
      let above = 0;
      for (let t = 0; t < nz; t++) if (mags[t] > threshold) above++;
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

/**
 * `similar` of a model scored by its lists (item-knn, rp3beta): the largest positive weights of `movieId`'s row,
 * ranked by topSimilarAmong over the row's entries only, where similarByDenseRow (its reference,
 * test/models/rp3beta.test.ts) spreads the row over an array of the whole catalogue (500 KB a call at 62k movies).
 */
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
  const { indptr, indices, weights } = lists;
  const row = (a: Int32Array | Float32Array) => a.subarray(indptr[col], indptr[col + 1]);
  return topSimilarAmong(itemIds, row(indices), row(weights), movieId, n, options);
}

/** similarByLists' reference: the row spread over every movie, then topSimilar. */
export function similarByDenseRow(
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
