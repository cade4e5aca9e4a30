import fs from 'node:fs';
import { GENRES } from '../../src/core/features/genres.js';
import { ingest, type DatabaseChanges } from '../../src/core/pipeline/index.js';
import { describeEachEngine, tempDir } from '../helpers/engines.js';
import { T0, writeBatch } from './fixtures.js';

/**
 * Users created while the ratings file is still being parsed (early-users.ts) must end up exactly as the
 * usual users step makes them. The reference reader (`reader: 'reference'`: csv-parse, the parse before the
 * load, the usual step) is the oracle: the same rows are loaded both ways, under two clients, and compared:
 * users, counts, vectors, ratings. The files span several read chunks (1 MB each), so users are created in
 * several statements.
 */
describeEachEngine('ingest: users created during the parse', (ctx) => {
  const movies = Array.from(
    { length: 300 },
    (_, i) =>
      `${i + 1},Movie ${i + 1} (2001),${[GENRES[i % GENRES.length], GENRES[(i * 7) % GENRES.length]].join('|')}`,
  );
  const userRows = (u: number, n: number, shift = 0) =>
    Array.from(
      { length: n },
      (_, j) =>
        `${u},${((u * 31 + j * 7 + shift) % 300) + 1},${((u + j) % 10) / 2 + 0.5},${T0 + ((u * 13 + j) % 5000)}`,
    );
  const grouped = (from: number, to: number) => {
    const lines: string[] = [];
    for (let u = from; u <= to; u++) lines.push(...userRows(u, 40));
    return lines;
  };
  async function load(
    lines: string[],
    client: string,
    day: string,
    dataDir: string,
    reader: 'fast' | 'reference' = 'fast',
  ) {
    const src = tempDir('reco-early-src-');
    try {
      writeBatch(src, null, { movies, ratings: lines });
      return await ingest(ctx.db, { from: src, date: day, client, dataDir, now: T0 + 10_000, reader });
    } finally {
      fs.rmSync(src, { recursive: true, force: true });
    }
  }
  /** The changes but the movies (the first of the two loads of a day brings the catalogue). */
  const rowsOf = (d: DatabaseChanges) => ({ ...d, moviesInserted: 0, moviesUpdated: 0 });
  async function state(client: string) {
    const users = await ctx.db.query<{ external_id: number; rating_count: number; characteristic: number[] }>(
      `SELECT u.external_id, u.rating_count, u.characteristic FROM users u JOIN clients c ON c.id = u.client_id WHERE c.username = $1 ORDER BY u.external_id::bigint`,
      [client],
    );
    const ratings = await ctx.db.query<{ n: number; sum: number }>(
      `SELECT count(*)::int AS n, sum(r.rating * r.movie_id + extract(epoch FROM r.rated_at))::float8 AS sum FROM ratings r JOIN users u ON u.id = r.user_id JOIN clients c ON c.id = u.client_id WHERE c.username = $1`,
      [client],
    );
    return {
      users: users.rows.map((r) => [Number(r.external_id), r.rating_count, r.characteristic]),
      ratings: ratings.rows[0],
    };
  }

  it('gives the same users, vectors and ratings as the usual step: new users, a day of returning and new users', async () => {
    const dataDir = tempDir('reco-early-');
    try {
      const day1 = grouped(1, 2200); // 88,000 rows, ~2 MB: two read chunks and a part
      expect(day1.join('\n').length).toBeGreaterThan(1.5 * 2 ** 20);
      const early = await load(day1, 'early', '2020-06-01', dataDir);
      const usual = await load(day1, 'usual', '2020-06-01', dataDir, 'reference');
      expect(early.database).toMatchObject({ usersCreated: 2200, ratingsInserted: 88_000, profilesUpdated: 2200 });
      expect(rowsOf(usual.database)).toEqual(rowsOf(early.database));
      const a = await state('early');
      expect(a.users).toHaveLength(2200);
      expect(a).toEqual(await state('usual'));

      // Day 2: users 1101–3300, half of them known, with other movies (new pairs).
      const day2: string[] = [];
      for (let u = 1101; u <= 3300; u++) day2.push(...userRows(u, 40, 3));
      const early2 = await load(day2, 'early', '2020-06-02', dataDir);
      const usual2 = await load(day2, 'usual', '2020-06-02', dataDir, 'reference');
      expect(early2.database.usersCreated).toBe(1100);
      expect(rowsOf(usual2.database)).toEqual(rowsOf(early2.database));
      expect(await state('early')).toEqual(await state('usual'));
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('gives the same result when the file does not keep a user together (a created user turns up again) or repeats a pair', async () => {
    const dataDir = tempDir('reco-early-');
    try {
      const lines = grouped(1, 2200);
      // User 7 turns up again at the end (created early by then: all of it is redone the usual way), with a
      // re-rating of one of its movies (a duplicate across the file, the later timestamp wins) and a new movie;
      // user 1500 lists one movie twice among its own rows.
      const seven = userRows(7, 40);
      lines.push(seven[3].replace(/,(\d+)$/, (_, t) => `,${Number(t) + 1}`).replace(/,[\d.]+,(\d+)$/, ',5.0,$1'));
      lines.push(`7,299,4.0,${T0}`);
      const at = lines.findIndex((l) => l.startsWith('1500,'));
      lines.splice(at + 5, 0, lines[at + 1].replace(/,[\d.]+,(\d+)$/, ',0.5,$1'));
      const early = await load(lines, 'early-b', '2020-06-01', dataDir);
      const usual = await load(lines, 'usual-b', '2020-06-01', dataDir, 'reference');
      expect(early.byReason.duplicate_in_file).toBe(2);
      expect(early.database).toMatchObject({ usersCreated: 2200, ratingsInserted: 88_001 });
      expect(rowsOf(usual.database)).toEqual(rowsOf(early.database));
      const a = await state('early-b');
      expect(a.users.find((u) => u[0] === 7)![1]).toBe(41);
      expect(a).toEqual(await state('usual-b'));
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
