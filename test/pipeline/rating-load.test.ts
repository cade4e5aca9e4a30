import { RatingColumns } from '../../src/core/pipeline/rating-columns.js';
import { distinctMovies, indexUsers, loadOrder } from '../../src/core/pipeline/rating-load.js';

function columns(rows: [user: number, movie: number][]): RatingColumns {
  const c = new RatingColumns();
  rows.forEach(([u, m], i) => c.push(u, m, 8, 1_600_000_000, i + 2));
  return c;
}

describe('rating load order', () => {
  // Users get their ids in the order of index.users (one INSERT … FROM unnest), so this is primary-key order.
  it('lists the rows by (user in order of first appearance, movie), every row once', () => {
    // Users interleaved, movies out of order.
    const c = columns([
      [30, 5], [10, 9], [30, 1], [20, 4], [10, 2], [30, 3], [10, 7], [20, 1],
    ]);
    const index = indexUsers(c);
    expect(index.users).toEqual([30, 10, 20]);
    const order = loadOrder(c, index);
    expect(Array.from(order, (i) => [c.user[i], c.movie[i]])).toEqual([
      [30, 1], [30, 3], [30, 5], [10, 2], [10, 7], [10, 9], [20, 1], [20, 4],
    ]);
    expect(distinctMovies(c).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 7, 9]);
  });

  it('keeps large generated files exact: a permutation, sorted by key', () => {
    const pairs: [number, number][] = [];
    for (let u = 0; u < 300; u++) for (let j = 0; j < 50; j++) pairs.push([(u * 7919) % 1000, (j * 104_729 + u) % 100_000]);
    const c = columns(pairs);
    const index = indexUsers(c);
    const order = loadOrder(c, index);
    expect(new Set(order).size).toBe(pairs.length);
    for (let k = 1; k < order.length; k++) {
      const a = order[k - 1];
      const b = order[k];
      const ua = index.rowUser[a];
      const ub = index.rowUser[b];
      expect(ua < ub || (ua === ub && c.movie[a] < c.movie[b])).toBe(true);
    }
  });
});
