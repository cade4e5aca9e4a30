/**
 * bench:serve — the speed targets of `reco serve` (issue 5), measured in one run:
 *  1. authenticated POST /recommendations for existing users, req/s as a ratio of a bare node:http server
 *     answering a fixed 1 KB JSON, same load settings (target ≥ 0.5);
 *  2. p99 latency at a fixed 500 req/s for 30 s, no errors (target ≤ 25 ms);
 *  3. resident memory of the server with the ml-latest-small model (target < 300 MB).
 * Both servers run as child processes (the load generator, autocannon, runs here), the API on the local
 * PostgreSQL with data/initial_data ingested and a model trained. Env: RECO_BENCH_PG_URL (admin connection),
 * BENCH_ALGORITHM (default: train's default), BENCH_SECONDS (default 10), BENCH_CONNECTIONS (default 32).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import autocannon from 'autocannon';
import { openLoop } from './open-loop.js';
import pg from 'pg';
import { openDatabase } from '../src/core/db/open.js';
import { createClient } from '../src/core/db/repositories/clients.js';
import { ingest } from '../src/core/pipeline/index.js';
import { trainModel } from '../src/core/models/train.js';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const ADMIN_URL = process.env.RECO_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const PASSWORD = 'bench password 123';

async function adminQuery(sql: string) {
  const c = new pg.Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/** Starts a child that prints a JSON line {"msg":"listening","url":…} on stdout (logs go to a file). */
function startChild(args: string[], env: Record<string, string>, logFile: string): Promise<{ child: ChildProcess; url: string }> {
  const out = fs.openSync(logFile, 'w');
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env, NODE_OPTIONS: '' }, stdio: ['ignore', out, 'inherit'] });
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 60_000;
    const poll = setInterval(() => {
      const m = fs.readFileSync(logFile, 'utf8').match(/"msg":"listening"[^\n]*"url":"(http:\/\/[^"]+)"|"url":"(http:\/\/[^"]+)"[^\n]*"msg":"listening"/);
      if (m) {
        clearInterval(poll);
        resolve({ child, url: m[1] ?? m[2] });
      } else if (Date.now() > deadline || child.exitCode !== null) {
        clearInterval(poll);
        reject(new Error(`${args.join(' ')} did not start: ${fs.readFileSync(logFile, 'utf8').slice(-2000)}`));
      }
    }, 100);
  });
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('close', () => resolve());
    child.kill('SIGTERM');
  });
}

function run(opts: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon(opts, (err, result) => (err ? reject(err) : resolve(result)));
  });
}

function userIds(): number[] {
  const text = fs.readFileSync(path.join(ROOT, 'data/initial_data/ratings.csv'), 'utf8');
  const ids = new Set<number>();
  for (const line of text.split('\n').slice(1)) {
    const id = Number(line.slice(0, line.indexOf(',')));
    if (id > 0) ids.add(id);
  }
  return [...ids];
}

function recommendationRequests(token: string, ids: number[]): autocannon.Request[] {
  let k = 0;
  return [
    {
      method: 'POST',
      path: '/recommendations',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      setupRequest: (req: any) => ({ ...req, body: JSON.stringify({ user_id: ids[k++ % ids.length], n: 10 }) }),
    },
  ];
}

async function main() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'reco-bench-serve-'));
  const dbName = `reco_bench_${process.pid}_${randomBytes(3).toString('hex')}`;
  await adminQuery(`CREATE DATABASE ${dbName}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${dbName}`;
  const databaseUrl = url.toString();
  const children: ChildProcess[] = [];
  try {
    // Setup: the ml-latest-small data and a trained, active model.
    const db = await openDatabase({ databaseUrl, dataDir: work });
    let algorithm = '';
    try {
      await createClient(db, { username: 'bench', password: PASSWORD });
      const t0 = Date.now();
      const summary = await ingest(db, { from: path.join(ROOT, 'data/initial_data'), dataDir: work, client: 'bench' });
      console.error(`setup: ingested ${summary.accepted} rows in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      const t1 = Date.now();
      const trained = await trainModel(db, { modelsDir: path.join(work, 'models'), algorithm: process.env.BENCH_ALGORITHM });
      algorithm = trained.algorithm;
      console.error(`setup: trained ${algorithm} ${trained.version} in ${((Date.now() - t1) / 1000).toFixed(1)} s (nDCG@10 ${trained.metrics.ndcg_at_10})`);
    } finally {
      await db.close();
    }

    const api = await startChild(['--import', 'tsx', 'bin/dev.js', 'serve', '--port', '0'], { DATABASE_URL: databaseUrl, RECO_DATA_DIR: work, LOG_LEVEL: 'info' }, path.join(work, 'serve.log'));
    children.push(api.child);
    // The same server without the recommendation cache: every request scores (the cold path).
    const cold = await startChild(['--import', 'tsx', 'bin/dev.js', 'serve', '--port', '0', '--cache-size', '0'], { DATABASE_URL: databaseUrl, RECO_DATA_DIR: work, LOG_LEVEL: 'info' }, path.join(work, 'serve-cold.log'));
    children.push(cold.child);
    const bare = await startChild(['--import', 'tsx', 'bench/bare-server.ts'], {}, path.join(work, 'bare.log'));
    children.push(bare.child);

    const tokenRes = await fetch(`${api.url}/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'bench', password: PASSWORD }) });
    const token = ((await tokenRes.json()) as any).access_token as string;
    const ids = userIds();
    const probe = await fetch(`${api.url}/recommendations`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ user_id: ids[0], n: 10 }) });
    const probeBody: any = await probe.json();
    if (probe.status !== 200 || probeBody.recommendations.length !== 10) throw new Error(`probe failed: ${probe.status} ${JSON.stringify(probeBody).slice(0, 300)}`);

    const same = { connections: CONNECTIONS, pipelining: 1, duration: SECONDS };
    // Warm up both (JIT, pools, caches).
    await run({ ...same, duration: 3, url: bare.url, method: 'POST', body: '{"user_id":1,"n":10}', headers: { 'content-type': 'application/json' } });
    await run({ ...same, duration: 3, url: api.url, requests: recommendationRequests(token, ids) });

    const bareRun = await run({ ...same, url: bare.url, method: 'POST', body: '{"user_id":1,"n":10}', headers: { 'content-type': 'application/json' } });
    const apiRun = await run({ ...same, url: api.url, requests: recommendationRequests(token, ids) });
    const ratio = apiRun.requests.average / bareRun.requests.average;
    // For context: the same Express app on its cheapest route (no auth, no database, access log and metrics on).
    const healthRun = await run({ ...same, url: `${api.url}/healthz` });
    await run({ ...same, duration: 3, url: cold.url, requests: recommendationRequests(token, ids) });
    const coldRun = await run({ ...same, url: cold.url, requests: recommendationRequests(token, ids) });

    const fixed = await run({ connections: 25, pipelining: 1, duration: 30, overallRate: 500, url: api.url, requests: recommendationRequests(token, ids) });

    let k = 0;
    const paced = (url: string) =>
      openLoop({
        url,
        rate: 500,
        seconds: 30,
        request: () => ({
          method: 'POST',
          path: '/recommendations',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ user_id: ids[k++ % ids.length], n: 10 }),
        }),
      });
    const pacedApi = await paced(api.url);
    const pacedCold = await paced(cold.url);
    const fixedCold = await run({ connections: 25, pipelining: 1, duration: 30, overallRate: 500, url: cold.url, requests: recommendationRequests(token, ids) });

    const metrics = await (await fetch(`${api.url}/metrics`)).text();
    const coldMetrics = await (await fetch(`${cold.url}/metrics`)).text();
    const coldRss = Number(coldMetrics.match(/^process_resident_memory_bytes (\S+)/m)?.[1] ?? NaN);
    const rss = Number(metrics.match(/^process_resident_memory_bytes (\d+(?:\.\d+)?(?:e\+\d+)?)/m)?.[1] ?? NaN);
    const heap = Number(metrics.match(/^nodejs_heap_size_used_bytes (\S+)/m)?.[1] ?? NaN);

    const report = {
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
      settings: { connections: CONNECTIONS, pipelining: 1, seconds: SECONDS, algorithm },
      throughput: {
        bare_rps: Math.round(bareRun.requests.average),
        api_rps: Math.round(apiRun.requests.average),
        ratio: Number(ratio.toFixed(3)),
        target: '>= 0.5',
        api_errors: apiRun.errors + apiRun.timeouts,
        api_non2xx: apiRun.non2xx,
        api_p99_ms: apiRun.latency.p99,
        uncached_rps: Math.round(coldRun.requests.average),
        uncached_ratio: Number((coldRun.requests.average / bareRun.requests.average).toFixed(3)),
        uncached_p99_ms: coldRun.latency.p99,
        healthz_rps: Math.round(healthRun.requests.average),
        healthz_ratio: Number((healthRun.requests.average / bareRun.requests.average).toFixed(3)),
      },
      fixed_rate: {
        rate: 500,
        seconds: 30,
        achieved_rps: Math.round(fixed.requests.average),
        p50_ms: fixed.latency.p50,
        p99_ms: fixed.latency.p99,
        max_ms: fixed.latency.max,
        errors: fixed.errors + fixed.timeouts,
        non2xx: fixed.non2xx,
        target: 'p99 <= 25 ms, no errors',
        uncached: { achieved_rps: Math.round(fixedCold.requests.average), p50_ms: fixedCold.latency.p50, p99_ms: fixedCold.latency.p99, errors: fixedCold.errors + fixedCold.timeouts, non2xx: fixedCold.non2xx },
      },
      fixed_rate_paced: {
        note: 'open loop: 500 requests/s started evenly (bench/open-loop.ts), the arrival pattern the target means',
        cached: pacedApi,
        uncached: pacedCold,
        target: 'p99 <= 25 ms, no errors',
      },
      memory: { rss_mb: Math.round(rss / 1048576), uncached_rss_mb: Math.round(coldRss / 1048576), heap_used_mb: Math.round(heap / 1048576), target: '< 300 MB' },
    };
    console.log(JSON.stringify(report, null, 2));
    console.log(
      `\nthroughput ratio ${report.throughput.ratio} (API ${report.throughput.api_rps} req/s / bare ${report.throughput.bare_rps} req/s; target >= 0.5) ` +
        `| without the recommendation cache ${report.throughput.uncached_ratio} ` +
        `| GET /healthz of the same app ${report.throughput.healthz_ratio} of bare ` +
        `| p99 at 500 req/s paced ${pacedApi.p99} ms (uncached ${pacedCold.p99} ms), ${pacedApi.errors + pacedApi.non2xx} errors; autocannon overallRate p99 ${report.fixed_rate.p99_ms} ms (target <= 25 ms, 0) ` +
        `| RSS ${report.memory.rss_mb} MB (target < 300)`,
    );
  } finally {
    for (const c of children) await stop(c);
    await adminQuery(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => {});
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
