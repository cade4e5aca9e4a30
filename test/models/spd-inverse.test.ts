import { Matrix, inverse } from 'ml-matrix';
import { invertSpdInPlace } from '../../src/core/models/linalg/spd-inverse.js';
import { Rng } from '../../src/core/data/random.js';

/** A Gram matrix XᵀX + λI of a random binary X, like EASE's. */
function gram(n: number, seed: number, lambda = 20): Float64Array {
  const rng = new Rng(seed, 'gram');
  const m = 2 * n;
  const x = Array.from({ length: m }, () => Array.from({ length: n }, () => (rng.next() < 0.2 ? 1 : 0)));
  const g = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let k = 0; k < m; k++) s += x[k][i] * x[k][j];
    g[i * n + j] = s + (i === j ? lambda : 0);
  }
  return g;
}

describe('invertSpdInPlace (Cholesky kernel of EASE)', () => {
  it.each([1, 2, 3, 4, 5, 7, 8, 13, 64, 67])('inverts a %i×%i SPD matrix: G·G⁻¹ = I, symmetric, equal to ml-matrix', (n) => {
    const g = gram(n, n);
    const p = g.slice();
    invertSpdInPlace(p, n);
    let err = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += g[i * n + k] * p[k * n + j];
      err = Math.max(err, Math.abs(s - (i === j ? 1 : 0)), Math.abs(p[i * n + j] - p[j * n + i]));
    }
    expect(err).toBeLessThan(1e-10);
    const ref = inverse(new Matrix(Array.from({ length: n }, (_, i) => Array.from(g.subarray(i * n, (i + 1) * n)))));
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) expect(p[i * n + j]).toBeCloseTo(ref.get(i, j), 10);
  });

  it('only reads the lower triangle and refuses a matrix that is not positive definite', () => {
    const n = 9;
    const g = gram(n, 3);
    const noisy = g.slice();
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) noisy[i * n + j] = 12345;
    const a = g.slice();
    invertSpdInPlace(a, n);
    invertSpdInPlace(noisy, n);
    expect(Array.from(noisy)).toEqual(Array.from(a));
    const bad = new Float64Array([1, 2, 2, 1]);
    expect(() => invertSpdInPlace(bad, 2)).toThrow(/not positive definite/);
  });
});
