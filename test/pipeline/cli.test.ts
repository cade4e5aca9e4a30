import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { PGliteDatabase } from '../../src/core/db/engines/pglite.js';
import { PostgresDatabase } from '../../src/core/db/engines/postgres.js';
import type { Database } from '../../src/core/db/types.js';
import { genreProfile } from '../../src/core/features/genre-profile.js';
import { parseGenres } from '../../src/core/features/genres.js';
import { ROOT, cliCommand, runCli } from '../helpers/cli.js';
import { createPgDatabase, tempDir } from '../helpers/engines.js';
import { CATALOGUE, T0, writeBatch } from './fixtures.js';

/** `reco ingest` as an operator runs it: a child process, no TTY, real databases. */

async function counts(db: Database) {
  const r = await db.query<{ movies: number; users: number; ratings: number; files: number }>(
    `SELECT (SELECT count(*)::int FROM movies) AS movies, (SELECT count(*)::int FROM users) AS users,
            (SELECT count(*)::int FROM ratings) AS ratings, (SELECT count(*)::int FROM ingest_files) AS files`,
  );
  return r.rows[0];
}

describe('reco ingest --from data/initial_data on a fresh embedded install', () => {
  const dataDir = tempDir('reco-ingest-cli-');
  const env = { RECO_DATA_DIR: dataDir };
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('loads 9,742 movies, 610 users and 100,836 ratings; the second run changes nothing and says so', async () => {
    const first = await runCli(['ingest', '--from', 'data/initial_data', '--json'], { env });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const s = JSON.parse(first.stdout);
    expect(s).toMatchObject({
      status: 'succeeded',
      files_loaded: 2,
      read: 110_578,
      accepted: 110_578,
      rejected: 0,
      changed: true,
    });
    expect(s.database).toMatchObject({
      movies_inserted: 9742,
      users_created: 610,
      ratings_inserted: 100_836,
      profiles_updated: 610,
    });

    const again = await runCli(['ingest', '--from', 'data/initial_data'], { env });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/Nothing changed: all 2 file\(s\) were loaded before\./);
    expect(again.stdout).toMatch(/ratings\.csv: already loaded \(run 1\), skipped/);

    const db = await PGliteDatabase.open(path.join(dataDir, 'db'));
    try {
      expect(await counts(db)).toEqual({ movies: 9742, users: 610, ratings: 100_836, files: 2 });
      // Every stored vector is genreProfile() of that user's ratings in the source files.
      const movies = parse(fs.readFileSync(path.join(ROOT, 'data/initial_data/movies.csv')), {
        from_line: 2,
      }) as string[][];
      const genres = new Map(movies.map((m) => [Number(m[0]), parseGenres(m[2])]));
      const ratings = parse(fs.readFileSync(path.join(ROOT, 'data/initial_data/ratings.csv')), {
        from_line: 2,
      }) as string[][];
      const byUser = new Map<number, { genres: string[]; rating: number }[]>();
      for (const [u, m, r] of ratings) {
        const list = byUser.get(Number(u)) ?? byUser.set(Number(u), []).get(Number(u))!;
        list.push({ genres: genres.get(Number(m))!, rating: Number(r) });
      }
      const stored = await db.query<{ external_id: number; characteristic: number[]; rating_count: number }>(
        'SELECT external_id, characteristic, rating_count FROM users',
      );
      let worst = 0;
      for (const u of stored.rows) {
        const history = byUser.get(Number(u.external_id))!;
        expect(u.rating_count).toBe(history.length);
        const expected = genreProfile(history);
        u.characteristic.forEach((v, k) => (worst = Math.max(worst, Math.abs(v - expected[k]))));
      }
      expect(worst).toBeLessThan(1e-6);
    } finally {
      await db.close();
    }
  }, 120_000);

  it('fails in one line with exit code 2 for a missing folder, 3 under --strict with a bad row', async () => {
    const missing = await runCli(['ingest', '--from', path.join(dataDir, 'nowhere')], { env });
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim().split('\n')).toEqual([
      `Error: cannot read the source folder ${path.join(dataDir, 'nowhere')}: it does not exist`,
    ]);
    const src = path.join(dataDir, 'strict');
    writeBatch(src, '2021-01-01', { movies: CATALOGUE, ratings: [`1,1,4.0,${T0}`, `1,2,7.0,${T0}`] });
    const strict = await runCli(['ingest', '--from', src, '--strict'], { env });
    expect(strict.code).toBe(3);
    expect(strict.stderr).toMatch(/^Error: --strict: 1 of 2 rows of .*ratings\.csv rejected/);
    const ok = await runCli(['ingest', '--from', src, '--json'], { env });
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).by_reason.rating_out_of_range).toBe(1);
  }, 60_000);

  it('has help with examples', async () => {
    const r = await runCli(['ingest', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--from/);
    expect(r.stdout).toMatch(/reco ingest --from data\/initial_data/);
  });
});

/** Spawns `reco ingest`, waits until it pauses inside the load transaction, and kills it with SIGKILL. */
function killDuringLoad(args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const childEnv: Record<string, string> = {};
    for (const [k, v] of Object.entries({ ...process.env, NODE_OPTIONS: undefined, DATABASE_URL: undefined, ...env }))
      if (v !== undefined) childEnv[k] = v;
    const child = spawn(process.execPath, [...cliCommand(), ...args], {
      cwd: ROOT,
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`never reached the load transaction: ${stderr}`));
    }, 60_000);
    child.stderr.on('data', (d) => {
      stderr += d;
      if (stderr.includes('paused inside the load transaction')) child.kill('SIGKILL');
    });
    child.on('close', (_code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL') resolve(stderr);
      else reject(new Error(`ended by itself (${signal ?? _code}): ${stderr}`));
    });
  });
}

describe.each(['pglite', 'postgres'] as const)('kill -9 during the load [%s]', (engine) => {
  it('leaves nothing of the day, and the rerun loads it exactly once', async () => {
    const dataDir = tempDir('reco-ingest-kill-');
    const pg = engine === 'postgres' ? await createPgDatabase() : undefined;
    const env: Record<string, string> = { RECO_DATA_DIR: dataDir, ...(pg ? { DATABASE_URL: pg.url } : {}) };
    const open = async () => (pg ? PostgresDatabase.connect(pg.url) : PGliteDatabase.open(path.join(dataDir, 'db')));
    try {
      const src = path.join(dataDir, 'simulation_data');
      // Day 1 is loaded normally; day 2 (new users, re-delivered ratings, a new movie) is killed mid-load.
      writeBatch(src, '2021-03-01', {
        movies: CATALOGUE,
        ratings: Array.from({ length: 2000 }, (_, i) => `${i + 1},${(i % 4) + 1},3.0,${T0 + i}`),
      });
      expect((await runCli(['ingest', '--date', '2021-03-01', '--from', src], { env })).code).toBe(0);
      const day2 = Array.from({ length: 20_000 }, (_, i) => `${i + 1},${(i % 5) + 1},4.5,${T0 + 10_000 + i}`);
      writeBatch(src, '2021-03-02', { movies: ['5,Brand New (2021),Drama'], ratings: day2 });

      await killDuringLoad(['ingest', '--from', src], { ...env, RECO_INGEST_TEST_PAUSE_MS: '60000' });
      let db = await open();
      try {
        expect(await counts(db)).toEqual({ movies: 4, users: 2000, ratings: 2000, files: 2 });
        const r = await db.query(`SELECT count(*)::int AS n FROM ratings WHERE rating <> 3`);
        expect(r.rows[0].n).toBe(0);
      } finally {
        await db.close();
      }

      const rerun = await runCli(['ingest', '--from', src, '--json'], { env });
      expect(rerun.code).toBe(0);
      const s = JSON.parse(rerun.stdout);
      expect(s.batches).toEqual(['2021-03-02']);
      expect(s.database).toMatchObject({
        movies_inserted: 1,
        users_created: 18_000,
        ratings_inserted: 20_000 - 400,
        ratings_updated: 400,
      });
      db = await open();
      try {
        // Users 1..2000 rated movies (i % 4) + 1 on day 1 and (i % 5) + 1 on day 2: the pairs that coincide (i mod 20 < 4: 400 of them) are updated.
        expect(await counts(db)).toEqual({ movies: 5, users: 20_000, ratings: 2000 + 20_000 - 400, files: 4 });
        const dup = await db.query(
          `SELECT count(*)::int AS n FROM (SELECT user_id, movie_id FROM ratings GROUP BY 1, 2 HAVING count(*) > 1) d`,
        );
        expect(dup.rows[0].n).toBe(0);
        const runs = await db.query(`SELECT status FROM ingest_runs ORDER BY id`);
        // The killed run: marked failed by the next run on the embedded engine (one process only), left running on a server.
        expect(runs.rows.map((r: any) => r.status)).toEqual([
          'succeeded',
          engine === 'pglite' ? 'failed' : 'running',
          'succeeded',
        ]);
      } finally {
        await db.close();
      }
    } finally {
      await pg?.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
