import { RatingColumns } from '../../src/core/pipeline/rating-columns.js';
import { distinctMovies, indexUsers, loadOrder } from '../../src/core/pipeline/rating-load.js';

function columns(rows: [user: number, movie: number][]): RatingColumns {
  const c = new RatingColumns();
  rows.forEach(([u, m], i) => c.push(u, m, 8, 1_600_000_000, i + 2));
  return c;
}

describe('rating load order', () => {
  it('lists the picked users’ rows by (users.id, movie), every row once', () => {
    // Users interleaved, movies out of order, one user not picked.
    const c = columns([
      [30, 5], [10, 9], [30, 1], [20, 4], [10, 2], [30, 3], [10, 7], [20, 1],
    ]);
    const index = indexUsers(c);
    expect(index.users).toEqual([30, 10, 20]);
    // Internal ids: external 30 → 101, 10 → 100, 20 → 102; user 20 existed before (not picked).
    const ids = Float64Array.from([101, 100, 102]);
    const created = Uint8Array.from([1, 1, 0]);
    const order = loadOrder(c, index, ids, created, 1);
    expect(Array.from(order, (i) => [ids[index.rowUser[i]], c.movie[i]])).toEqual([
      [100, 2], [100, 7], [100, 9], [101, 1], [101, 3], [101, 5],
    ]);
    expect(Array.from(loadOrder(c, index, ids, created, 0), (i) => c.movie[i])).toEqual([1, 4]);
    expect(distinctMovies(c).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 7, 9]);
  });

  it('keeps large generated files exact: a permutation, sorted by key', () => {
    const pairs: [number, number][] = [];
    for (let u = 0; u < 300; u++) for (let j = 0; j < 50; j++) pairs.push([(u * 7919) % 1000, (j * 104_729 + u) % 100_000]);
    const c = columns(pairs);
    const index = indexUsers(c);
    const ids = Float64Array.from(index.users, (u) => 5000 - u);
    const order = loadOrder(c, index, ids, new Uint8Array(index.users.length).fill(1), 1);
    expect(new Set(order).size).toBe(pairs.length);
    for (let k = 1; k < order.length; k++) {
      const a = order[k - 1];
      const b = order[k];
      const ua = ids[index.rowUser[a]];
      const ub = ids[index.rowUser[b]];
      expect(ua < ub || (ua === ub && c.movie[a] < c.movie[b])).toBe(true);
    }
  });
});
