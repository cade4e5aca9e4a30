import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { ExitCode } from '../../src/core/exit-codes.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { createPgDatabase, tempDir } from '../helpers/engines.js';
import { CATALOGUE, T0, writeBatch } from '../pipeline/fixtures.js';

/**
 * Every documented exit code (src/core/exit-codes.ts, README "Exit codes"), as cron and CronJobs see it: the
 * same code with and without --json; without --json one line on stderr, with it a JSON error on stdout.
 */
describe('exit codes, with and without --json', () => {
  const dataDir = tempDir('reco-exit-');
  let pgDb: { url: string; drop(): Promise<void> };
  beforeAll(async () => {
    pgDb = await createPgDatabase();
  });
  afterAll(async () => {
    await pgDb.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  const env = () => ({ RECO_DATA_DIR: dataDir, DATABASE_URL: pgDb.url });

  /** Runs the command both ways at once (on PostgreSQL, which takes both) and checks the code. */
  async function expectExit(
    code: number,
    args: string[],
    options: { env?: Record<string, string | undefined>; input?: string; message?: RegExp } = {},
  ) {
    const [plain, json] = await Promise.all([
      runCli(args, { env: options.env ?? env(), input: options.input }),
      runCli([...args, '--json'], { env: options.env ?? env(), input: options.input }),
    ]);
    const show = (r: CliResult) => `exit ${r.code}\n${r.stdout}\n${r.stderr}`;
    expect(show(plain)).toMatch(new RegExp(`^exit ${code}\\n`));
    expect(show(json)).toMatch(new RegExp(`^exit ${code}\\n`));
    if (code !== ExitCode.OK) {
      expect(plain.stderr.trim().split('\n')[0]).toMatch(/^(› +)?Error: /); // oclif's own errors come with its › margin
      const parsed = JSON.parse(json.stdout);
      expect(parsed.error).toMatchObject({ exit_code: code, oclif: { exit: code } });
      if (options.message) {
        expect(plain.stderr).toMatch(options.message);
        expect(parsed.error.message).toMatch(options.message);
      }
    }
    return { plain, json };
  }

  it('0 OK: a run that completes', async () => {
    const { json } = await expectExit(ExitCode.OK, ['db', 'status']);
    expect(JSON.parse(json.stdout).engine).toBe('postgres');
  }, 60_000);

  it('1 FAILURE: an error without a code of its own (an invalid environment variable)', async () => {
    await expectExit(ExitCode.FAILURE, ['db', 'status'], {
      env: { ...env(), RECO_TOKEN_TTL: 'soon' },
      message: /invalid environment variable RECO_TOKEN_TTL/,
    });
  }, 60_000);

  it('2 BAD_INPUT: a missing --from folder, an unknown flag, a wrong flag value', async () => {
    await expectExit(ExitCode.BAD_INPUT, ['ingest', '--from', path.join(dataDir, 'nope')], {
      message: /cannot read the source folder .*nope: it does not exist/,
    });
    await expectExit(ExitCode.BAD_INPUT, ['ingest', '--no-such-flag'], { message: /Nonexistent flag: --no-such-flag/ });
    await expectExit(ExitCode.BAD_INPUT, ['train', '--tolerance', 'much'], { message: /--tolerance must be a number/ });
  }, 60_000);

  it('3 REJECTED_ROWS: ingest --strict on a day with a bad row', async () => {
    const src = path.join(dataDir, 'strict');
    writeBatch(src, '2021-01-01', { movies: CATALOGUE, ratings: [`1,1,4.0,${T0}`, `1,2,7.0,${T0}`] });
    await expectExit(ExitCode.REJECTED_ROWS, ['ingest', '--from', src, '--strict'], {
      message: /--strict: 1 of 2 rows of .*ratings\.csv rejected/,
    });
  }, 60_000);

  it('4 DATABASE: PostgreSQL unreachable', async () => {
    await expectExit(ExitCode.DATABASE, ['db', 'status'], {
      env: { RECO_DATA_DIR: dataDir, DATABASE_URL: 'postgres://postgres@127.0.0.1:1/reco' },
      message: /cannot connect to PostgreSQL at 127\.0\.0\.1:1: connection refused/,
    });
  }, 60_000);

  it('5 CONFLICT: a client username that is taken', async () => {
    const first = await runCli(['clients', 'create', 'taken', '--password-stdin'], {
      env: env(),
      input: 'a long password\n',
    });
    expect(first.code).toBe(0);
    await expectExit(ExitCode.CONFLICT, ['clients', 'create', 'taken', '--password-stdin'], {
      input: 'another password\n',
      message: /the client username "taken" is taken/,
    });
  }, 60_000);

  it('6 NOTHING_NEW: ingest --require-new with nothing new; without it the same runs exit 0', async () => {
    const empty = path.join(dataDir, 'empty-simulation');
    fs.mkdirSync(empty);
    await expectExit(ExitCode.NOTHING_NEW, ['ingest', '--from', empty, '--require-new'], {
      message: /--require-new: nothing new to load, .* holds no day to load/,
    });
    await expectExit(ExitCode.OK, ['ingest', '--from', empty]);
    const day = path.join(dataDir, 'one-day');
    writeBatch(day, '2021-02-01', { movies: CATALOGUE, ratings: [`7,1,4.0,${T0}`] });
    expect((await runCli(['ingest', '--from', day, '--require-new'], { env: env() })).code).toBe(0);
    await expectExit(ExitCode.NOTHING_NEW, ['ingest', '--from', day, '--require-new'], {
      message: /nothing new to load, all 2 file\(s\) were loaded before/,
    });
  }, 90_000);

  it('7 SCHEMA_MISMATCH: an applied migration changed since it ran', async () => {
    const client = new pg.Client({ connectionString: pgDb.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ version: number; checksum: string }>(
        'SELECT version, checksum FROM schema_migrations ORDER BY version LIMIT 1',
      );
      await client.query(`UPDATE schema_migrations SET checksum = 'edited' WHERE version = $1`, [rows[0].version]);
      try {
        await expectExit(ExitCode.SCHEMA_MISMATCH, ['db', 'migrate'], {
          message: new RegExp(`migration ${rows[0].version} \\(\\w+\\) changed after it was applied`),
        });
        // db status does not migrate: it shows the changed migration instead.
        const status = await runCli(['db', 'status', '--json'], { env: env() });
        expect(status.code).toBe(0);
        expect(JSON.parse(status.stdout).changed).toEqual([{ version: rows[0].version, name: expect.any(String) }]);
      } finally {
        await client.query('UPDATE schema_migrations SET checksum = $1 WHERE version = $2', [
          rows[0].checksum,
          rows[0].version,
        ]);
      }
    } finally {
      await client.end();
    }
  }, 60_000);
});

describe('reco ingest with nothing to load (a fresh install, an idle day)', () => {
  const dataDir = tempDir('reco-idle-');
  const env = { RECO_DATA_DIR: dataDir };
  const sim = path.join(dataDir, 'simulation_data');
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('no simulation_data folder yet, then an empty one: exit 0 with one line, and the run is recorded as a success', async () => {
    const line = `Nothing to load: ${sim} holds no YYYY/MM/DD folder with movies.csv or ratings.csv (yet).`;
    const r = await runCli(['ingest'], { env });
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([line]);
    expect(r.stderr).toBe('');
    const json = await runCli(['ingest', '--json'], { env });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      status: 'succeeded',
      source: sim,
      files: [],
      files_loaded: 0,
      files_skipped: 0,
      changed: false,
    });
    const required = await runCli(['ingest', '--require-new'], { env });
    expect(required.code).toBe(ExitCode.NOTHING_NEW);
    expect(required.stderr.trim().split('\n')).toEqual([
      `Error: --require-new: nothing new to load, ${sim} holds no day to load`,
    ]);

    fs.mkdirSync(path.join(sim, '2024', '01'), { recursive: true });
    const empty = await runCli(['ingest'], { env });
    expect(empty.code).toBe(0);
    expect(empty.stdout.trim().split('\n')).toEqual([line]);
    // Each idle run is in the ledger (the server exports the last one: the staleness alert stays quiet).
    const status = JSON.parse((await runCli(['db', 'status', '--json'], { env })).stdout);
    expect(status.row_counts).toMatchObject({ ingest_runs: 4, ingest_files: 0 });
  }, 120_000);
});
