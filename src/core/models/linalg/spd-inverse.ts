/**
 * In-place inverse of a symmetric positive definite matrix (row-major n×n Float64Array), by Cholesky:
 * G = L·Lᵀ, X = L⁻¹, G⁻¹ = Xᵀ·X. Hand-written because ml-matrix's general inverse (LU on arrays of arrays)
 * is far too slow for the 4–5k × 4–5k Gram matrix of EASE (bench/quality.ts measures both). Each stage works
 * on four rows (or columns) at once, so a row read from memory serves four dot products or axpys: the
 * plain one-row loops are bound by memory bandwidth on large matrices (docs/benchmarks/quality.md).
 * Memory: the one n×n buffer plus four rows; the result replaces the input (both triangles filled).
 */
export function invertSpdInPlace(a: Float64Array, n: number, onProgress?: (fraction: number) => void): void {
  if (a.length < n * n) throw new Error('matrix buffer too small');
  const report = (stage: number) => (onProgress ? (f: number) => onProgress((stage + f) / 3) : undefined);
  cholesky(a, n, report(0));
  invertLower(a, n, report(1));
  // Transpose X = L⁻¹ into the upper triangle (Y = Xᵀ, row-major), so that the product reads rows.
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    for (let j = 0; j < i; j++) a[j * n + i] = a[ri + j];
  }
  gramOfUpper(a, n, report(2));
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    for (let j = 0; j < i; j++) a[ri + j] = a[j * n + i];
  }
}

function dot(a: Float64Array, i0: number, j0: number, len: number): number {
  let s0 = 0;
  let s1 = 0;
  let k = 0;
  for (; k < len - 1; k += 2) {
    s0 += a[i0 + k] * a[j0 + k];
    s1 += a[i0 + k + 1] * a[j0 + k + 1];
  }
  if (k < len) s0 += a[i0 + k] * a[j0 + k];
  return s0 + s1;
}

/** Cholesky–Banachiewicz, four rows at a time: the lower triangle of `a` becomes L. */
function cholesky(a: Float64Array, n: number, onProgress?: (f: number) => void): void {
  let i0 = 0;
  for (; i0 + 4 <= n; i0 += 4) {
    const r0 = i0 * n;
    const r1 = r0 + n;
    const r2 = r1 + n;
    const r3 = r2 + n;
    for (let j = 0; j < i0; j++) {
      const rj = j * n;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let k = 0; k < j; k++) {
        const x = a[rj + k];
        s0 += a[r0 + k] * x;
        s1 += a[r1 + k] * x;
        s2 += a[r2 + k] * x;
        s3 += a[r3 + k] * x;
      }
      const d = a[rj + j];
      a[r0 + j] = (a[r0 + j] - s0) / d;
      a[r1 + j] = (a[r1 + j] - s1) / d;
      a[r2 + j] = (a[r2 + j] - s2) / d;
      a[r3 + j] = (a[r3 + j] - s3) / d;
    }
    for (let i = i0; i < i0 + 4; i++) choleskyRowFrom(a, n, i, i0);
    if (onProgress && (i0 & 63) === 0) onProgress((i0 / n) ** 3);
  }
  for (let i = i0; i < n; i++) choleskyRowFrom(a, n, i, 0 + (i0 > 0 ? 0 : 0));
}

/** Finishes row i of L from column j0 on (columns before j0 are done). */
function choleskyRowFrom(a: Float64Array, n: number, i: number, j0: number): void {
  const ri = i * n;
  for (let j = j0; j <= i; j++) {
    const rj = j * n;
    const s = a[ri + j] - dot(a, ri, rj, j);
    if (i === j) {
      if (!(s > 0)) throw new Error(`matrix is not positive definite (pivot ${i})`);
      a[ri + i] = Math.sqrt(s);
    } else {
      a[ri + j] = s / a[rj + j];
    }
  }
}

/** Lower triangle L → X = L⁻¹: X[i] = (eᵢ − Σ_{k<i} L[i][k]·X[k]) / L[i][i], four rows at a time. */
function invertLower(a: Float64Array, n: number, onProgress?: (f: number) => void): void {
  const rows = [new Float64Array(n), new Float64Array(n), new Float64Array(n), new Float64Array(n)];
  const [w0, w1, w2, w3] = rows;
  for (let i0 = 0; i0 < n; i0 += 4) {
    const m = Math.min(4, n - i0);
    for (let t = 0; t < m; t++) rows[t].fill(0, 0, i0 + t + 1);
    if (m === 4) {
      const r0 = i0 * n;
      const r1 = r0 + n;
      const r2 = r1 + n;
      const r3 = r2 + n;
      for (let k = 0; k < i0; k++) {
        const c0 = a[r0 + k];
        const c1 = a[r1 + k];
        const c2 = a[r2 + k];
        const c3 = a[r3 + k];
        const rk = k * n;
        for (let t = 0; t <= k; t++) {
          const x = a[rk + t];
          w0[t] -= c0 * x;
          w1[t] -= c1 * x;
          w2[t] -= c2 * x;
          w3[t] -= c3 * x;
        }
      }
    } else {
      for (let q = 0; q < m; q++) {
        const rq = (i0 + q) * n;
        const w = rows[q];
        for (let k = 0; k < i0; k++) {
          const c = a[rq + k];
          const rk = k * n;
          for (let t = 0; t <= k; t++) w[t] -= c * a[rk + t];
        }
      }
    }
    // Rows inside the block depend on each other: in order, each on the ones just written.
    for (let q = 0; q < m; q++) {
      const i = i0 + q;
      const ri = i * n;
      const w = rows[q];
      for (let k = i0; k < i; k++) {
        const c = a[ri + k];
        const rk = k * n;
        for (let t = 0; t <= k; t++) w[t] -= c * a[rk + t];
      }
      w[i] += 1;
      const inv = 1 / a[ri + i];
      for (let t = 0; t <= i; t++) a[ri + t] = w[t] * inv;
    }
    if (onProgress && (i0 & 63) === 0) onProgress((i0 / n) ** 3);
  }
}

/**
 * Y upper-triangular (row-major) → P[r][b] = Σ_{k≥b} Y[r][k]·Y[b][k] for r ≤ b, in the upper triangle: that
 * is (XᵀX)[r][b] for X = Yᵀ. In place, four columns at a time: column b only reads Y[·][k ≥ b], and the
 * writes of row r land in columns that later dot products of row r no longer read.
 */
function gramOfUpper(a: Float64Array, n: number, onProgress?: (f: number) => void): void {
  let b0 = 0;
  for (; b0 + 4 <= n; b0 += 4) {
    const c0 = b0 * n;
    const c1 = c0 + n;
    const c2 = c1 + n;
    const c3 = c2 + n;
    for (let r = 0; r <= b0 + 3; r++) {
      const rr = r * n;
      // Column b' needs k from b'; rows r inside the block only take columns b' ≥ r.
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      if (r <= b0) {
        const y0 = a[rr + b0];
        s0 = y0 * a[c0 + b0];
        const y1 = a[rr + b0 + 1];
        s0 += y1 * a[c0 + b0 + 1];
        s1 = y1 * a[c1 + b0 + 1];
        const y2 = a[rr + b0 + 2];
        s0 += y2 * a[c0 + b0 + 2];
        s1 += y2 * a[c1 + b0 + 2];
        s2 = y2 * a[c2 + b0 + 2];
        for (let k = b0 + 3; k < n; k++) {
          const y = a[rr + k];
          s0 += y * a[c0 + k];
          s1 += y * a[c1 + k];
          s2 += y * a[c2 + k];
          s3 += y * a[c3 + k];
        }
        a[rr + b0] = s0;
        a[rr + b0 + 1] = s1;
        a[rr + b0 + 2] = s2;
        a[rr + b0 + 3] = s3;
      } else {
        const q0 = r - b0;
        const out = [0, 0, 0, 0];
        for (let q = q0; q < 4; q++) out[q] = dot(a, rr + b0 + q, (b0 + q) * n + b0 + q, n - b0 - q);
        for (let q = q0; q < 4; q++) a[rr + b0 + q] = out[q];
      }
    }
    if (onProgress && (b0 & 63) === 0) onProgress(1 - ((n - b0) / n) ** 3);
  }
  for (let b = b0; b < n; b++) {
    const rb = b * n + b;
    for (let r = 0; r <= b; r++) a[r * n + b] = dot(a, r * n + b, rb, n - b);
  }
}
