import fs from 'node:fs';
import path from 'node:path';
import { genreProfile } from '../../src/core/features/genre-profile.js';
import { parseGenres } from '../../src/core/features/genres.js';
import { ingest } from '../../src/core/pipeline/index.js';
import { REJECT_REASON_CODES } from '../../src/core/pipeline/reasons.js';
import type { Database } from '../../src/core/db/types.js';
import { describeEachEngine, tempDir } from '../helpers/engines.js';
import { CATALOGUE, T0, readCsvLines, writeBatch } from './fixtures.js';

async function count(db: Database, sql: string, params: unknown[] = []): Promise<number> {
  const r = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM (${sql}) q`, params);
  return r.rows[0].n;
}

async function storedRating(db: Database, client: string, user: number, movie: number) {
  const r = await db.query<{ rating: number; rated_at: Date }>(
    `SELECT r.rating, r.rated_at FROM ratings r JOIN users u ON u.id = r.user_id JOIN clients c ON c.id = u.client_id
      WHERE c.username = $1 AND u.external_id = $2 AND r.movie_id = $3`,
    [client, user, movie],
  );
  return r.rows;
}

describeEachEngine('ingest', (ctx) => {
  const get = () => ctx.db;
  let dataDir: string;
  beforeEach(() => {
    dataDir = tempDir('reco-ingest-');
  });
  afterEach(async () => {
    fs.rmSync(dataDir, { recursive: true, force: true });
    await ctx.db.exec('TRUNCATE ratings, users, movies, ingest_files, ingest_runs CASCADE');
  });

  it('rejects every kind of bad row with its line and reason, loads the rest, and accepted + rejected = read', async () => {
    const db = get();
    const src = path.join(dataDir, 'simulation_data');
    const now = T0 + 86_400 * 10;
    writeBatch(src, '2020-06-01', {
      movies: [
        ...CATALOGUE,
        '5,Too,Many,Columns',
        '6,,Drama',
        'x7,Bad Id (2000),Drama',
        '8,Kept (2001),Drama',
        '8,Kept Again (2001),Drama|War',
      ],
      ratings: [
        `101,1,4.0,${T0}`, // line 2: good
        `101,2,3.5,${T0 + 1}`, // 3: good
        `101,3`, // 4: wrong_column_count
        `101,3,4.0,${T0},x`, // 5: wrong_column_count
        `102,1,,${T0}`, // 6: missing_field
        `10a,1,4.0,${T0}`, // 7: malformed_number
        `102,1,four,${T0}`, // 8: malformed_number
        `102,1,5.5,${T0}`, // 9: rating_out_of_range
        `102,1,0.0,${T0}`, // 10: rating_out_of_range
        `102,1,3.7,${T0}`, // 11: rating_not_half_step
        `102,999,4.0,${T0}`, // 12: unknown_movie
        `102,1,4.0,${now + 100}`, // 13: timestamp_in_future
        `102,1,4.0,788918399`, // 14: timestamp_before_1995
        `103,8,2.0,${T0 + 50}`, // 15: the winner (latest timestamp)
        `103,8,5.0,${T0 + 10}`, // 16: duplicate_in_file (older)
        `103,4,1.0,${T0}`, // 17: good, a movie without genres
        `103,6,1.0,${T0}`, // 18: unknown_movie (movie 6 was rejected)
      ],
    });
    const s = await ingest(db, { from: src, dataDir, now });
    const movies = s.files.find((f) => f.kind === 'movies')!;
    const ratings = s.files.find((f) => f.kind === 'ratings')!;
    expect(movies).toMatchObject({ status: 'loaded', read: 9, accepted: 5, rejected: 4 });
    expect(movies.byReason).toMatchObject({
      wrong_column_count: 1,
      missing_field: 1,
      malformed_number: 1,
      duplicate_in_file: 1,
    });
    expect(ratings).toMatchObject({ status: 'loaded', read: 17, accepted: 4, rejected: 13 });
    expect(ratings.byReason).toEqual({
      wrong_column_count: 2,
      invalid_text: 0,
      field_too_long: 0,
      missing_field: 1,
      malformed_number: 2,
      rating_out_of_range: 2,
      rating_not_half_step: 1,
      unknown_movie: 2,
      timestamp_in_future: 1,
      timestamp_before_1995: 1,
      duplicate_in_file: 1,
    });
    for (const f of s.files) expect(f.accepted + f.rejected).toBe(f.read);
    expect(s.read).toBe(26);
    expect(s.accepted + s.rejected).toBe(s.read);
    for (const r of REJECT_REASON_CODES) expect(s.byReason[r]).toBe(movies.byReason[r] + ratings.byReason[r]);

    // The rejected file: header, then line, reason and the original fields.
    const rejected = readCsvLines(path.join(dataDir, 'no_injected_data/2020/06/01/ratings.csv.rejected.csv'));
    expect(rejected[0]).toBe('line,reason,userId,movieId,rating,timestamp');
    expect(rejected).toContain('4,wrong_column_count,101,3');
    expect(rejected).toContain(`5,wrong_column_count,101,3,4.0,${T0},x`);
    expect(rejected).toContain(`8,malformed_number,102,1,four,${T0}`);
    expect(rejected).toContain(`16,duplicate_in_file,103,8,5.0,${T0 + 10}`);
    expect(rejected).toContain(`18,unknown_movie,103,6,1.0,${T0}`);
    expect(rejected).toHaveLength(1 + 13);
    const movieRejects = readCsvLines(path.join(dataDir, 'no_injected_data/2020/06/01/movies.csv.rejected.csv'));
    expect(movieRejects).toContain('6,wrong_column_count,5,Too,Many,Columns');
    expect(movieRejects).toContain('9,duplicate_in_file,8,Kept (2001),Drama');

    // Raw is byte for byte; processed holds exactly the accepted rows.
    expect(fs.readFileSync(path.join(dataDir, 'raw/2020/06/01/ratings.csv'))).toEqual(
      fs.readFileSync(path.join(src, '2020/06/01/ratings.csv')),
    );
    expect(readCsvLines(path.join(dataDir, 'processed/2020/06/01/ratings.csv'))).toHaveLength(1 + 4);
    expect(readCsvLines(path.join(dataDir, 'processed/2020/06/01/user_characteristics.csv'))).toHaveLength(1 + 2);

    // The database: the winner of the duplicate, the last movie line, the parsed year and genres.
    expect(await storedRating(db, 'default', 103, 8)).toEqual([{ rating: 2, rated_at: new Date((T0 + 50) * 1000) }]);
    const m = await db.query('SELECT movie_id, title, genres, year FROM movies ORDER BY movie_id');
    expect(m.rows).toEqual([
      {
        movie_id: 1,
        title: 'Toy Story (1995)',
        genres: ['Adventure', 'Animation', 'Children', 'Comedy', 'Fantasy'],
        year: 1995,
      },
      { movie_id: 2, title: 'Jumanji (1995)', genres: ['Adventure', 'Children', 'Fantasy'], year: 1995 },
      { movie_id: 3, title: 'Heat, the Sequel (1995)', genres: ['Action', 'Crime', 'Thriller'], year: 1995 },
      { movie_id: 4, title: 'Untitled', genres: [], year: null },
      { movie_id: 8, title: 'Kept Again (2001)', genres: ['Drama', 'War'], year: 2001 },
    ]);
    expect(s.database).toMatchObject({ moviesInserted: 5, usersCreated: 2, ratingsInserted: 4, profilesUpdated: 2 });
    expect(await count(db, 'SELECT 1 FROM users')).toBe(2);

    // The vector in the database is genreProfile() of the user's ratings.
    const u = await db.query<{ characteristic: number[]; rating_count: number }>(
      "SELECT characteristic, rating_count FROM users WHERE external_id = '103'",
    );
    const genresOf = new Map(m.rows.map((r: any) => [r.movie_id, r.genres]));
    const expected = genreProfile([
      { genres: genresOf.get(8), rating: 2 },
      { genres: genresOf.get(4), rating: 1 },
    ]);
    expect(u.rows[0].rating_count).toBe(2);
    expect(u.rows[0].characteristic.map(Math.fround)).toEqual(Array.from(expected)); // real[] comes back as float4 text

    // The ledger and the job record.
    const run = await db.query(
      'SELECT status, files_loaded, files_skipped, rows_read, rows_accepted, rows_rejected FROM ingest_runs WHERE id = $1',
      [s.runId],
    );
    expect(run.rows[0]).toEqual({
      status: 'succeeded',
      files_loaded: 2,
      files_skipped: 0,
      rows_read: 26,
      rows_accepted: 9,
      rows_rejected: 17,
    });
    expect(await count(db, 'SELECT 1 FROM ingest_files WHERE run_id = $1', [s.runId])).toBe(2);
    expect(await count(db, `SELECT 1 FROM job_runs WHERE job = 'ingest' AND status = 'succeeded'`)).toBeGreaterThan(0);
  });

  it('loads days oldest first, skips files already loaded, and updates re-delivered ratings in place', async () => {
    const db = get();
    const src = path.join(dataDir, 'simulation_data');
    writeBatch(src, '2020-06-02', { ratings: [`201,1,2.0,${T0 + 100}`, `201,3,1.0,${T0 + 100}`] });
    writeBatch(src, '2020-06-01', {
      movies: CATALOGUE,
      ratings: [`201,1,4.0,${T0}`, `201,2,3.0,${T0}`, `201,3,5.0,${T0 + 500}`],
    });
    const first = await ingest(db, { from: src, dataDir });
    expect(first.batches).toEqual(['2020-06-01', '2020-06-02']);
    expect(first.database).toMatchObject({ ratingsInserted: 3, ratingsUpdated: 1, usersCreated: 1 });
    // Movie 1: re-delivered with a later timestamp → updated. Movie 3: the stored rating is newer → kept.
    expect(await storedRating(db, 'default', 201, 1)).toEqual([{ rating: 2, rated_at: new Date((T0 + 100) * 1000) }]);
    expect(await storedRating(db, 'default', 201, 3)).toEqual([{ rating: 5, rated_at: new Date((T0 + 500) * 1000) }]);
    expect(await count(db, 'SELECT 1 FROM ratings')).toBe(3);
    const u = await db.query("SELECT rating_count FROM users WHERE external_id = '201'");
    expect(u.rows[0].rating_count).toBe(3);

    const again = await ingest(db, { from: src, dataDir });
    expect(again.changed).toBe(false);
    expect(again.filesLoaded).toBe(0);
    expect(again.filesSkipped).toBe(3);
    expect(again.files.every((f) => f.status === 'skipped' && f.loadedByRun === first.runId)).toBe(true);

    // One more day only, with --date; a new file with the same pair counts as an update, not a new row.
    writeBatch(src, '2020-06-03', { ratings: [`201,2,4.5,${T0 + 900}`] });
    const third = await ingest(db, { from: src, dataDir, date: '2020-06-03' });
    expect(third.batches).toEqual(['2020-06-03']);
    expect(third.database).toMatchObject({ ratingsInserted: 0, ratingsUpdated: 1, usersCreated: 0 });
    expect(await count(db, 'SELECT 1 FROM ratings')).toBe(3);
  });

  it('scopes users by client: the same userId of two platforms is two users', async () => {
    const db = get();
    const flat = path.join(dataDir, 'initial');
    writeBatch(flat, null, { movies: CATALOGUE, ratings: [`7,1,4.0,${T0}`, `7,2,2.0,${T0}`] });
    await ingest(db, { from: flat, dataDir, client: 'alpha' });
    const b = await ingest(db, { from: flat, dataDir, client: 'beta' });
    // The catalogue is shared: the movies file is skipped for the second client, the ratings are not.
    expect(b.files.map((f) => [f.kind, f.status])).toEqual([
      ['movies', 'skipped'],
      ['ratings', 'loaded'],
    ]);
    const r = await db.query(
      `SELECT c.username, u.external_id, u.rating_count FROM users u JOIN clients c ON c.id = u.client_id ORDER BY c.username`,
    );
    expect(r.rows).toEqual([
      { username: 'alpha', external_id: '7', rating_count: 2 },
      { username: 'beta', external_id: '7', rating_count: 2 },
    ]);
    const clients = await db.query(`SELECT password_hash FROM clients WHERE username IN ('alpha', 'beta')`);
    expect(clients.rows.every((c: any) => c.password_hash === null)).toBe(true);
    expect(fs.existsSync(path.join(dataDir, 'raw/initial/ratings.csv'))).toBe(true);
  });

  it('--strict fails on a rejected row and loads nothing of that day; a failed run is in the ledger', async () => {
    const db = get();
    const src = path.join(dataDir, 'simulation_data');
    writeBatch(src, '2020-06-01', { movies: CATALOGUE, ratings: [`301,1,4.0,${T0}`, `301,1,9.0,${T0}`] });
    await expect(ingest(db, { from: src, dataDir, strict: true })).rejects.toThrow(/--strict: 1 of 2 rows .* rejected/);
    expect(await count(db, 'SELECT 1 FROM ratings')).toBe(0);
    expect(await count(db, 'SELECT 1 FROM movies')).toBe(0);
    const run = await db.query(`SELECT status, error FROM ingest_runs ORDER BY id DESC LIMIT 1`);
    expect(run.rows[0].status).toBe('failed');
    expect(run.rows[0].error).toMatch(/--strict/);
  });

  it('two ingests of the same day at once (PostgreSQL): each file is loaded once, the other run skips it', async () => {
    if (ctx.engine !== 'postgres') return; // the embedded engine admits one process at a time
    const db = get();
    const src = path.join(dataDir, 'simulation_data');
    writeBatch(src, '2020-06-05', {
      movies: CATALOGUE,
      ratings: Array.from({ length: 3000 }, (_, i) => `${i + 1},${(i % 4) + 1},4.0,${T0 + i}`),
    });
    const [a, b] = await Promise.all([ingest(db, { from: src, dataDir }), ingest(db, { from: src, dataDir })]);
    expect(a.filesLoaded + b.filesLoaded).toBe(2);
    expect(a.filesSkipped + b.filesSkipped).toBe(2);
    expect(await count(db, 'SELECT 1 FROM ratings')).toBe(3000);
    expect(await count(db, 'SELECT 1 FROM ingest_files')).toBe(2);
  });

  it('refuses a file that is not MovieLens CSV, in one clear line', async () => {
    const db = get();
    const src = path.join(dataDir, 'flat');
    fs.mkdirSync(src, { recursive: true });
    fs.writeFileSync(path.join(src, 'ratings.csv'), 'user,item,score\n1,2,3\n');
    await expect(ingest(db, { from: src, dataDir })).rejects.toThrow(
      /the first line must be the header userId,movieId,rating,timestamp/,
    );
    await expect(ingest(db, { from: path.join(dataDir, 'nope'), dataDir })).rejects.toThrow(/does not exist/);
    await expect(ingest(db, { from: src, dataDir, date: '2020-02-30' })).rejects.toThrow(/calendar date/);
  });
});

describe('genre profile in SQL and in TypeScript', () => {
  it('parses genres the same way for the vector', () => {
    expect(parseGenres('(no genres listed)')).toEqual([]);
    expect(parseGenres('Action|Sci-Fi')).toEqual(['Action', 'Sci-Fi']);
  });
});
