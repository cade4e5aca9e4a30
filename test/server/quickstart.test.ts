import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { childEnv, cliCommand, ROOT, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/engines.js';

/** A small initial_data in MovieLens format: 30 movies, 40 users with overlapping tastes. */
function writeInitialData(dataDir: string): void {
  const dir = path.join(dataDir, 'initial_data');
  fs.mkdirSync(dir, { recursive: true });
  const genres = ['Action|Sci-Fi', 'Comedy', 'Drama|Romance', 'Animation|Children|Comedy', 'Thriller'];
  const movies = ['movieId,title,genres'];
  for (let m = 1; m <= 30; m++) movies.push(`${m},"Movie ${m} (${1980 + m})",${genres[m % genres.length]}`);
  const ratings = ['userId,movieId,rating,timestamp'];
  for (let u = 1; u <= 40; u++) {
    for (let m = 1; m <= 30; m++) {
      if ((u * 7 + m * 3) % 4 === 0 || m % 5 === u % 5)
        ratings.push(`${u},${m},${(((u + m) % 10) + 1) / 2},${1500000000 + u * 1000 + m}`);
    }
  }
  fs.writeFileSync(path.join(dir, 'movies.csv'), `${movies.join('\n')}\n`);
  fs.writeFileSync(path.join(dir, 'ratings.csv'), `${ratings.join('\n')}\n`);
}

describe('reco quickstart', () => {
  const dataDir = tempDir();
  const env = { RECO_DATA_DIR: dataDir, RECO_MODELS_DIR: path.join(dataDir, 'models') };
  beforeAll(() => writeInitialData(dataDir));
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('loads the initial data, trains, then serves; announcing each step', async () => {
    const child = spawn(process.execPath, [...cliCommand(), 'quickstart', '--port', '0', '--metrics-port', '0'], {
      cwd: ROOT,
      env: childEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const exit = new Promise<number | null>((resolve) => child.on('close', resolve));
    const [url, metricsUrl] = await new Promise<[string, string]>((resolve, reject) => {
      child.stdout.on('data', (d) => {
        out += d;
        const m = out.match(/"url":"(http:\/\/[^"]+)"[^\n]*"msg":"listening"/);
        const metrics = out.match(/"url":"(http:\/\/[^"]+)"[^\n]*"msg":"serving metrics"/);
        if (m && metrics) resolve([m[1], metrics[1]]);
      });
      child.stderr.on('data', (d) => (err += d));
      child.on('close', (code) => reject(new Error(`quickstart exited ${code}: ${err}`)));
      setTimeout(() => reject(new Error(`quickstart did not listen: ${err}`)), 150_000).unref();
    });
    try {
      const ready = (await (await fetch(`${url}/readyz`)).json()) as any;
      expect(ready.status).toBe('ready');
      expect(ready.model.version).not.toBe('fallback');
      const movies = await (await fetch(metricsUrl)).text();
      expect(movies).toMatch(/reco_catalogue_movies 30\n/);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exit).toBe(0);
    expect(err).toMatch(/1\/3 data: loading .*initial_data/);
    expect(err).toMatch(/2\/3 model: training/);
    expect(err).toMatch(/3\/3 serve/);
    expect(err).toMatch(/reco is ready: http:\/\/127\.0\.0\.1:\d+/);
  }, 180_000);

  it('skips what is done on the second run', async () => {
    const r = await runCli(['quickstart', '--no-serve', '--json'], { env });
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.ingest).toMatchObject({ skipped: true, movies: 30 });
    expect(result.model.skipped).toBe(true);
    expect(result.model.version).toEqual(expect.any(String));
    const human = await runCli(['quickstart', '--no-serve'], { env });
    expect(human.stderr).toMatch(/1\/3 data: the catalogue has 30 movies already, skipping/);
    expect(human.stderr).toMatch(/2\/3 model: .* is active, skipping training/);
  }, 120_000);

  it('says what to do when the database is empty and there is no initial_data', async () => {
    const r = await runCli(['quickstart', '--no-serve'], { env: { RECO_DATA_DIR: tempDir() } });
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/initial_data does not exist/);
  }, 60_000);
});
