import fs from 'node:fs';
import path from 'node:path';
import { ingest } from '../../src/core/pipeline/index.js';
import { describeEachEngine, tempDir } from '../helpers/engines.js';
import { T0 } from './fixtures.js';

/**
 * Text PostgreSQL cannot store (NUL), bytes that are not UTF-8 and over-long fields: each row is quarantined in
 * the rejected file with its reason, the rest of the file loads, and nothing reaches the database as an error.
 */
describeEachEngine('ingest of rows with bad text', (ctx) => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = tempDir('reco-text-');
  });
  afterEach(async () => {
    fs.rmSync(dataDir, { recursive: true, force: true });
    await ctx.db.exec('TRUNCATE ratings, users, movies, ingest_files, ingest_runs CASCADE');
  });

  const day = (src: string) => {
    const dir = path.join(src, '2020', '06', '01');
    fs.mkdirSync(dir, { recursive: true });
    return dir;
  };
  const lines = (...parts: (string | Buffer)[]) =>
    Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
  const rejectedRows = (file: string) =>
    fs
      .readFileSync(path.join(dataDir, 'no_injected_data/2020/06/01', file))
      .toString('utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(',').slice(0, 2).join(','));

  it('quarantines NUL, non-UTF-8 and over-long movie fields and ratings fields, on the fast reader and on csv-parse', async () => {
    const src = path.join(dataDir, 'simulation_data');
    const dir = day(src);
    const longTitle = `Long ${'x'.repeat(1200)} (1999)`;
    fs.writeFileSync(
      path.join(dir, 'movies.csv'),
      lines(
        'movieId,title,genres\n',
        '1,Toy Story (1995),Animation|Comedy\n', // 2: good
        '2,Nul\u0000Title (1995),Drama\n', // 3: invalid_text
        '3,Latin1 ',
        Buffer.from([0xe9]), // 4: a lone Latin-1 byte: not UTF-8
        ' (1996),Drama\n',
        `4,${longTitle},Drama\n`, // 5: field_too_long
        '5,Genre Nul (1997),Dra\u0000ma\n', // 6: invalid_text
        '6,Good Again (1998),Comedy\n', // 7: good
      ),
    );
    // Quote-free: the fast reader hands every line that is not plain digits to the general check.
    fs.writeFileSync(
      path.join(dir, 'ratings.csv'),
      lines(
        'userId,movieId,rating,timestamp\n',
        `1,1,4.0,${T0}\n`, // 2: good
        `2,1,4.0\u0000,${T0}\n`, // 3: invalid_text
        `3\u0000,1,4.0,${T0}\n`, // 4: invalid_text
        `4,1,${'4'.repeat(100)},${T0}\n`, // 5: field_too_long
        `5,6,3.5,${T0}\n`, // 6: good
      ),
    );
    const s = await ingest(ctx.db, { from: src, dataDir, now: T0 + 86_400 });
    const movies = s.files.find((f) => f.kind === 'movies')!;
    const ratings = s.files.find((f) => f.kind === 'ratings')!;
    expect(movies).toMatchObject({ status: 'loaded', read: 6, accepted: 2, rejected: 4 });
    expect(movies.byReason).toMatchObject({ invalid_text: 3, field_too_long: 1 });
    expect(rejectedRows('movies.csv.rejected.csv').sort()).toEqual([
      '3,invalid_text',
      '4,invalid_text',
      '5,field_too_long',
      '6,invalid_text',
    ]);
    expect(ratings).toMatchObject({ status: 'loaded', read: 5, accepted: 2, rejected: 3 });
    expect(ratings.byReason).toMatchObject({ invalid_text: 2, field_too_long: 1 });
    expect(rejectedRows('ratings.csv.rejected.csv').sort()).toEqual([
      '3,invalid_text',
      '4,invalid_text',
      '5,field_too_long',
    ]);

    const stored = await ctx.db.query<{ movie_id: number; title: string }>(
      'SELECT movie_id, title FROM movies ORDER BY movie_id',
    );
    expect(stored.rows).toEqual([
      { movie_id: 1, title: 'Toy Story (1995)' },
      { movie_id: 6, title: 'Good Again (1998)' },
    ]);
    expect((await ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM ratings')).rows[0].n).toBe(2);
  });

  it('quarantines the same in a quoted ratings file (read by csv-parse)', async () => {
    const src = path.join(dataDir, 'simulation_data');
    const dir = day(src);
    fs.writeFileSync(path.join(dir, 'movies.csv'), 'movieId,title,genres\n1,"Toy Story (1995)",Animation\n');
    fs.writeFileSync(
      path.join(dir, 'ratings.csv'),
      lines(
        'userId,movieId,rating,timestamp\n',
        `"1",1,4.0,${T0}\n`, // 2: good
        `"2\u0000",1,4.0,${T0}\n`, // 3: invalid_text
        `"3",1,"4.0`,
        Buffer.from([0xff, 0xfe]),
        `",${T0}\n`, // 4: invalid_text (not UTF-8)
        `"${'7'.repeat(80)}",1,4.0,${T0}\n`, // 5: field_too_long
      ),
    );
    const s = await ingest(ctx.db, { from: src, dataDir, now: T0 + 86_400 });
    const ratings = s.files.find((f) => f.kind === 'ratings')!;
    expect(ratings).toMatchObject({ status: 'loaded', read: 4, accepted: 1, rejected: 3 });
    expect(rejectedRows('ratings.csv.rejected.csv').sort()).toEqual([
      '3,invalid_text',
      '4,invalid_text',
      '5,field_too_long',
    ]);
  });
});
