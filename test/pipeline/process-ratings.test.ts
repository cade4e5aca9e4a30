import fs from 'node:fs';
import path from 'node:path';
import { processRatings } from '../../src/core/pipeline/process-ratings.js';
import { indexUsers, loadOrder } from '../../src/core/pipeline/rating-load.js';
import { tempDir } from '../helpers/engines.js';
import { T0, readCsvLines } from './fixtures.js';

/**
 * The fast byte-level reader and the reference reader (csv-parse) must give the same result for the same rows;
 * the fast one hands the rest of a file to csv-parse at its first line with a quote.
 */
describe('processRatings: the fast reader and the reference agree', () => {
  const dir = tempDir('reco-ratings-');
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const now = T0 + 1000;
  const checks = { knownMovie: (id: number) => id <= 10, now };
  const body = [
    `1,1,4.0,${T0}`,
    `1,2,4,${T0}`, // plain integer rating
    `01,3,3.50,${T0}`, // leading zero, two decimals: the general path
    ` 2,3,1.5,${T0}`, // surrounding spaces are tolerated in numbers
    `2,4,4.5,${T0 + 5000}`, // future
    `2,11,4.5,${T0}`, // unknown movie
    `2,5,5.5,${T0}`, // out of range
    `2,5,2.25,${T0}`, // not a half step
    `2,5,-1,${T0}`, // out of range
    `3,1,2.0,${T0 + 1}`,
    `3,1,3.0,${T0}`, // duplicate, older: loses
    `3,2,2.0,${T0}`,
    `3,2,3.0,${T0}`, // duplicate, same time, later line: wins
    '',
    `4,1,2.0,${T0}`,
    `4,x,2.0,${T0}`,
  ];
  const run = async (name: string, lines: string[], reader: 'fast' | 'reference' = 'fast') => {
    const file = path.join(dir, `${name}.csv`);
    fs.writeFileSync(file, ['userId,movieId,rating,timestamp', ...lines].join('\n'));
    const r = await processRatings(
      file,
      { processed: path.join(dir, name, 'p.csv'), rejected: path.join(dir, name, 'r.csv') },
      { checks, reader },
    );
    return { r, processed: readCsvLines(r.processedPath), rejected: readCsvLines(r.rejectedPath!) };
  };

  it('gives the same counts, reasons, lines and clean rows on both paths', async () => {
    const fast = await run('fast', body);
    const reference = await run('reference', body, 'reference');
    expect(reference.r).toMatchObject({
      read: fast.r.read,
      accepted: fast.r.accepted,
      rejected: fast.r.rejected,
      byReason: fast.r.byReason,
    });
    expect(reference.processed).toEqual(fast.processed);
    expect(reference.rejected.sort()).toEqual([...fast.rejected].sort());
    // A quoted line: the fast reader hands the rest of the file to csv-parse.
    const quoted = [...body.slice(0, -1), `4,"x",2.0,${T0}`];
    const parsed = await run('parsed', quoted);
    const parsedReference = await run('parsed-reference', quoted, 'reference');
    expect(parsedReference.r).toMatchObject({
      read: parsed.r.read,
      accepted: parsed.r.accepted,
      byReason: parsed.r.byReason,
    });
    expect(parsedReference.processed).toEqual(parsed.processed);
    expect(parsedReference.rejected).toEqual(parsed.rejected);
    expect(fast.r.read).toBe(15);
    expect(fast.r.accepted).toBe(7);
    expect(fast.r.byReason).toMatchObject({
      timestamp_in_future: 1,
      unknown_movie: 1,
      rating_out_of_range: 2,
      rating_not_half_step: 1,
      duplicate_in_file: 2,
      malformed_number: 1,
    });
    expect(parsed.r).toMatchObject({
      read: fast.r.read,
      accepted: fast.r.accepted,
      rejected: fast.r.rejected,
      byReason: fast.r.byReason,
    });
    expect(parsed.processed).toEqual(fast.processed);
    expect(fast.processed).toEqual([
      'userId,movieId,rating,timestamp',
      `1,1,4.0,${T0}`,
      `1,2,4.0,${T0}`,
      `1,3,3.5,${T0}`,
      `2,3,1.5,${T0}`,
      `3,1,2.0,${T0 + 1}`,
      `3,2,3.0,${T0}`,
      `4,1,2.0,${T0}`,
    ]);
    // The rejected rows keep their original text and physical line numbers (the empty line 15 counts).
    expect(fast.rejected).toContain(`10,rating_out_of_range,2,5,-1,${T0}`);
    expect(fast.rejected).toContain(`12,duplicate_in_file,3,1,3.0,${T0}`);
    expect(fast.rejected).toContain(`13,duplicate_in_file,3,2,2.0,${T0}`);
    expect(fast.rejected).toContain(`17,malformed_number,4,x,2.0,${T0}`);
    expect(parsed.rejected.sort()).toEqual(fast.rejected.sort());
  });

  it('agrees on a generated file of every line shape across many read chunks (CRLF, odd numbers, duplicates)', async () => {
    let seed = 7;
    const rnd = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
    const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)];
    const lines: string[] = [];
    for (let i = 0; i < 120_000; i++) {
      const u = String(1 + Math.floor(i / 40) + (rnd() < 0.02 ? 7 : 0)); // mostly grouped by user, some scattered
      const m = String(1 + Math.floor(rnd() * 12)); // 11 and 12 are unknown; repeats make duplicates
      const r = pick(['4', '4.0', '3.5', '0.5', '5.0', '10', '4.25', '0', '5.5', '.5', '4.', '4.05']);
      const t = String(T0 - Math.floor(rnd() * 1000));
      const shape = rnd();
      let line = `${u},${m},${r},${t}`;
      if (shape < 0.03)
        line += '\r'; // CRLF
      else if (shape < 0.04) line = `${u},${m},${r},${t},extra`;
      else if (shape < 0.05) line = `${u},${m},${r}`;
      else if (shape < 0.06)
        line = `${u}1234567890123456,${m},${r},${t}`; // too many digits for the fast path
      else if (shape < 0.07) line = `${u},${m},${r},${t} `;
      else if (shape < 0.075) line = '';
      else if (shape < 0.08) line = `${u},0,${r},${t}`;
      lines.push(line);
    }
    const fast = await run('gen-fast', lines);
    const reference = await run('gen-reference', lines, 'reference');
    expect(reference.r).toMatchObject({ read: fast.r.read, accepted: fast.r.accepted, byReason: fast.r.byReason });
    expect(reference.processed.join('\n') === fast.processed.join('\n')).toBe(true);
    // A quote in the middle, several read chunks in: the fast reader's first part and csv-parse's rest agree with
    // csv-parse over the whole file, and with the file without that row.
    const middle = [...lines.slice(0, 60_000), `99998,"2",4.0,${T0}`, ...lines.slice(60_000)];
    const parsed = await run('gen-middle', middle);
    const middleReference = await run('gen-middle-reference', middle, 'reference');
    expect(parsed.r).toMatchObject({
      read: middleReference.r.read,
      accepted: middleReference.r.accepted,
      byReason: middleReference.r.byReason,
    });
    expect(parsed.processed.join('\n') === middleReference.processed.join('\n')).toBe(true);
    expect(fast.r.read).toBeGreaterThan(100_000);
    expect(fast.r.byReason.duplicate_in_file).toBeGreaterThan(0);
    expect(fast.r.accepted + fast.r.rejected).toBe(fast.r.read);
    expect(parsed.r.read).toBe(fast.r.read + 1);
    expect(parsed.r.accepted).toBe(fast.r.accepted + 1);
    expect(parsed.r.byReason).toEqual(fast.r.byReason);
    // (Booleans, not toEqual: a failing diff of 100k lines takes jest minutes.)
    expect(parsed.processed.filter((l) => !l.startsWith('99998,')).join('\n') === fast.processed.join('\n')).toBe(true);
    // Every rejected row is in the rejected file, once, with its reason (csv-parse numbers the lines of a file
    // with mixed CRLF/LF endings its own way, so line numbers are compared within each path only).
    for (const x of [fast, parsed]) {
      const rows = x.rejected.slice(1).map((r) => r.split(','));
      expect(rows.length).toBe(x.r.rejected);
      expect(new Set(rows.map((r) => r[0])).size).toBe(rows.length);
      const byReason: Record<string, number> = {};
      for (const r of rows) byReason[r[1]] = (byReason[r[1]] ?? 0) + 1;
      for (const [reason, n] of Object.entries(x.r.byReason)) expect(byReason[reason] ?? 0).toBe(n);
    }
    // The stage hands the load its users and the rows in load order, for the rows it kept.
    const index = indexUsers(fast.r.rows);
    expect(fast.r.index.users).toEqual(index.users);
    expect(Buffer.compare(Buffer.from(fast.r.order.buffer), Buffer.from(loadOrder(fast.r.rows, index).buffer))).toBe(0);
  }, 180_000);
});

describe('RatingColumns', () => {
  it('keeps every row in order when it outgrows its initial capacity, and sizes a MovieLens file without doubling', async () => {
    const { RatingColumns } = await import('../../src/core/pipeline/rating-columns.js');
    const c = new RatingColumns(16);
    for (let i = 0; i < 1000; i++) c.push(i + 1, 1000 - i, (i % 10) + 1, T0 + i, i + 2);
    expect(c.length).toBe(1000);
    expect([c.user[0], c.user[999], c.movie[999], c.halfSteps[999], c.timestamp[999], c.line[999]]).toEqual([
      1,
      1000,
      1,
      10,
      T0 + 999,
      1001,
    ]);
    const line = '610,170875,3.5,1493846415\n';
    expect(RatingColumns.capacityForBytes(line.length * 100_836)).toBeGreaterThanOrEqual(100_836);
  });
});
