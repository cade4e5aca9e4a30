import fs from 'node:fs';
import path from 'node:path';
import { kmeans } from 'ml-kmeans';
import { genreProfile } from '../../src/core/features/genre-profile.js';
import { parseDay } from '../../src/core/simulation/dates.js';
import { simulateData, type SimulationSummary } from '../../src/core/simulation/data.js';
import { Rng } from '../../src/core/data/random.js';
import { TASTE_GROUPS, World } from '../../src/core/simulation/world.js';
import { tempDir } from '../helpers/engines.js';
import { readRatings, shippedCatalogue, treeBytes, type ParsedRating } from './helpers.js';

/** The data simulator on its own: determinism and the statistical shape that models and analysts rely on. */
describe('simulateData', () => {
  const catalogue = shippedCatalogue();
  const maxCatalogueId = Math.max(...catalogue.map((m) => m.movieId));
  const root = tempDir('reco-sim-');
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
  const run = (out: string, over: Partial<Parameters<typeof simulateData>[0]> = {}) =>
    simulateData({
      catalogue,
      start: '2018-09-25',
      days: 3,
      users: 300,
      newMovies: 3,
      badRows: 0,
      seed: 7,
      out: path.join(root, out),
      ...over,
    });

  let summary: SimulationSummary;
  let ratings: ParsedRating[];
  beforeAll(async () => {
    summary = await run('base');
    ratings = summary.day_summaries.flatMap((d) => readRatings(d.files.ratings.path));
  });

  it('writes simulation_data/YYYY/MM/DD/{movies.csv,ratings.csv} for each day and nothing else', () => {
    expect([...treeBytes(path.join(root, 'base')).keys()]).toEqual([
      '2018/09/25/movies.csv',
      '2018/09/25/ratings.csv',
      '2018/09/26/movies.csv',
      '2018/09/26/ratings.csv',
      '2018/09/27/movies.csv',
      '2018/09/27/ratings.csv',
    ]);
  });

  it('gives byte-identical files for the same seed and different files for another seed', async () => {
    await run('again');
    await run('other', { seed: 8 });
    const base = treeBytes(path.join(root, 'base'));
    const again = treeBytes(path.join(root, 'again'));
    const other = treeBytes(path.join(root, 'other'));
    for (const [file, bytes] of base) expect(again.get(file)!.equals(bytes)).toBe(true);
    expect(other.get('2018/09/25/ratings.csv')!.equals(base.get('2018/09/25/ratings.csv')!)).toBe(false);
  });

  it('refuses to overwrite an existing day unless forced', async () => {
    await expect(run('base')).rejects.toThrow(/already exists/);
    await expect(run('base', { force: true })).resolves.toMatchObject({ days: 3 });
  });

  it('writes valid MovieLens ratings: 0.5–5 in half steps, timestamps inside their day, one row per user and movie', () => {
    for (const d of summary.day_summaries) {
      const start = parseDay(d.day);
      const rows = readRatings(d.files.ratings.path);
      expect(rows.length).toBe(d.files.ratings.good);
      for (const r of rows) {
        expect(r.rating * 2).toBe(Math.round(r.rating * 2));
        expect(r.rating).toBeGreaterThanOrEqual(0.5);
        expect(r.rating).toBeLessThanOrEqual(5);
        expect(r.timestamp).toBeGreaterThanOrEqual(start);
        expect(r.timestamp).toBeLessThan(start + 86_400);
      }
    }
    const pairs = new Set(ratings.map((r) => `${r.userId}:${r.movieId}`));
    expect(pairs.size).toBe(ratings.length);
  });

  it('uses user ids that never collide with MovieLens users, with returning users across days and new ones each day', () => {
    expect(Math.min(...ratings.map((r) => r.userId))).toBeGreaterThan(1_000_000);
    const days = summary.day_summaries.map((d) => new Set(readRatings(d.files.ratings.path).map((r) => r.userId)));
    const returning = [...days[1]].filter((u) => days[0].has(u));
    expect(returning.length).toBeGreaterThan(10);
    for (const d of summary.day_summaries) expect(d.users.new).toBe(summary.new_users_per_day);
    const firstDayNew = [...days[0]].filter((u) => u >= 20_000_000);
    expect(firstDayNew.length).toBe(summary.new_users_per_day);
  });

  it('adds a few new movies a day with ids above the catalogue, listed in that day’s movies.csv and rated', () => {
    const ids = summary.day_summaries.flatMap((d) => d.new_movie_ids);
    expect(ids).toEqual(Array.from({ length: 9 }, (_, i) => maxCatalogueId + 1 + i));
    const last = fs.readFileSync(summary.day_summaries[2].files.movies.path, 'utf8');
    expect(last.split('\n')[0]).toBe('movieId,title,genres');
    for (const id of ids) expect(last).toMatch(new RegExp(`^${id},The [A-Za-z]+ [A-Za-z]+ \\(2018\\),`, 'm'));
    expect(last.trimEnd().split('\n').length - 1).toBe(catalogue.length + 9);
    expect(ratings.some((r) => r.movieId > maxCatalogueId)).toBe(true);
  });

  it('has a long popularity tail: a tenth of the rated movies draw about half the ratings, most get one', () => {
    const counts = new Map<number, number>();
    for (const r of ratings) counts.set(r.movieId, (counts.get(r.movieId) ?? 0) + 1);
    const sorted = [...counts.values()].sort((a, b) => b - a);
    const top = sorted.slice(0, Math.ceil(sorted.length / 10)).reduce((a, b) => a + b, 0);
    expect(top / ratings.length).toBeGreaterThan(0.4);
    expect(sorted.filter((c) => c === 1).length / sorted.length).toBeGreaterThan(0.5);
    expect(sorted[0]).toBeGreaterThan(20 * sorted[Math.floor(sorted.length / 2)]);
  });

  it('is busier in the evening than before dawn (UTC)', () => {
    const byHour = new Array(24).fill(0);
    for (const r of ratings) byHour[Math.floor((r.timestamp % 86_400) / 3600)]++;
    const evening = byHour[18] + byHour[19] + byHour[20] + byHour[21];
    const dawn = byHour[3] + byHour[4] + byHour[5] + byHour[6];
    expect(evening).toBeGreaterThan(2.5 * dawn);
  });

  it('has taste groups that clustering recovers from the users’ genre profiles', () => {
    const genres = new Map(catalogue.map((m) => [m.movieId, m.genres]));
    for (const d of summary.day_summaries) for (const id of d.new_movie_ids) genres.set(id, []);
    const byUser = new Map<number, { genres: readonly string[]; rating: number }[]>();
    for (const r of ratings) {
      if (!byUser.has(r.userId)) byUser.set(r.userId, []);
      byUser.get(r.userId)!.push({ genres: genres.get(r.movieId) ?? [], rating: r.rating });
    }
    const users = [...byUser.entries()].filter(([, h]) => h.length >= 8);
    expect(users.length).toBeGreaterThan(60);
    const profiles = users.map(([, h]) => Array.from(genreProfile(h)));
    const world = new World(7, catalogue);
    const truth = users.map(([id]) => world.user(id).group);
    const { clusters } = kmeans(profiles, TASTE_GROUPS, { seed: 1, initialization: 'kmeans++' });
    // Purity: each cluster's most common true group, over all users. Chance level is about the largest group's share.
    let pure = 0;
    for (let c = 0; c < TASTE_GROUPS; c++) {
      const tally = new Array(TASTE_GROUPS).fill(0);
      clusters.forEach((k, i) => k === c && tally[truth[i]]++);
      pure += Math.max(...tally);
    }
    const largestGroup = Math.max(
      ...Array.from({ length: TASTE_GROUPS }, (_, g) => truth.filter((t) => t === g).length),
    );
    expect(pure / users.length).toBeGreaterThan(0.65);
    expect(pure / users.length).toBeGreaterThan(largestGroup / users.length + 0.25);
  });

  it('rates movies of a user’s loved genres higher than those of their disliked genres', () => {
    const world = new World(7, catalogue);
    const index = new Map(world.movies.map((m, i) => [m.movieId, i]));
    let loved = 0,
      lovedN = 0,
      disliked = 0,
      dislikedN = 0;
    for (const r of ratings) {
      const i = index.get(r.movieId);
      if (i === undefined) continue;
      const a = world.affinity(world.groupCentres[world.user(r.userId).group], i);
      if (a > 0.5) {
        loved += r.rating;
        lovedN++;
      }
      if (a < -0.3) {
        disliked += r.rating;
        dislikedN++;
      }
    }
    expect(lovedN).toBeGreaterThan(100);
    expect(dislikedN).toBeGreaterThan(10);
    expect(loved / lovedN - disliked / dislikedN).toBeGreaterThan(0.5);
  });

  it('rejects bad options with one clear message', async () => {
    await expect(run('x', { days: 0 })).rejects.toThrow('--days must be a whole number from 1 to 3650 (got 0)');
    await expect(run('x', { badRows: 0.9 })).rejects.toThrow(/--bad-rows must be a share from 0 to 0.5/);
    await expect(run('x', { start: '2018-02-30' })).rejects.toThrow(/not a date: "2018-02-30"/);
  });
});

describe('Rng', () => {
  it('repeats its sequence for a seed and label, and differs across labels', () => {
    const a = new Rng(7, 'x');
    const b = new Rng(7, 'x');
    const c = new Rng(7, 'y');
    const sa = Array.from({ length: 5 }, () => a.nextUint32());
    expect(Array.from({ length: 5 }, () => b.nextUint32())).toEqual(sa);
    expect(Array.from({ length: 5 }, () => c.nextUint32())).not.toEqual(sa);
  });

  it('is uniform enough: mean and deciles of 100k draws', () => {
    const r = new Rng(1);
    const bins = new Array(10).fill(0);
    let sum = 0;
    for (let i = 0; i < 100_000; i++) {
      const x = r.next();
      sum += x;
      bins[Math.floor(x * 10)]++;
    }
    expect(sum / 100_000).toBeCloseTo(0.5, 2);
    for (const b of bins) expect(Math.abs(b - 10_000)).toBeLessThan(500);
  });
});
