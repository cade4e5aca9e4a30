/**
 * bench:scale — how each cost grows with the data: for each size, `reco simulate data` (ML-25M's shape scaled
 * down) → `reco ingest` → `reco train` (auto) → `reco evaluate --from` the folder (with the world's oracle), each
 * step a child process of the CLI as installed, timed (wall) with its peak RSS.
 *
 *   npm run bench:scale                                   # sizes 1M and 5M ratings, embedded database
 *   BENCH_SIZES=1000000,5000000,25000000 npm run bench:scale
 *   BENCH_PG=postgres://postgres@127.0.0.1:5432/postgres npm run bench:scale   # a fresh database per size
 *   BENCH_STEPS=simulate,ingest BENCH_NICHE=1 …           # some steps only; a niche world
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { buildCli } from './built-cli.js';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const ML25M = { ratings: 25_000_095, movies: 62_423, users: 162_541 };
const sizes = (process.env.BENCH_SIZES ?? '1000000,5000000').split(',').map(Number);
const steps = new Set((process.env.BENCH_STEPS ?? 'simulate,ingest,train,evaluate').split(','));
const niche = process.env.BENCH_NICHE === '1';
const adminUrl = process.env.BENCH_PG;

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

async function withDatabase<T>(name: string, fn: (url: string | undefined) => Promise<T>): Promise<T> {
  if (!adminUrl) return fn(undefined);
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name}`);
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

async function main() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'reco-bench-scale-'));
  const entry = buildCli(path.join(work, 'cli'));
  if (!entry) process.exit(1);
  console.log(
    `bench:scale on ${os.cpus().length} cores (${os.cpus()[0]?.model}), Node ${process.version}, load ${os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}; database ${adminUrl ? 'PostgreSQL' : 'embedded PGlite'}; ${niche ? 'niche world' : 'default world'}`,
  );
  const table: string[] = [
    '| ratings | movies | users | step | wall s | peak RSS MB | note |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  try {
    for (const size of sizes) {
      const shape = scaledShape(size);
      const dataDir = path.join(work, `data-${size}`);
      const folder = path.join(dataDir, 'initial_data');
      await withDatabase(`reco_bench_scale_${size}`, async (url) => {
        const env: Record<string, string> = {
          RECO_DATA_DIR: dataDir,
          RECO_MODELS_DIR: path.join(dataDir, 'models'),
          ...(url ? { DATABASE_URL: url } : {}),
        };
        const row = (r: StepResult, note: string) => {
          const line = `| ${shape.ratings} | ${shape.movies} | ${shape.users} | ${r.step} | ${r.wall.toFixed(1)} | ${r.peakRssMb.toFixed(0)} | ${note} |`;
          table.push(line);
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
          const r = await runStep(entry, 'ingest', ['ingest', '--from', folder], env);
          row(r, `${r.json.database?.ratings_inserted ?? '?'} ratings inserted`);
        }
        if (steps.has('train')) {
          const r = await runStep(entry, 'train', ['train'], env);
          row(r, `auto picked ${r.json.algorithm}, holdout nDCG@10 ${Number(r.json.metrics?.ndcg_at_10).toFixed(4)}`);
        }
        if (steps.has('evaluate')) {
          const r = await runStep(
            entry,
            'evaluate',
            ['evaluate', '--from', folder, '--algorithms', process.env.BENCH_ALGORITHMS ?? 'popular,ease,rp3beta'],
            env,
          );
          row(
            r,
            (r.json.rows as { algorithm: string; ndcg: number; coverage: number }[])
              .map((x) => `${x.algorithm} ${x.ndcg.toFixed(3)} (cov ${x.coverage.toFixed(2)})`)
              .join(', '),
          );
        }
      });
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  console.log('\n' + table.join('\n'));
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
