import { CholeskyDecomposition, Matrix } from 'ml-matrix';
import { kthLargest } from './neighbors.js';
import type { Interactions } from '../data/interactions.js';

/**
 * EASE's tail: the movies with enough ratings to learn from that lie beyond EASE's modelled set (its cap keeps the
 * m² memory and m³ fit bounded). Each is scored as EASE scores a modelled movie, by a ridge regression with the
 * same λ of its column on modelled movies (EASE's column b is that regression on every other modelled movie), but
 * on its `inputs` most co-rated modelled movies only: a k × k solve per tail movie instead of a column of the
 * m × m inverse. Its score is on EASE's scale, a prediction of "the user rated it", so the two rank together.
 */
export interface EaseTail {
  /** The model's columns of the tail movies. */
  cols: Int32Array;
  /** CSR by tail movie: its inputs (indices of modelled movies, ascending) and their weights. */
  indptr: Int32Array;
  inputs: Int32Array;
  weights: Float32Array;
}

/** The tail by input: for each modelled movie, the tail movies it is an input of (indices into `cols`). */
export interface TailByInput {
  indptr: Int32Array;
  tails: Int32Array;
  weights: Float32Array;
}

export const EMPTY_TAIL: EaseTail = { cols: new Int32Array(0), indptr: new Int32Array(1), inputs: new Int32Array(0), weights: new Float32Array(0) };

export interface TailFitOptions {
  /** Modelled movies of the model's columns (local[j] = the modelled index of column j, −1 when not modelled). */
  local: Int32Array;
  /** The modelled movies' Gram with λ on its diagonal, lower triangle, row-major m × m. */
  gram: Float32Array;
  m: number;
  /** Tail movies: the columns not modelled with at least this many training ratings. */
  minRatings: number;
  counts: ArrayLike<number>;
  /** Inputs per tail movie (its most co-rated modelled movies). */
  inputs: number;
  /** Tail movies per modelled movie: each keeps its largest |weights| in the regressions (0: no cap). */
  fanOut: number;
  /** The weight of one user's pair of ratings (i, j) at positions p and q: 1 in plain EASE. */
  pairWeight?: (p: number, q: number) => number;
}

/**
 * Fits the tail. The cross Gram of a tail movie (Σ over its raters of the pair weight with each modelled movie they
 * rated) is gathered from its raters' rows, its `inputs` largest entries are kept (ties: the lower index), and
 * (G_SS + λI) b = g_S is solved with ml-matrix's Cholesky decomposition.
 */
export function fitEaseTail(data: Interactions, o: TailFitOptions): EaseTail {
  const { local, gram, m, inputs: k } = o;
  const tailOf = new Int32Array(data.nItems).fill(-1);
  const cols: number[] = [];
  for (let j = 0; j < data.nItems; j++)
    if (local[j] < 0 && o.counts[j] >= o.minRatings && o.counts[j] > 0) {
      tailOf[j] = cols.length;
      cols.push(j);
    }
  if (cols.length === 0 || k <= 0 || m === 0) return EMPTY_TAIL;
  const nTail = cols.length;

  // The tail movies' ratings by movie: their positions and users.
  const start = new Int32Array(nTail + 1);
  for (let p = 0; p < data.indices.length; p++) {
    const t = tailOf[data.indices[p]];
    if (t >= 0) start[t + 1]++;
  }
  for (let t = 0; t < nTail; t++) start[t + 1] += start[t];
  const fill = start.slice(0, nTail);
  const positions = new Int32Array(start[nTail]);
  const users = new Int32Array(start[nTail]);
  for (let u = 0; u < data.nUsers; u++)
    for (let p = data.indptr[u]; p < data.indptr[u + 1]; p++) {
      const t = tailOf[data.indices[p]];
      if (t < 0) continue;
      positions[fill[t]] = p;
      users[fill[t]++] = u;
    }

  const cross = new Float64Array(m);
  const touched = new Int32Array(m);
  const scratch = new Float64Array(m);
  const indptr = new Int32Array(nTail + 1);
  const outInputs: Int32Array[] = [];
  const outWeights: Float32Array[] = [];
  let total = 0;
  for (let t = 0; t < nTail; t++) {
    let nTouched = 0;
    for (let r = start[t]; r < start[t + 1]; r++) {
      const p = positions[r];
      const u = users[r];
      for (let q = data.indptr[u]; q < data.indptr[u + 1]; q++) {
        const a = local[data.indices[q]];
        if (a < 0) continue;
        if (cross[a] === 0) touched[nTouched++] = a;
        cross[a] += o.pairWeight ? o.pairWeight(p, q) : 1;
      }
    }
    const chosen = largest(cross, touched, nTouched, k, scratch);
    const b = solveRidge(gram, m, chosen, (a) => cross[a]);
    for (let s = 0; s < nTouched; s++) cross[touched[s]] = 0;
    outInputs.push(chosen);
    outWeights.push(b);
    total += chosen.length;
    indptr[t + 1] = total;
  }
  const inputs = new Int32Array(total);
  const weights = new Float32Array(total);
  for (let t = 0; t < nTail; t++) {
    inputs.set(outInputs[t], indptr[t]);
    weights.set(outWeights[t], indptr[t]);
  }
  const tail = { cols: Int32Array.from(cols), indptr, inputs, weights };
  return o.fanOut > 0 ? capFanOut(tail, m, o.fanOut) : tail;
}

/**
 * Keeps, for each modelled movie, its `fanOut` largest |weights| in the tail's regressions (ties: the lower tail
 * index). Without it a movie rated by most users is an input of most tail movies, and a history of popular movies
 * reaches the whole tail (at ML-25M's catalogue, 5–6 ms per history instead of 0.2).
 */
function capFanOut(tail: EaseTail, m: number, fanOut: number): EaseTail {
  const n = tail.inputs.length;
  const start = new Int32Array(m + 1);
  for (let p = 0; p < n; p++) start[tail.inputs[p] + 1]++;
  for (let a = 0; a < m; a++) start[a + 1] += start[a];
  const fill = start.slice(0, m);
  const byInput = new Int32Array(n);
  for (let p = 0; p < n; p++) byInput[fill[tail.inputs[p]]++] = p;
  const keep = new Uint8Array(n).fill(1);
  const mags = new Float64Array(n);
  for (let a = 0; a < m; a++) {
    const len = start[a + 1] - start[a];
    if (len <= fanOut) continue;
    for (let i = 0; i < len; i++) mags[i] = Math.abs(tail.weights[byInput[start[a] + i]]);
    const threshold = kthLargest(mags, len, fanOut);
    let above = 0;
    for (let i = start[a]; i < start[a + 1]; i++) if (Math.abs(tail.weights[byInput[i]]) > threshold) above++;
    // Positions ascend with the tail index within a list, so the ties kept are the lower tail indices.
    let atThreshold = fanOut - above;
    for (let i = start[a]; i < start[a + 1]; i++) {
      const w = Math.abs(tail.weights[byInput[i]]);
      if (w < threshold || (w === threshold && atThreshold-- <= 0)) keep[byInput[i]] = 0;
    }
  }
  const indptr = new Int32Array(tail.indptr.length);
  const inputs: number[] = [];
  const weights: number[] = [];
  for (let t = 0; t + 1 < tail.indptr.length; t++) {
    for (let p = tail.indptr[t]; p < tail.indptr[t + 1]; p++)
      if (keep[p]) {
        inputs.push(tail.inputs[p]);
        weights.push(tail.weights[p]);
      }
    indptr[t + 1] = inputs.length;
  }
  return { cols: tail.cols, indptr, inputs: Int32Array.from(inputs), weights: Float32Array.from(weights) };
}

/**
 * The `k` touched indices of largest `cross` (ties at the cut: the lower indices), ascending. The cut is found by
 * selection (kthLargest) and only the kept indices are sorted: sorting every touched index (up to every modelled
 * movie) per tail movie was most of the tail's fit.
 */
function largest(cross: Float64Array, touched: Int32Array, n: number, k: number, scratch: Float64Array): Int32Array {
  if (n <= k) return touched.slice(0, n).sort();
  for (let s = 0; s < n; s++) scratch[s] = cross[touched[s]];
  const threshold = kthLargest(scratch, n, k);
  const out = new Int32Array(k);
  const ties: number[] = [];
  let o = 0;
  for (let s = 0; s < n; s++) {
    const a = touched[s];
    if (cross[a] > threshold) out[o++] = a;
    else if (cross[a] === threshold) ties.push(a);
  }
  ties.sort((x, y) => x - y);
  for (let i = 0; o < k; i++) out[o++] = ties[i];
  return out.sort();
}

/** b solving (G_SS + λI) b = g_S over the chosen modelled movies (G's lower triangle holds λ on its diagonal). */
function solveRidge(gram: Float32Array, m: number, chosen: Int32Array, rhs: (a: number) => number): Float32Array {
  const k = chosen.length;
  const a = new Matrix(k, k);
  const y = new Matrix(k, 1);
  for (let s = 0; s < k; s++) {
    const ra = chosen[s];
    for (let t = 0; t <= s; t++) {
      const v = gram[ra * m + chosen[t]];
      a.set(s, t, v);
      a.set(t, s, v);
    }
    y.set(s, 0, rhs(ra));
  }
  const x = new CholeskyDecomposition(a).solve(y);
  return Float32Array.from({ length: k }, (_, s) => x.get(s, 0));
}

/** The tail indexed by input, for scoring a history (each of its modelled movies adds its weights). */
export function tailByInput(tail: EaseTail, m: number): TailByInput {
  const indptr = new Int32Array(m + 1);
  for (let p = 0; p < tail.inputs.length; p++) indptr[tail.inputs[p] + 1]++;
  for (let a = 0; a < m; a++) indptr[a + 1] += indptr[a];
  const fill = indptr.slice(0, m);
  const tails = new Int32Array(tail.inputs.length);
  const weights = new Float32Array(tail.inputs.length);
  for (let t = 0; t + 1 < tail.indptr.length; t++)
    for (let p = tail.indptr[t]; p < tail.indptr[t + 1]; p++) {
      const q = fill[tail.inputs[p]]++;
      tails[q] = t;
      weights[q] = tail.weights[p];
    }
  return { indptr, tails, weights };
}

/** The weight of modelled movie `a` in tail movie `t`'s regression (0 when it is not one of its inputs). */
export function tailWeight(tail: EaseTail, t: number, a: number): number {
  for (let p = tail.indptr[t]; p < tail.indptr[t + 1]; p++) if (tail.inputs[p] === a) return tail.weights[p];
  return 0;
}
