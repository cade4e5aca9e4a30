/** The rating data every model and the evaluation work on, with the helpers that build and reshape it. */

/** User × item interactions in CSR form. Rows are users, columns are item indices into `itemIds`. */
export interface Interactions {
  readonly nUsers: number;
  readonly nItems: number;
  /** itemIds[j] = MovieLens movieId of column j (sorted ascending). */
  readonly itemIds: Int32Array;
  /** userIds[u] = the database users.id (or dataset userId) of row u. */
  readonly userIds: Float64Array;
  /** Row pointers, length nUsers + 1. */
  readonly indptr: Int32Array;
  /** Column indices, sorted within each row, length nnz. */
  readonly indices: Int32Array;
  /** Ratings (0.5–5), aligned with `indices`. */
  readonly ratings: Float32Array;
  /** Unix seconds, aligned with `indices` (for temporal splits). */
  readonly timestamps?: Float64Array;
}

/** Rating triplets as parallel typed arrays (the shape in which the database and CSV loaders produce them). */
export interface Triplets {
  userIds: Float64Array;
  movieIds: Int32Array;
  ratings: Float32Array;
  timestamps?: Float64Array;
}

/**
 * Builds the CSR user × item matrix from triplets: users in ascending id order, items sorted by movieId,
 * columns sorted within each row. Duplicate (user, movie) pairs keep the last one.
 */
export function buildInteractions(t: Triplets): Interactions {
  const n = t.userIds.length;
  const itemIds = Int32Array.from(new Set(t.movieIds)).sort();
  const userIds = Float64Array.from(new Set(t.userIds)).sort();
  const itemIndex = indexOf(itemIds);
  const userIndex = new Map<number, number>();
  userIds.forEach((u, i) => userIndex.set(u, i));
  const rowOf = new Int32Array(n);
  const colOf = new Int32Array(n);
  const counts = new Int32Array(userIds.length + 1);
  for (let e = 0; e < n; e++) {
    rowOf[e] = userIndex.get(t.userIds[e])!;
    colOf[e] = itemIndex.get(t.movieIds[e])!;
    counts[rowOf[e] + 1]++;
  }
  for (let u = 0; u < userIds.length; u++) counts[u + 1] += counts[u];
  // Order entries by (row, column, position) so the last duplicate wins deterministically.
  const order = Int32Array.from({ length: n }, (_, e) => e).sort((x, y) => rowOf[x] - rowOf[y] || colOf[x] - colOf[y] || x - y);
  const keep: number[] = [];
  for (let p = 0; p < n; p++) {
    const e = order[p];
    const next = p + 1 < n ? order[p + 1] : -1;
    if (next >= 0 && rowOf[next] === rowOf[e] && colOf[next] === colOf[e]) continue;
    keep.push(e);
  }
  const indptr = new Int32Array(userIds.length + 1);
  const indices = new Int32Array(keep.length);
  const ratings = new Float32Array(keep.length);
  const timestamps = t.timestamps ? new Float64Array(keep.length) : undefined;
  keep.forEach((e, p) => {
    indptr[rowOf[e] + 1]++;
    indices[p] = colOf[e];
    ratings[p] = t.ratings[e];
    if (timestamps) timestamps[p] = t.timestamps![e];
  });
  for (let u = 0; u < userIds.length; u++) indptr[u + 1] += indptr[u];
  return { nUsers: userIds.length, nItems: itemIds.length, itemIds, userIds, indptr, indices, ratings, timestamps };
}

export function indexOf(ids: ArrayLike<number>): Map<number, number> {
  const m = new Map<number, number>();
  for (let i = 0; i < ids.length; i++) m.set(ids[i], i);
  return m;
}

/** The item × user transpose (CSC of the interactions), for item-oriented algorithms. */
export function transpose(data: Interactions): { indptr: Int32Array; indices: Int32Array; ratings: Float32Array } {
  const nnz = data.indices.length;
  const indptr = new Int32Array(data.nItems + 1);
  for (let p = 0; p < nnz; p++) indptr[data.indices[p] + 1]++;
  for (let j = 0; j < data.nItems; j++) indptr[j + 1] += indptr[j];
  const fill = indptr.slice(0, data.nItems);
  const indices = new Int32Array(nnz);
  const ratings = new Float32Array(nnz);
  for (let u = 0; u < data.nUsers; u++) {
    for (let p = data.indptr[u]; p < data.indptr[u + 1]; p++) {
      const q = fill[data.indices[p]]++;
      indices[q] = u;
      ratings[q] = data.ratings[p];
    }
  }
  return { indptr, indices, ratings };
}

/** Number of ratings per item column. */
export function itemCounts(data: Interactions): Int32Array {
  const c = new Int32Array(data.nItems);
  for (let p = 0; p < data.indices.length; p++) c[data.indices[p]]++;
  return c;
}

/** A subset of rows and entries: `keep[p]` says whether entry p stays. Items keep their columns. */
export function filterEntries(data: Interactions, keep: Uint8Array): Interactions {
  let nnz = 0;
  for (let p = 0; p < keep.length; p++) nnz += keep[p];
  const indptr = new Int32Array(data.nUsers + 1);
  const indices = new Int32Array(nnz);
  const ratings = new Float32Array(nnz);
  const timestamps = data.timestamps ? new Float64Array(nnz) : undefined;
  let q = 0;
  for (let u = 0; u < data.nUsers; u++) {
    for (let p = data.indptr[u]; p < data.indptr[u + 1]; p++) {
      if (!keep[p]) continue;
      indices[q] = data.indices[p];
      ratings[q] = data.ratings[p];
      if (timestamps) timestamps[q] = data.timestamps![p];
      q++;
    }
    indptr[u + 1] = q;
  }
  return { ...data, indptr, indices, ratings, timestamps };
}
