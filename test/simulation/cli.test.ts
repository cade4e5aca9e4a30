import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { childEnv, cliCommand, ROOT, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/engines.js';

/** `reco simulate data` then `reco ingest`, as an analyst runs them: child processes, no TTY, embedded database. */
describe('reco simulate data (CLI)', () => {
  const dataDir = tempDir('reco-sim-cli-');
  const env = { RECO_DATA_DIR: dataDir };
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('simulates three days without a database, then ingest loads the three days', async () => {
    const sim = await runCli(['simulate', 'data', '--days', '3', '--seed', '7', '--json'], { env });
    expect(sim.stderr).toBe('');
    expect(sim.code).toBe(0);
    const s = JSON.parse(sim.stdout);
    expect(s).toMatchObject({ seed: 7, start: '2018-09-25', days: 3, out: path.join(dataDir, 'simulation_data') });
    expect(s.catalogue.source).toMatch(/initial_data\/movies\.csv$/);
    expect(fs.existsSync(path.join(dataDir, 'db'))).toBe(false); // it read the catalogue file, created no database
    expect(s.day_summaries.map((d: any) => d.day)).toEqual(['2018-09-25', '2018-09-26', '2018-09-27']);

    const ing = await runCli(['ingest', '--json'], { env, timeoutMs: 180_000 });
    expect(ing.code).toBe(0);
    const i = JSON.parse(ing.stdout);
    expect(i.batches).toEqual(['2018-09-25', '2018-09-26', '2018-09-27']);
    expect(i.rejected).toBe(0);
    expect(i.database.ratings_inserted).toBe(s.totals.ratings);
    expect(i.database.movies_inserted).toBe(s.catalogue.movies + s.totals.movies_added);
  }, 240_000);

  it('continues the next day by default once the database has ratings, over the database catalogue', async () => {
    const r = await runCli(['simulate', 'data', '--json'], { env });
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.catalogue.source).toBe('database');
    expect(s.start).toBe('2018-09-28');
    expect(s.days).toBe(1);
    // New movies continue above the ones the three earlier days added.
    expect(s.day_summaries[0].new_movie_ids[0]).toBe(193609 + 9 + 1);
  }, 120_000);

  it('prints a one-line error for bad input and for a day that exists, and answers --help with examples', async () => {
    const bad = await runCli(
      [
        'simulate',
        'data',
        '--bad-rows',
        '2',
        '--catalogue',
        'data/initial_data/movies.csv',
        '--out',
        path.join(dataDir, 'x'),
      ],
      { env },
    );
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.trim().split('\n').pop()).toBe(
      'Error: --bad-rows must be a share from 0 to 0.5, e.g. 0.02 for 2% (got 2)',
    );
    const again = await runCli(
      ['simulate', 'data', '--start', '2018-09-25', '--catalogue', 'data/initial_data/movies.csv'],
      { env },
    );
    expect(again.code).not.toBe(0);
    expect(again.stderr.trim().split('\n').pop()).toMatch(
      /^Error: .*2018\/09\/25 already exists \(pass --force to replace it/,
    );
    const help = await runCli(['simulate', 'data', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/EXAMPLES[\s\S]*simulate data --days 3 --seed 7/);
  }, 120_000);

  it('replays 10 s of traffic against a local reco serve (child process) with zero unexpected errors', async () => {
    const serveEnv = childEnv({ ...env, DATABASE_URL: undefined });
    const serve = spawn(process.execPath, [...cliCommand(), 'serve', '--port', '0', '--metrics-port', '0'], {
      cwd: ROOT,
      env: serveEnv,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let err = '';
        const timer = setTimeout(() => reject(new Error(`reco serve did not start: ${err}`)), 60_000);
        serve.stderr!.on('data', (d) => {
          err += d;
          const m = /listening on (http:\/\/\S+?)\s/.exec(err);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]);
          }
        });
        serve.once('exit', (code) => reject(new Error(`reco serve exited ${code}: ${err}`)));
      });
      const r = await runCli(['simulate', 'traffic', '--url', url, '--duration', '10', '--rate', '10', '--json'], {
        env,
        timeoutMs: 60_000,
      });
      expect(r.code).toBe(0);
      const report = JSON.parse(r.stdout);
      expect(report.errors.unexpected).toBe(0);
      expect(report.requests).toBeGreaterThan(80);
      expect(report.status_counts).toEqual({ '200': report.requests });
      expect(report.latency_ms.max).toBeGreaterThan(0);
    } finally {
      if (serve.exitCode === null && serve.signalCode === null) {
        const exited = new Promise((resolve) => serve.once('exit', resolve));
        serve.kill('SIGTERM');
        await exited;
      }
    }
  }, 150_000);
});
