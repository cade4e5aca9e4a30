/**
 * bench:scale — how each cost grows with the data: for each size, `reco simulate data` (ML-25M's shape scaled
 * down) → `reco ingest` → `reco train` (auto) → `reco evaluate`, each step a child process of the CLI as
 * installed, timed (wall) with its peak RSS. On PostgreSQL (BENCH_PG) the same run also measures PostgreSQL's own
 * tools on the same data (bench/pg-reference.ts): psql's `\copy` of the ratings file into a table indexed as
 * `ratings` (before and after the ingest; the ratio is against their mean), and step `backup`: `reco backup-db`
 * and `reco restore-db` (into a fresh database) against `pg_dump -Fc` and `pg_restore` of the same database;
 * `evaluate` is then `--from db` (else the folder, with the world's oracle).
 *
 *   npm run bench:scale                                   # sizes 1M and 5M ratings, embedded database
 *   BENCH_SIZES=1000000,5000000,25000000 npm run bench:scale
 *   BENCH_PG=postgres://postgres@127.0.0.1:5432/postgres npm run bench:scale   # a fresh database per size
 *   BENCH_STEPS=simulate,ingest,backup BENCH_NICHE=1 …    # some steps only; a niche world
 *   BENCH_EVAL_USERS=20000 …                              # evaluate scores a sample of users (--sample-users)
 *   BENCH_RESULTS=scale.json BENCH_CHART=docs/images/scale.svg …   # keep rows across runs; chart them
 *   BENCH_DB=postgres://…/loaded BENCH_SIZES=25000095 BENCH_STEPS=evaluate,serve …   # an ingested database, kept
 *
 * Step `serve` (on a database with a trained model): `reco serve`'s model load at start (process start to the
 * "model loaded" log line of the active version) and at a hot swap (`reco models activate` of it again, after a
 * `popular` model trained with --force took over), its RSS, and `reco simulate traffic` at BENCH_TRAFFIC_RATE
 * (default 500) req/s for BENCH_TRAFFIC_SECONDS (default 20) three times — right after the start, again once
 * warm, right after the swap — each with its p99 and load average, the warm-ups' durations (the server's
 * `warm-up: … ms` log lines) and the server's peak RSS.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { lineWithBand } from '../src/core/reports/charts.js';
import { renderChartSvg } from '../src/core/reports/html.js';
import { buildCli } from './built-cli.js';
import { startChild, stop } from './children.js';
import { pgDump, pgRestore, psqlCopy } from './pg-reference.js';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const ML25M = { ratings: 25_000_095, movies: 62_423, users: 162_541 };
const sizes = (process.env.BENCH_SIZES ?? '1000000,5000000').split(',').map(Number);
const adminUrl = process.env.BENCH_PG;
const steps = new Set(
  (process.env.BENCH_STEPS ?? `simulate,ingest,train,evaluate${adminUrl ? ',backup' : ''}`).split(','),
);
const niche = process.env.BENCH_NICHE === '1';
const evalUsers = process.env.BENCH_EVAL_USERS;
const engine = adminUrl || process.env.BENCH_DB ? 'PostgreSQL' : 'embedded';
const trafficRate = Number(process.env.BENCH_TRAFFIC_RATE ?? 500);
const trafficSeconds = Number(process.env.BENCH_TRAFFIC_SECONDS ?? 20);

/** The ratings, movies and users of an existing database (BENCH_DB). */
async function shapeOf(url: string): Promise<{ ratings: number; movies: number; users: number }> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query(
      'SELECT (SELECT count(*) FROM ratings) AS ratings, (SELECT count(*) FROM movies) AS movies, (SELECT count(*) FROM users) AS users',
    );
    const row = r.rows[0];
    return { ratings: Number(row.ratings), movies: Number(row.movies), users: Number(row.users) };
  } finally {
    await c.end();
  }
}

/** ML-25M's shape at `ratings`: users in proportion, movies with the square root (catalogues grow slower). */
export function scaledShape(ratings: number): { ratings: number; movies: number; users: number } {
  const f = ratings / ML25M.ratings;
  return {
    ratings,
    users: Math.max(50, Math.round(ML25M.users * f)),
    movies: Math.max(500, Math.round(ML25M.movies * Math.sqrt(f))),
  };
}

interface StepResult {
  step: string;
  wall: number;
  peakRssMb: number;
  json: any;
}

function runStep(entry: string, step: string, args: string[], env: Record<string, string>): Promise<StepResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', path.join(ROOT, 'bench/ingest-rss-preload.mjs'), entry, ...args, '--json'],
      { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const wall = (performance.now() - started) / 1000;
      if (code !== 0) return reject(new Error(`${step} exited ${code}: ${err.slice(-2000)}`));
      const rss = /bench-peak-rss-bytes (\d+)/.exec(err);
      resolve({ step, wall, peakRssMb: rss ? Number(rss[1]) / 1e6 : NaN, json: JSON.parse(out) });
    });
  });
}

/** A fresh database `name` on BENCH_PG for `fn`, dropped after (none on the embedded engine). */
async function withDatabase<T>(name: string, fn: (url: string | undefined) => Promise<T>): Promise<T> {
  if (!adminUrl) return fn(undefined);
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${name}`);
  try {
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    return await fn(url.toString());
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

/** The server's resident set (Linux /proc), MB = 10⁶ bytes. */
function rssMb(pid: number | undefined): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(
    fs.existsSync(`/proc/${pid}/status`) ? fs.readFileSync(`/proc/${pid}/status`, 'utf8') : '',
  );
  return m ? (Number(m[1]) * 1024) / 1e6 : NaN;
}

/** The epoch ms (pino's `time`) of the first "model loaded" log line of `version` past byte `from` of the log. */
async function modelLoadedAt(logFile: string, version: string, from = 0, timeoutMs = 600_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const log = fs.readFileSync(logFile).subarray(from).toString('utf8');
    const line = log.split('\n').find((l) => l.includes('"model loaded"') && l.includes(`"version":"${version}"`));
    if (line) return JSON.parse(line).time as number;
    if (Date.now() > deadline) throw new Error(`${version} was not loaded within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

interface TrafficFigures {
  throughput_rps: number;
  latency_ms: Record<string, number>;
  requests: number;
  errors: { unexpected: number };
  rate_limited: number;
  /** The 1-minute load average as the run ended. */
  load: number;
}

/** The serve step: model load at start and at a hot swap, RSS, and the traffic mix's latency at a fixed rate. */
async function measureServe(entry: string, env: Record<string, string>, dataDir: string) {
  const active = (await runStep(entry, 'models', ['models', 'list'], env)).json as {
    models: { version: string; active: boolean; algorithm: string }[];
  };
  const model = active.models.find((m) => m.active);
  if (!model) throw new Error('serve: no active model (run the train step first)');
  const logFile = path.join(dataDir, 'serve.log');
  const t0 = Date.now();
  const server = await startChild(
    [entry, 'serve', '--port', '0'],
    // Any free metrics port: another server on the machine may hold the default one.
    { ...env, LOG_LEVEL: 'info', RECO_QUOTA_RATINGS_PER_HOUR: '100000000', RECO_METRICS_PORT: '0' },
    logFile,
    600_000,
  );
  try {
    const startLoad = ((await modelLoadedAt(logFile, model.version)) - t0) / 1000;
    const rssLoaded = rssMb(server.child.pid);
    const rss: number[] = [rssLoaded];
    const sampler = setInterval(() => rss.push(rssMb(server.child.pid)), 250);
    const traffic = () =>
      runStep(
        entry,
        'traffic',
        ['simulate', 'traffic', '--url', server.url, '--rate', String(trafficRate), '--concurrency', '64'].concat([
          '--duration',
          String(trafficSeconds),
          '--users',
          '2000',
        ]),
        env,
      ).then((r) => ({ ...(r.json as TrafficFigures), load: os.loadavg()[0] }));
    try {
      // Right after the start, then again once warm; then right after a hot swap.
      const afterStart = await traffic();
      const warm = await traffic();
      // Another version takes over (a popular model, cheap to fit), then the large one is activated again.
      const other = await runStep(entry, 'train-popular', ['train', '--algorithm', 'popular', '--force'], env);
      await modelLoadedAt(logFile, other.json.version);
      const logged = fs.statSync(logFile).size;
      const a0 = Date.now();
      await runStep(entry, 'activate', ['models', 'activate', model.version], env);
      const swapLoad = ((await modelLoadedAt(logFile, model.version, logged)) - a0) / 1000;
      const afterSwap = await traffic();
      return {
        model,
        startLoad,
        swapLoad,
        rssLoaded,
        rssMax: Math.max(...rss.filter(Number.isFinite)),
        warmUp: fs
          .readFileSync(logFile, 'utf8')
          .split('\n')
          .filter((l) => l.includes('"msg":"warm-up: '))
          .map((l) => JSON.parse(l) as { reason: string; ms: number }),
        afterStart,
        warm,
        afterSwap,
      };
    } finally {
      clearInterval(sampler);
    }
  } finally {
    await stop(server.child);
  }
}

/** One measured step as kept across runs (BENCH_RESULTS) for the chart. */
export interface ResultRow {
  engine: string;
  world: string;
  ratings: number;
  step: string;
  wall: number;
  peakRssMb: number;
}

/** Rows of earlier runs in `file`, those of this run replacing the same engine, world, size and step. */
function mergeResults(file: string, rows: ResultRow[]): ResultRow[] {
  const key = (r: ResultRow) => `${r.engine}|${r.world}|${r.ratings}|${r.step}`;
  const old: ResultRow[] = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : [];
  const fresh = new Set(rows.map(key));
  const all = [...old.filter((r) => !fresh.has(key(r))), ...rows].sort(
    (a, b) => a.ratings - b.ratings || a.step.localeCompare(b.step),
  );
  fs.writeFileSync(file, JSON.stringify(all, null, 1) + '\n');
  return all;
}

/** Wall time per step against ratings, one line per step and engine: the growth curves of docs/benchmarks/scale.md. */
export async function writeChart(file: string, rows: ResultRow[]): Promise<void> {
  const points = rows
    .filter((r) => r.world === 'default')
    .map((r) => ({
      x: r.ratings / 1e6,
      series: `${r.step} (${r.engine === 'PostgreSQL' ? 'PG' : 'embedded'})`,
      y: r.wall / 60,
    }));
  const svg = await renderChartSvg(
    lineWithBand(points, { x: 'ratings (millions)', y: 'wall time (minutes)', series: 'step (engine)' }),
  );
  fs.writeFileSync(file, svg);
}

async function main() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'reco-bench-scale-'));
  const entry = buildCli(path.join(work, 'cli'));
  if (!entry) process.exit(1);
  console.log(
    `bench:scale on ${os.cpus().length} cores (${os.cpus()[0]?.model}), Node ${process.version}, load ${os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(
        ' ',
      )}; database ${engine === 'PostgreSQL' ? 'PostgreSQL' : 'embedded PGlite'}; ${niche ? 'niche world' : 'default world'}; ${new Date().toISOString()}`,
  );
  const table: string[] = [
    '| ratings | movies | users | engine | step | wall s | peak RSS MB | note |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  const results: ResultRow[] = [];
  const world = niche ? 'niche' : 'default';
  try {
    for (const size of sizes) {
      const existing = process.env.BENCH_DB;
      // An existing database's rows are what the steps run on, whatever size BENCH_SIZES names.
      const shape = existing ? await shapeOf(existing) : scaledShape(size);
      const dataDir = path.join(work, `data-${size}`);
      const folder = path.join(dataDir, 'initial_data');
      fs.mkdirSync(dataDir, { recursive: true });
      const inDatabase = existing
        ? <T>(fn: (url: string | undefined) => Promise<T>) => fn(existing)
        : <T>(fn: (url: string | undefined) => Promise<T>) => withDatabase(`reco_bench_scale_${size}`, fn);
      await inDatabase(async (url) => {
        const env: Record<string, string> = {
          RECO_DATA_DIR: dataDir,
          RECO_MODELS_DIR: path.join(dataDir, 'models'),
          ...(url ? { DATABASE_URL: url } : {}),
        };
        const row = (r: StepResult, note: string) => {
          const line = `| ${shape.ratings} | ${shape.movies} | ${shape.users} | ${engine} | ${r.step} | ${r.wall.toFixed(1)} | ${r.peakRssMb.toFixed(0)} | ${note} (load ${os.loadavg()[0].toFixed(1)}) |`;
          table.push(line);
          results.push({ engine, world, ratings: shape.ratings, step: r.step, wall: r.wall, peakRssMb: r.peakRssMb });
          console.log(line);
        };
        if (steps.has('simulate')) {
          const args = [
            'simulate',
            'data',
            '--ratings',
            String(shape.ratings),
            '--movies',
            String(shape.movies),
            '--users',
            String(shape.users),
            '--seed',
            '42',
            '--out',
            folder,
            '--force',
            ...(niche ? ['--niche'] : []),
          ];
          row(await runStep(entry, 'simulate', args, env), `${niche ? 'niche world' : 'default world'}`);
        }
        if (steps.has('ingest')) {
          const file = path.join(folder, 'ratings.csv');
          // psql's \copy before and after the ingest, so load drifting during the run weighs on both sides.
          const copy = url
            ? () => withDatabase(`reco_bench_scale_ref`, async (ref) => psqlCopy(ref!, file))
            : undefined;
          const before = await copy?.();
          const r = await runStep(entry, 'ingest', ['ingest', '--from', folder], env);
          const after = await copy?.();
          const versus =
            before !== undefined && after !== undefined
              ? `; psql \\copy ${before.toFixed(1)} s and ${after.toFixed(1)} s → ratio ${((before + after) / 2 / r.wall).toFixed(2)} of its rows/s`
              : '';
          row(r, `${r.json.database?.ratings_inserted ?? '?'} ratings inserted${versus}`);
        }
        if (steps.has('train')) {
          const r = await runStep(entry, 'train', ['train'], env);
          row(r, `auto picked ${r.json.algorithm}, holdout nDCG@10 ${Number(r.json.metrics?.ndcg_at_10).toFixed(4)}`);
        }
        if (steps.has('evaluate')) {
          const args = [
            'evaluate',
            '--from',
            url ? 'db' : folder,
            '--algorithms',
            process.env.BENCH_ALGORITHMS ?? 'popular,ease,rp3beta',
            ...(evalUsers ? ['--sample-users', evalUsers] : []),
          ];
          const r = await runStep(entry, 'evaluate', args, env);
          const rows = r.json.rows as {
            algorithm: string;
            ndcg: number;
            coverage: number;
            ndcg_ci95?: number[];
            fit_seconds: number;
          }[];
          const ci = (x: (typeof rows)[number]) =>
            x.ndcg_ci95 ? ` [${x.ndcg_ci95.map((v) => v.toFixed(3)).join(', ')}]` : '';
          const { evaluated_users: evaluatedUsers, users_with_test: usersWithTest } = r.json.counts; // the CLI's JSON keys
          row(
            r,
            `from ${url ? 'db' : 'the folder'}, ${evaluatedUsers} of ${usersWithTest} users scored: ` +
              rows
                .map(
                  (x) =>
                    `${x.algorithm} ${x.ndcg.toFixed(3)}${ci(x)} (cov ${x.coverage.toFixed(2)}, fit ${x.fit_seconds.toFixed(0)} s)`,
                )
                .join(', '),
          );
        }
        if (steps.has('backup') && url) {
          const dir = path.join(dataDir, 'backups');
          const dump = path.join(dataDir, 'pg_dump.fc');
          const b = await runStep(entry, 'backup-db', ['backup-db', '--out', dir], env);
          const dumpS = pgDump(url, dump);
          row(
            b,
            `${(b.json.bytes / 1e6).toFixed(0)} MB archive; pg_dump -Fc ${dumpS.toFixed(1)} s (${(fs.statSync(dump).size / 1e6).toFixed(0)} MB) → ${(b.wall / dumpS).toFixed(2)} × its time`,
          );
          await withDatabase(`reco_bench_scale_restore`, async (target) => {
            const r = await runStep(entry, 'restore-db', ['restore-db', b.json.file], {
              ...env,
              DATABASE_URL: target!,
            });
            const restoreS = await withDatabase(`reco_bench_scale_pg_restore`, async (t) => pgRestore(t!, dump));
            row(r, `pg_restore ${restoreS.toFixed(1)} s → ${(r.wall / restoreS).toFixed(2)} × its time`);
          });
          fs.rmSync(dir, { recursive: true, force: true });
          fs.rmSync(dump, { force: true });
        }
        if (steps.has('serve') && url) {
          const r = await measureServe(entry, env, dataDir);
          const run = (t: TrafficFigures) =>
            `${t.throughput_rps.toFixed(0)} req/s, p50 ${t.latency_ms.p50} ms, p99 ${t.latency_ms.p99} ms, ${t.errors.unexpected} unexpected errors, ${t.rate_limited} rate limited (load ${t.load.toFixed(1)})`;
          const warmUps = r.warmUp.map((w) => `${w.reason} ${w.ms} ms`).join(', ') || 'none';
          const line = `| ${shape.ratings} | ${shape.movies} | ${shape.users} | ${engine} | serve | ${r.startLoad.toFixed(1)} | ${r.rssLoaded.toFixed(0)} | ${r.model.algorithm} ${r.model.version}: model load at start ${r.startLoad.toFixed(1)} s, at hot swap ${r.swapLoad.toFixed(1)} s; warm-ups ${warmUps}; RSS ${r.rssLoaded.toFixed(0)} MB loaded, ${r.rssMax.toFixed(0)} MB max under traffic; simulate traffic at ${trafficRate} req/s for ${trafficSeconds} s right after the start: ${run(r.afterStart)}; again, warm: ${run(r.warm)}; right after the swap: ${run(r.afterSwap)} |`;
          table.push(line);
          console.log(line);
        }
      });
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  console.log('\n' + table.join('\n'));
  const kept = process.env.BENCH_RESULTS ? mergeResults(process.env.BENCH_RESULTS, results) : results;
  if (process.env.BENCH_CHART) await writeChart(process.env.BENCH_CHART, kept);
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
