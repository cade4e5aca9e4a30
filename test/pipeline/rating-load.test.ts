import { MAX_UINT32, RatingColumns } from '../../src/core/pipeline/rating-columns.js';
import { float4Text } from '../../src/core/features/genre-profile.js';
import { duplicatesInOrder, indexUsers, loadOrder } from '../../src/core/pipeline/rating-load.js';

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
      [30, 5],
      [10, 9],
      [30, 1],
      [20, 4],
      [10, 2],
      [30, 3],
      [10, 7],
      [20, 1],
    ]);
    const index = indexUsers(c);
    expect(index.users).toEqual([30, 10, 20]);
    const order = loadOrder(c, index);
    expect(Array.from(order, (i) => [c.user[i], c.movie[i]])).toEqual([
      [30, 1],
      [30, 3],
      [30, 5],
      [10, 2],
      [10, 7],
      [10, 9],
      [20, 1],
      [20, 4],
    ]);
  });

  it('keeps large generated files exact: a permutation, sorted by key', () => {
    const pairs: [number, number][] = [];
    for (let u = 0; u < 300; u++)
      for (let j = 0; j < 50; j++) pairs.push([(u * 7919) % 1000, (j * 104_729 + u) % 100_000]);
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

  it('orders large movie ids (beyond the counting sort) the same way, equal pairs in file order', () => {
    const pairs: [number, number][] = [
      [5, 2 ** 30],
      [5, 3],
      [6, 2 ** 23],
      [5, 2 ** 30],
      [6, 1],
      [5, 3],
    ];
    const c = columns(pairs);
    const order = loadOrder(c, indexUsers(c));
    expect(Array.from(order)).toEqual([1, 5, 0, 3, 4, 2]);
  });
});

describe('duplicates within a file', () => {
  it('flags every row of a (user, movie) but the latest (the later line on equal timestamps), as a pairwise check does', () => {
    let seed = 3;
    const rnd = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
    const c = new RatingColumns();
    for (let i = 0; i < 5000; i++)
      c.push(1 + Math.floor(rnd() * 50), 1 + Math.floor(rnd() * 60), 8, 1_600_000_000 + Math.floor(rnd() * 3), i + 2);
    const index = indexUsers(c);
    const { loser, count } = duplicatesInOrder(c, index.rowUser, loadOrder(c, index));
    const best = new Map<string, number>();
    for (let i = 0; i < c.length; i++) {
      const k = `${c.user[i]}:${c.movie[i]}`;
      const w = best.get(k);
      if (
        w === undefined ||
        c.timestamp[i] > c.timestamp[w] ||
        (c.timestamp[i] === c.timestamp[w] && c.line[i] > c.line[w])
      )
        best.set(k, i);
    }
    const expected = new Uint8Array(c.length).fill(1);
    for (const i of best.values()) expected[i] = 0;
    expect(Array.from(loser)).toEqual(Array.from(expected));
    expect(count).toBe(c.length - best.size);
  });
});

describe('rating columns', () => {
  it('keep line numbers and timestamps exactly up to 32 bits through growth and compaction', () => {
    const c = new RatingColumns(16);
    const rows = Array.from({ length: 40 }, (_, i) => [1e12 + i, i, 1 + (i % 10), MAX_UINT32 - i, MAX_UINT32 - 2 * i]);
    for (const [u, m, h, t, l] of rows) c.push(u, m, h, t, l);
    const drop = Uint8Array.from(rows, (_, i) => i % 3);
    c.compact(drop);
    const kept = rows.filter((_, i) => i % 3 === 0);
    expect(c.length).toBe(kept.length);
    kept.forEach(([u, m, h, t, l], k) =>
      expect([c.user[k], c.movie[k], c.halfSteps[k], c.timestamp[k], c.line[k]]).toEqual([u, m, h, t, l]),
    );
  });

  it('refuse a line number or a timestamp past 32 bits with a clear error rather than wrapping it', () => {
    const c = new RatingColumns();
    expect(() => c.push(1, 1, 8, 1_600_000_000, MAX_UINT32 + 1)).toThrow(/more than 4,294,967,295 lines/);
    expect(() => c.push(1, 1, 8, MAX_UINT32 + 1, 2)).toThrow(/past 2106-02-07/);
    expect(c.length).toBe(0);
  });
});

describe('vector text', () => {
  it('reads back as the same float32 (at most 9 significant digits)', () => {
    const f = new Float32Array(1);
    let seed = 11;
    const rnd = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
    const values = [
      0,
      1,
      0.5,
      1 / 3,
      2 / 3,
      0.1,
      1e-8,
      1e-30,
      0.999999,
      ...Array.from({ length: 20_000 }, () => rnd() * (rnd() < 0.1 ? 1e-6 : 1)),
    ];
    for (const v of values.map(Math.fround)) {
      const t = float4Text(v);
      f[0] = Number(t);
      expect(f[0]).toBe(v);
      expect(t.replace(/^0\.0*|\.|e.*$/g, '').length).toBeLessThanOrEqual(9);
    }
    expect(float4Text(0.5)).toBe('0.5');
    expect(float4Text(1)).toBe('1');
  });
});
