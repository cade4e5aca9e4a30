import fs from 'node:fs';
import path from 'node:path';
import { processRatings } from '../../src/core/pipeline/process-ratings.js';
import { tempDir } from '../helpers/engines.js';
import { T0, readCsvLines } from './fixtures.js';

/** The fast byte-level reader and the csv-parse path must give the same result for the same rows. */
describe('processRatings: fast reader and CSV parser agree', () => {
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
  const run = async (name: string, lines: string[]) => {
    const file = path.join(dir, `${name}.csv`);
    fs.writeFileSync(file, ['userId,movieId,rating,timestamp', ...lines].join('\n'));
    const r = await processRatings(file, { processed: path.join(dir, name, 'p.csv'), rejected: path.join(dir, name, 'r.csv') }, checks);
    return { r, processed: readCsvLines(r.processedPath), rejected: readCsvLines(r.rejectedPath!) };
  };

  it('gives the same counts, reasons, lines and clean rows on both paths', async () => {
    const fast = await run('fast', body);
    // A quote anywhere sends the whole file through csv-parse.
    const parsed = await run('parsed', [...body.slice(0, -1), `4,"x",2.0,${T0}`]);
    expect(fast.r.read).toBe(15);
    expect(fast.r.accepted).toBe(7);
    expect(fast.r.byReason).toMatchObject({ timestamp_in_future: 1, unknown_movie: 1, rating_out_of_range: 2, rating_not_half_step: 1, duplicate_in_file: 2, malformed_number: 1 });
    expect(parsed.r).toMatchObject({ read: fast.r.read, accepted: fast.r.accepted, rejected: fast.r.rejected, byReason: fast.r.byReason });
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
});
