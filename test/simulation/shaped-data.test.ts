import fs from 'node:fs';
import path from 'node:path';
import { loadDatasetDir, worldOracle } from '../../src/core/evaluation/index.js';
import { evaluate } from '../../src/core/training/algorithms.js';
import { ingest } from '../../src/core/pipeline/index.js';
import { readWorldBeside, SHAPES, writeShapedData } from '../../src/core/simulation/shaped-data.js';
import { runCli } from '../helpers/cli.js';
import { describeEachEngine, tempDir } from '../helpers/engines.js';
import { readRatings, treeBytes } from './helpers.js';

/** `simulate data --shape`: a data set of a given shape, deterministic, in the initial_data format, with its oracle. */
describe('writeShapedData', () => {
  const root = tempDir('reco-shaped-');
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
  const shape = { ratings: 40_000, movies: 3_000, users: 500, seed: 5, niche: false };

  it('writes movies.csv, ratings.csv and world.json; the same seed gives the same bytes, another seed others', async () => {
    await writeShapedData({ ...shape, out: path.join(root, 'a') });
    await writeShapedData({ ...shape, out: path.join(root, 'b') });
    await writeShapedData({ ...shape, seed: 6, out: path.join(root, 'c') });
    const a = treeBytes(path.join(root, 'a'));
    const b = treeBytes(path.join(root, 'b'));
    expect([...a.keys()]).toEqual(['movies.csv', 'ratings.csv', 'world.json']);
    for (const [file, bytes] of a) expect(b.get(file)!.equals(bytes)).toBe(true);
    expect(treeBytes(path.join(root, 'c')).get('ratings.csv')!.equals(a.get('ratings.csv')!)).toBe(false);
    await expect(writeShapedData({ ...shape, out: path.join(root, 'a') })).rejects.toThrow(/already exists/);
  });

  it('has the shape asked for: the ratings exactly, every user, movies up to the catalogue; valid rows', () => {
    const rows = readRatings(path.join(root, 'a', 'ratings.csv'));
    expect(rows.length).toBe(shape.ratings);
    const users = new Set(rows.map((r) => r.userId));
    expect(users.size).toBe(shape.users);
    const movies = new Set(rows.map((r) => r.movieId));
    expect(movies.size).toBeGreaterThan(shape.movies * 0.6);
    expect(Math.max(...movies)).toBeLessThanOrEqual(shape.movies);
    const pairs = new Set(rows.map((r) => `${r.userId},${r.movieId}`));
    expect(pairs.size).toBe(rows.length);
    const lo = Date.UTC(1996, 0, 1) / 1000;
    const hi = Date.UTC(2019, 10, 21) / 1000;
    const invalid = rows.filter(
      (r) =>
        r.rating * 2 !== Math.round(r.rating * 2) ||
        r.rating < 0.5 ||
        r.rating > 5 ||
        !(r.timestamp >= lo && r.timestamp < hi),
    );
    expect(invalid).toEqual([]);
    // A long tail: the top tenth of the rated movies draws a large share of the ratings; users in sessions
    // (most consecutive ratings of a user minutes apart) but spread over time.
    const counts = new Map<number, number>();
    for (const r of rows) counts.set(r.movieId, (counts.get(r.movieId) ?? 0) + 1);
    const sorted = [...counts.values()].sort((x, y) => y - x);
    const top = sorted.slice(0, Math.ceil(sorted.length / 10)).reduce((s, c) => s + c, 0);
    expect(top / rows.length).toBeGreaterThan(0.35);
    let near = 0;
    for (let i = 1; i < rows.length; i++)
      if (rows[i].userId === rows[i - 1].userId && Math.abs(rows[i].timestamp - rows[i - 1].timestamp) < 300) near++;
    expect(near / rows.length).toBeGreaterThan(0.6);
    const years = new Set(rows.map((r) => new Date(r.timestamp * 1000).getUTCFullYear()));
    expect(years.size).toBeGreaterThan(15);
  });

  it('knows the MovieLens shapes', () => {
    expect(SHAPES['ml-25m']).toEqual({ ratings: 25_000_095, movies: 62_423, users: 162_541 });
  });

  it("on a niche world the oracle (the world's choice probabilities) beats popular by far and covers the catalogue", async () => {
    const out = path.join(root, 'niche');
    await writeShapedData({ ratings: 60_000, movies: 4_000, users: 800, seed: 3, niche: true, out });
    const data = await loadDatasetDir(out);
    const world = readWorldBeside(out)!;
    expect(world.shape).toMatchObject({ ratings: 60_000, movies: 4_000, niche: true });
    const report = await evaluate(data.interactions, data.catalogue, ['popular'], {
      split: 'user',
      seed: 1,
      k: 10,
      oracle: worldOracle(world, data.interactions),
    });
    const [oracle, popular] = report.rows;
    expect(oracle.algorithm).toBe('oracle');
    expect(oracle.ndcg).toBeGreaterThan(popular.ndcg * 2);
    expect(oracle.coverage).toBeGreaterThan(0.2);
    expect(popular.coverage).toBeLessThan(0.01);
  }, 60_000);
});

describeEachEngine('a shaped data set loads with reco ingest (initial_data format)', (t) => {
  const root = tempDir('reco-shaped-ingest-');
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('ingests every movie and rating, rejecting none', async () => {
    const out = path.join(root, 'initial_data');
    await writeShapedData({ ratings: 5_000, movies: 800, users: 100, seed: 9, niche: true, out });
    const summary = await ingest(t.db, { from: out, dataDir: root });
    const byKind = Object.fromEntries(summary.files.map((f) => [f.kind, f]));
    expect(byKind.movies).toMatchObject({ read: 800, accepted: 800 });
    expect(byKind.ratings).toMatchObject({ read: 5_000, accepted: 5_000 });
    const n = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM ratings');
    expect(n.rows[0].n).toBe(5_000);
    const years = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM movies WHERE year IS NOT NULL');
    expect(years.rows[0].n).toBe(800);
  }, 120_000);
});

describe('reco simulate data --ratings … then reco evaluate --from (CLI)', () => {
  const dir = tempDir('reco-shaped-cli-');
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes the data set and evaluate prints the oracle row first', async () => {
    const out = path.join(dir, 'niche');
    const sim = await runCli(
      [
        'simulate',
        'data',
        '--ratings',
        '6000',
        '--movies',
        '600',
        '--users',
        '120',
        '--niche',
        '--seed',
        '4',
        '--out',
        out,
        '--json',
      ],
      { env: { RECO_DATA_DIR: dir } },
    );
    expect(sim.code).toBe(0);
    expect(JSON.parse(sim.stdout)).toMatchObject({ ratings: 6000, movies: 600, users: 120, seed: 4, niche: true });
    const ev = await runCli(['evaluate', '--from', out, '--algorithms', 'popular,rp3beta', '--json'], {
      env: { RECO_DATA_DIR: dir },
      timeoutMs: 120_000,
    });
    expect(ev.code).toBe(0);
    const rows = JSON.parse(ev.stdout).rows as { algorithm: string; ndcg: number }[];
    expect(rows.map((r) => r.algorithm)).toEqual(['oracle', 'popular', 'rp3beta']);
    expect(rows[0].ndcg).toBeGreaterThan(rows[1].ndcg);
  }, 180_000);
});
