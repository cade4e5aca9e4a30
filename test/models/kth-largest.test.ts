import { kthLargest, kthLargestBySort, sparsifyRows } from '../../src/core/models/neighbors.js';
import { Rng } from '../../src/core/data/random.js';

/** kthLargest (selection) against its reference twin (a native sort), on random rows with many ties. */
describe('kthLargest', () => {
  const rng = new Rng(7, 'kth-largest');
  const row = (n: number, distinct: number) => Float64Array.from({ length: n }, () => rng.int(distinct) / 7);

  it('is the sort-based k-th largest for every k, on rows with and without ties', () => {
    for (const [n, distinct] of [
      [1, 1],
      [2, 1],
      [5, 2],
      [40, 3],
      [200, 1000],
      [1000, 20],
      [3000, 1_000_000],
    ]) {
      const a = row(n, distinct);
      for (const k of [1, 2, Math.ceil(n / 3), n - 1, n].filter((x) => x >= 1 && x <= n)) {
        const copy = a.slice();
        expect([n, k, kthLargest(copy, n, k)]).toEqual([n, k, kthLargestBySort(a, n, k)]);
        // The first n values are only reordered.
        expect(Array.from(copy).sort((x, y) => x - y)).toEqual(Array.from(a).sort((x, y) => x - y));
      }
    }
  });

  it('looks only at the first n values', () => {
    const a = Float64Array.from([3, 1, 2, 100, 200]);
    expect(kthLargest(a.slice(), 3, 1)).toBe(3);
    expect(kthLargest(a.slice(), 3, 3)).toBe(1);
  });

  it('sparsifyRows keeps the same neighbours as a cut by sorting would (ties to the lower columns)', () => {
    const nCols = 500;
    const rows = Array.from({ length: 30 }, () => Float64Array.from({ length: nCols }, () => (rng.int(3) ? 0 : rng.int(9) - 4)));
    const lists = sparsifyRows(rows.length, nCols, 25, (i, out) => out.set(rows[i]));
    rows.forEach((r, i) => {
      const nz = [...r.keys()].filter((j) => r[j] !== 0);
      const byMagnitude = [...nz].sort((x, y) => Math.abs(r[y]) - Math.abs(r[x]) || x - y).slice(0, 25);
      const kept = Array.from(lists.indices.subarray(lists.indptr[i], lists.indptr[i + 1]));
      expect(kept).toEqual(byMagnitude.sort((x, y) => x - y));
    });
  });
});
