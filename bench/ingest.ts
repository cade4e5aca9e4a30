/**
 * bench:ingest — `reco ingest` of 1,000,000 generated ratings into the local PostgreSQL, end to end (parse,
 * validate, archive, processed files, load, vectors), against psql's `\copy` of the same rows into a table
 * with the columns and primary key of `ratings`, in the same run. Target: ingest reaches ≥ 50 % of psql's
 * rows per second, with a peak RSS under 400 MB. Also reports the embedded engine (PGlite).
 *
 * `reco ingest` runs as a child process twice on PostgreSQL: from the TypeScript sources through tsx (as
 * `bin/dev.js`; tsx compiles every module at start-up, ~2 s) and as the built CLI (`bin/run.js` over a
 * private `tsc` build in the temp folder, what an installed `reco` runs; the shared dist/ is not touched).
 *
 *   npm run bench:ingest [-- --rows 1000000] [--no-pglite] [--pairs 4]
 *
 * After the runs above, PAIRS (default 4) back-to-back pairs of psql and the built CLI on a migrated database
 * give the headline ratio (the median of the pairs).
 * RECO_BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres) is the server to make databases on.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { buildCli } from './built-cli.js';
import { GENRES } from '../src/core/features/genres.js';
import { psqlCopy } from './pg-reference.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ADMIN_URL = process.env.RECO_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const args = process.argv.slice(2);
const ROWS = Number(args[args.indexOf('--rows') + 1] || 0) || 1_000_000;
const WITH_PGLITE = !args.includes('--no-pglite');
const PAIRS = args.includes('--pairs') ? Number(args[args.indexOf('--pairs') + 1]) : 4;
const PER_USER = 100;
const MOVIES = 10_000;

/** A small deterministic generator (LCG) so every run ingests the same bytes. */
function lcg(seed: number) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

function generate(dir: string): void {
  const rnd = lcg(42);
  fs.mkdirSync(dir, { recursive: true });
  const movies = ['movieId,title,genres'];
  for (let m = 1; m <= MOVIES; m++) {
    const g = new Set<string>();
    const k = 1 + Math.floor(rnd() * 3);
    for (let j = 0; j < k; j++) g.add(GENRES[Math.floor(rnd() * GENRES.length)]);
    movies.push(`${m},Movie ${m} (${1950 + (m % 70)}),${[...g].join('|')}`);
  }
  fs.writeFileSync(path.join(dir, 'movies.csv'), movies.join('\n') + '\n');
  const fd = fs.openSync(path.join(dir, 'ratings.csv'), 'w');
  fs.writeSync(fd, 'userId,movieId,rating,timestamp\n');
  let chunk = '';
  for (let i = 0; i < ROWS; i++) {
    const u = Math.floor(i / PER_USER) + 1;
    const j = i % PER_USER;
    // 101 is coprime with MOVIES, so a user's PER_USER movies are distinct.
    const movie = ((u * 7919 + j * 101) % MOVIES) + 1;
    const rating = (1 + Math.floor(rnd() * 10)) / 2;
    const ts = 1_200_000_000 + Math.floor(rnd() * 400_000_000);
    chunk += `${u},${movie},${rating.toFixed(1)},${ts}\n`;
    if (chunk.length > 1 << 20) {
      fs.writeSync(fd, chunk);
      chunk = '';
    }
  }
  fs.writeSync(fd, chunk);
  fs.closeSync(fd);
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function freshDatabase(name: string): Promise<string> {
  await admin(async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.query(`CREATE DATABASE ${name}`);
  });
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

const dropDatabase = (name: string) => admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));

/**
 * For comparison, not the target: psql's \copy of the same rows (ids resolved) into the real `ratings` table
 * of the ingested database (its primary key and CHECK; no foreign keys since migration 011), after emptying it.
 */
function psqlCopyIntoRatings(url: string, file: string): number {
  execFileSync('psql', [
    url,
    '-qc',
    `\\copy (SELECT user_id, movie_id, rating, rated_at FROM ratings) TO '${file}' WITH (FORMAT csv)`,
  ]);
  execFileSync('psql', [url, '-qc', 'TRUNCATE ratings']);
  const t0 = performance.now();
  execFileSync('psql', [
    url,
    '-qc',
    `\\copy ratings (user_id, movie_id, rating, rated_at) FROM '${file}' WITH (FORMAT csv)`,
  ]);
  return (performance.now() - t0) / 1000;
}

interface IngestRun {
  wallSeconds: number;
  inProcessSeconds: number;
  peakRssBytes: number;
  summary: any;
}

/** `reco ingest` as a child process: through tsx from the sources, or the built CLI's run.js. */
function runIngest(from: string, env: Record<string, string | undefined>, builtCli?: string): Promise<IngestRun> {
  return new Promise((resolve, reject) => {
    const childEnv: Record<string, string> = {};
    for (const [k, v] of Object.entries({ ...process.env, NODE_OPTIONS: undefined, DATABASE_URL: undefined, ...env }))
      if (v !== undefined) childEnv[k] = v;
    const t0 = performance.now();
    const entry = builtCli ? [builtCli] : ['--import', 'tsx', path.join(ROOT, 'bin/dev.js')];
    const child = spawn(
      process.execPath,
      ['--import', path.join(ROOT, 'bench/ingest-rss-preload.mjs'), ...entry, 'ingest', '--from', from, '--json'],
      {
        cwd: ROOT,
        env: childEnv,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => {
      const wallSeconds = (performance.now() - t0) / 1000;
      if (code !== 0) return reject(new Error(`reco ingest exited ${code}: ${stderr}`));
      const summary = JSON.parse(stdout);
      const rss = /bench-peak-rss-bytes (\d+)/.exec(stderr);
      resolve({
        wallSeconds,
        inProcessSeconds: summary.duration_ms / 1000,
        peakRssBytes: rss ? Number(rss[1]) : NaN,
        summary,
      });
    });
  });
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function main() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'reco-bench-ingest-'));
  const src = path.join(work, 'source');
  try {
    console.log(`generating ${fmt(ROWS)} ratings (${fmt(ROWS / PER_USER)} users, ${fmt(MOVIES)} movies) …`);
    generate(src);
    const file = path.join(src, 'ratings.csv');
    console.log(`ratings.csv: ${(fs.statSync(file).size / 1e6).toFixed(1)} MB`);

    const cli = buildCli(path.join(work, 'cli'));
    const refUrl = await freshDatabase('reco_bench_ref');
    const ingestUrl = await freshDatabase('reco_bench_ingest');
    const builtUrl = await freshDatabase('reco_bench_ingest_built');
    // Reference before and after the ingests, so machine load drifting during the run affects both sides alike.
    const psql1 = psqlCopy(refUrl, file);
    const pgRun = await runIngest(src, { DATABASE_URL: ingestUrl, RECO_DATA_DIR: path.join(work, 'data-pg') });
    const builtRun = cli
      ? await runIngest(src, { DATABASE_URL: builtUrl, RECO_DATA_DIR: path.join(work, 'data-pg-built') }, cli)
      : undefined;
    const psql2 = psqlCopy(refUrl, file);
    const realSchema = psqlCopyIntoRatings(ingestUrl, path.join(work, 'ratings-real.csv'));
    const psqlSeconds = (psql1 + psql2) / 2;
    const s = pgRun.summary;
    for (const r of [pgRun, builtRun]) {
      if (r && r.summary.database.ratings_inserted !== ROWS)
        throw new Error(`expected ${ROWS} ratings inserted, got ${r.summary.database.ratings_inserted}`);
    }

    const psqlRate = ROWS / psqlSeconds;
    const wallRate = ROWS / pgRun.wallSeconds;
    const inRate = ROWS / pgRun.inProcessSeconds;
    const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MB`;
    console.log(
      `\npsql \\copy (table with ratings' columns + PK): ${psql1.toFixed(2)} s, ${psql2.toFixed(2)} s → ${fmt(psqlRate)} rows/s`,
    );
    console.log(
      `reco ingest on PostgreSQL through tsx (bin/dev.js), process wall time: ${pgRun.wallSeconds.toFixed(2)} s → ${fmt(wallRate)} rows/s`,
    );
    console.log(
      `reco ingest on PostgreSQL, ingest() itself: ${pgRun.inProcessSeconds.toFixed(2)} s → ${fmt(inRate)} rows/s`,
    );
    console.log(`  where the time went (ms): ${JSON.stringify(s.timings_ms)}`);
    console.log(`  peak RSS: ${mb(pgRun.peakRssBytes)} (target < 400 MB)`);
    if (builtRun) {
      console.log(
        `reco ingest on PostgreSQL, built CLI (bin/run.js), process wall time: ${builtRun.wallSeconds.toFixed(2)} s → ${fmt(ROWS / builtRun.wallSeconds)} rows/s; ingest() ${builtRun.inProcessSeconds.toFixed(2)} s; peak RSS ${mb(builtRun.peakRssBytes)}`,
      );
      console.log(`  where the time went (ms): ${JSON.stringify(builtRun.summary.timings_ms)}`);
    }
    console.log(
      `psql \\copy of the same rows into the real \`ratings\` table (PK + CHECK, no foreign keys): ${realSchema.toFixed(2)} s → ${fmt(ROWS / realSchema)} rows/s`,
    );
    console.log(
      `RATIO ingest/psql into the real ratings table: ${(wallRate / (ROWS / realSchema)).toFixed(3)} end to end through tsx, ${(inRate / (ROWS / realSchema)).toFixed(3)} for ingest()`,
    );
    const builtRatio = builtRun
      ? `, ${(ROWS / builtRun.wallSeconds / psqlRate).toFixed(3)} end to end as the built CLI (ingest() ${(ROWS / builtRun.inProcessSeconds / psqlRate).toFixed(3)})`
      : '';
    console.log(
      `RATIO ingest/psql rows per second: ${(wallRate / psqlRate).toFixed(3)} end to end through tsx, ${(inRate / psqlRate).toFixed(3)} for ingest()${builtRatio} (target ≥ 0.50)`,
    );
    // The built CLI again, in PAIRS back-to-back pairs with psql (the load of the shared machine moves within
    // seconds, so each ratio compares two neighbouring runs; the median is the figure; odd pairs run the ingest
    // first). The schema is migrated
    // before (`reco db migrate`, not timed), as psql's table is created before its timer: a daily ingest finds
    // it migrated. The built run above includes the migrations of a fresh database.
    const pairs: { psql: number; wall: number; inProcess: number; rss: number; migrate: number }[] = [];
    if (cli) {
      for (let k = 0; k < PAIRS; k++) {
        const url = await freshDatabase('reco_bench_ingest_pair');
        const env = {
          ...process.env,
          NODE_OPTIONS: '',
          DATABASE_URL: url,
          RECO_DATA_DIR: path.join(work, `data-pair-${k}`),
        };
        const m0 = performance.now();
        execFileSync(process.execPath, [cli, 'db', 'migrate'], { cwd: ROOT, env, stdio: 'pipe' });
        const migrate = (performance.now() - m0) / 1000;
        // Alternating which side goes first: the one after inherits the other's dirty buffers and WAL.
        let psql = 0;
        if (k % 2 === 1) psql = psqlCopy(refUrl, file);
        const run = await runIngest(src, { DATABASE_URL: url, RECO_DATA_DIR: path.join(work, `data-pair-${k}`) }, cli);
        if (k % 2 === 0) psql = psqlCopy(refUrl, file);
        if (run.summary.database.ratings_inserted !== ROWS)
          throw new Error(`expected ${ROWS} ratings inserted, got ${run.summary.database.ratings_inserted}`);
        pairs.push({ psql, wall: run.wallSeconds, inProcess: run.inProcessSeconds, rss: run.peakRssBytes, migrate });
        console.log(
          `pair ${k + 1}: psql ${psql.toFixed(2)} s, built CLI on a migrated database ${run.wallSeconds.toFixed(2)} s (ingest() ${run.inProcessSeconds.toFixed(2)} s, peak RSS ${mb(run.peakRssBytes)}; reco db migrate before it ${migrate.toFixed(2)} s) → ratio ${(psql / run.wallSeconds).toFixed(3)}`,
        );
        console.log(`  where the time went (ms): ${JSON.stringify(run.summary.timings_ms)}`);
        await dropDatabase('reco_bench_ingest_pair');
      }
      const ratios = pairs.map((x) => x.psql / x.wall).sort((a, b) => a - b);
      const mid = ratios.length / 2;
      const median = ratios.length % 2 ? ratios[Math.floor(mid)] : (ratios[mid - 1] + ratios[mid]) / 2;
      console.log(
        `RATIO built CLI / psql rows per second, median of ${pairs.length} pairs: ${median.toFixed(3)} (${ratios.map((r) => r.toFixed(3)).join(', ')}) (target ≥ 0.50)`,
      );
    }
    await dropDatabase('reco_bench_ref');
    await dropDatabase('reco_bench_ingest');
    await dropDatabase('reco_bench_ingest_built');

    if (WITH_PGLITE) {
      const lite = await runIngest(src, { RECO_DATA_DIR: path.join(work, 'data-pglite') });
      if (lite.summary.database.ratings_inserted !== ROWS)
        throw new Error(`PGlite: expected ${ROWS} ratings inserted, got ${lite.summary.database.ratings_inserted}`);
      console.log(
        `\nreco ingest on PGlite (embedded): ${lite.wallSeconds.toFixed(2)} s wall, ingest() ${lite.inProcessSeconds.toFixed(2)} s → ${fmt(ROWS / lite.inProcessSeconds)} rows/s, peak RSS ${(lite.peakRssBytes / 2 ** 20).toFixed(0)} MB`,
      );
      console.log(`  where the time went (ms): ${JSON.stringify(lite.summary.timings_ms)}`);
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
