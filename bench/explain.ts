/**
 * bench:explain — what `explain: true` and `GET /movies/{movie_id}/similar` cost (docs/benchmarks/serve.md):
 *  1. the server's CPU time per request (utime + stime of the child from /proc) of the same known-user requests
 *     with and without `explain: true` (target: at most +20 %), on `reco serve` as configured by default (caches
 *     on) and with `--cache-size 0` (every request scored), alternated BENCH_PAIRS times (default 3);
 *  2. the median latency of `GET /movies/{movie_id}/similar?n=10` answered from memory (target ≤ 2 ms), one
 *     request at a time over a kept-alive connection, for the 500 most-rated movies in turn;
 *  3. the same /similar requests under load (bench/load.ts: wrk unless BENCH_LOAD=autocannon, 32 connections,
 *     BENCH_SECONDS), on both servers alternated BENCH_PAIRS times: req/s and the server's CPU per request, the
 *     default server (answers kept in memory, the fast path) against `--cache-size 0` (every answer computed).
 * The servers are the built CLI as child processes on the local PostgreSQL with data/initial_data ingested and a
 * model trained (BENCH_ALGORITHM, default ease). Env: RECO_BENCH_PG_URL (admin connection), BENCH_SECONDS
 * (default 5), BENCH_CONNECTIONS (default 8), BENCH_SIMILAR (requests, default 3,000).
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import { openDatabase } from '../src/core/db/open.js';
import { createClient, setClientTrusted } from '../src/core/db/repositories/clients.js';
import { trainModel } from '../src/core/training/train.js';
import { ingest } from '../src/core/pipeline/index.js';
import { buildCli } from './built-cli.js';
import { cpuSeconds, median, recommendationRequests, ROOT, run, startChild, stop } from './children.js';
import { loadGenerator, measureLoad } from './load.js';
import type { WrkRequest } from './wrk.js';

const ADMIN_URL = process.env.RECO_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ALGORITHM = process.env.BENCH_ALGORITHM ?? 'ease';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 8);
const PAIRS = Number(process.env.BENCH_PAIRS ?? 3);
const SIMILAR = Number(process.env.BENCH_SIMILAR ?? 3000);
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

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

/** Users, and movies by number of ratings (most first), from the ingested files. */
function fromRatings(): { users: number[]; movies: number[] } {
  const text = fs.readFileSync(path.join(ROOT, 'data/initial_data/ratings.csv'), 'utf8');
  const users = new Set<number>();
  const counts = new Map<number, number>();
  for (const line of text.split('\n').slice(1)) {
    const [u, m] = line.split(',');
    if (!(Number(u) > 0)) continue;
    users.add(Number(u));
    counts.set(Number(m), (counts.get(Number(m)) ?? 0) + 1);
  }
  return { users: [...users], movies: [...counts].sort((a, b) => b[1] - a[1]).map(([m]) => m) };
}

/** Server CPU µs per request of one load run. */
async function cpuPerRequest(server: { child: ChildProcess; url: string }, reqs: autocannon.Request[]) {
  const before = cpuSeconds(server.child.pid);
  const r = await run({ url: server.url, connections: CONNECTIONS, duration: SECONDS, requests: reqs });
  if (r.non2xx || r.errors || r.timeouts)
    throw new Error(`load run failed: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts`);
  return {
    cpu_us: round(((cpuSeconds(server.child.pid) - before) * 1e6) / r.requests.total),
    rps: Math.round(r.requests.average),
  };
}

/** One GET at a time over a kept-alive connection: client-side latency in ms. */
function get(agent: http.Agent, url: string, token: string): Promise<{ ms: number; status: number; body: any }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            ms: performance.now() - started,
            status: res.statusCode ?? 0,
            body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
          }),
        );
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

async function main() {
  const generator = loadGenerator();
  const loadAtStart = os.loadavg().map((x) => round(x, 2));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'reco-bench-explain-'));
  const dbName = `reco_bench_${process.pid}_${randomBytes(3).toString('hex')}`;
  await adminQuery(`CREATE DATABASE ${dbName}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${dbName}`;
  const env = { DATABASE_URL: url.toString(), RECO_DATA_DIR: work, LOG_LEVEL: 'info' };
  const children: ChildProcess[] = [];
  try {
    const db = await openDatabase({ databaseUrl: env.DATABASE_URL, dataDir: work });
    try {
      await createClient(db, { username: 'bench', password: PASSWORD });
      // Its ratings train the model (the daily files' client is trusted by default; an API client is not).
      await setClientTrusted(db, 'bench', true);
      await ingest(db, { from: path.join(ROOT, 'data/initial_data'), dataDir: work, client: 'bench' });
      const trained = await trainModel(db, { modelsDir: path.join(work, 'models'), algorithm: ALGORITHM });
      console.error(`setup: trained ${trained.algorithm} ${trained.version}`);
    } finally {
      await db.close();
    }
    const cli = buildCli(path.join(work, 'cli'));
    if (!cli) throw new Error('the sources do not compile: no built CLI to measure');
    const servers = {
      default: await startServe(cli, ['--metrics-port', '0'], env, path.join(work, 'serve.log')),
      uncached: await startServe(
        cli,
        ['--cache-size', '0', '--metrics-port', '0'],
        env,
        path.join(work, 'serve-uncached.log'),
      ),
    };
    children.push(servers.default.child, servers.uncached.child);
    const tokenRes = await fetch(`${servers.default.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'bench', password: PASSWORD }),
    });
    const token = ((await tokenRes.json()) as any).access_token as string;
    const { users, movies } = fromRatings();
    const plain = recommendationRequests(token, users);
    const explained = recommendationRequests(token, users, { explain: true });

    // 1. explain: true against the same requests without it, alternated; warm-up runs first (caches, JIT).
    const explain: Record<string, unknown> = {};
    for (const [name, server] of Object.entries(servers)) {
      await run({ url: server.url, connections: CONNECTIONS, duration: 3, requests: plain });
      await run({ url: server.url, connections: CONNECTIONS, duration: 3, requests: explained });
      const pairs: { plain_cpu_us: number; explain_cpu_us: number; plain_rps: number; explain_rps: number }[] = [];
      for (let i = 0; i < PAIRS; i++) {
        const a = await cpuPerRequest(server, plain);
        const b = await cpuPerRequest(server, explained);
        pairs.push({ plain_cpu_us: a.cpu_us, explain_cpu_us: b.cpu_us, plain_rps: a.rps, explain_rps: b.rps });
        console.error(`${name} pair ${i + 1}/${PAIRS}: ${JSON.stringify(pairs.at(-1))}`);
      }
      const p = median(pairs.map((x) => x.plain_cpu_us));
      const e = median(pairs.map((x) => x.explain_cpu_us));
      explain[name] = { plain_cpu_us: p, explain_cpu_us: e, extra: `${round((100 * (e - p)) / p)} %`, pairs };
    }

    // 2. /similar one request at a time, the most-rated movies in turn (after one warm-up pass).
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const pool = movies.slice(0, 500);
    for (const m of pool) await get(agent, `${servers.default.url}/movies/${m}/similar?n=10`, token);
    const latencies: number[] = [];
    const basis: Record<string, number> = {};
    const before = cpuSeconds(servers.default.child.pid);
    for (let i = 0; i < SIMILAR; i++) {
      const r = await get(agent, `${servers.default.url}/movies/${pool[i % pool.length]}/similar?n=10`, token);
      if (r.status !== 200 || r.body.similar.length === 0)
        throw new Error(`similar failed: ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
      latencies.push(r.ms);
      basis[r.body.basis] = (basis[r.body.basis] ?? 0) + 1;
    }
    const similarCpu = ((cpuSeconds(servers.default.child.pid) - before) * 1e6) / SIMILAR;
    agent.destroy();
    const sorted = latencies.sort((a, b) => a - b);
    const similar = {
      requests: SIMILAR,
      p50_ms: round(median(sorted), 3),
      p99_ms: round(sorted[Math.ceil(0.99 * sorted.length) - 1], 3),
      server_cpu_us_per_request: round(similarCpu),
      basis,
      target: 'median <= 2 ms',
    };

    // 3. /similar under load, both servers alternated (after a warm-up run each).
    const similarRequests: WrkRequest[] = pool.map((m) => ({
      method: 'GET',
      path: `/movies/${m}/similar?n=10`,
      body: '',
    }));
    const similarLoad = (server: { child: ChildProcess; url: string }, seconds = SECONDS) =>
      measureLoad({
        generator,
        child: server.child,
        url: server.url,
        requests: similarRequests,
        token,
        connections: 32,
        seconds,
        workDir: work,
      });
    for (const server of Object.values(servers)) await similarLoad(server, 3);
    const loadPairs: { default_rps: number; default_cpu_us: number; uncached_rps: number; uncached_cpu_us: number }[] =
      [];
    for (let i = 0; i < PAIRS; i++) {
      const a = await similarLoad(servers.default);
      const b = await similarLoad(servers.uncached);
      if (a.non2xx || a.errors || b.non2xx || b.errors)
        throw new Error(`/similar under load failed: ${JSON.stringify([a, b])}`);
      loadPairs.push({
        default_rps: a.rps,
        default_cpu_us: a.cpuUsPerRequest,
        uncached_rps: b.rps,
        uncached_cpu_us: b.cpuUsPerRequest,
      });
      console.error(`/similar load pair ${i + 1}/${PAIRS}: ${JSON.stringify(loadPairs.at(-1))}`);
    }
    const similarUnderLoad = {
      generator,
      connections: 32,
      default_rps: median(loadPairs.map((x) => x.default_rps)),
      uncached_rps: median(loadPairs.map((x) => x.uncached_rps)),
      default_over_uncached: round(median(loadPairs.map((x) => x.default_rps / x.uncached_rps)), 2),
      default_cpu_us: median(loadPairs.map((x) => x.default_cpu_us)),
      uncached_cpu_us: median(loadPairs.map((x) => x.uncached_cpu_us)),
      pairs: loadPairs,
    };

    const report = {
      machine: {
        cpus: os.cpus().length,
        model: os.cpus()[0]?.model,
        node: process.version,
        load_average_at_start: loadAtStart,
      },
      settings: { algorithm: ALGORITHM, connections: CONNECTIONS, seconds: SECONDS, pairs: PAIRS },
      explain: { ...explain, target: '<= +20 % CPU per request' },
      similar,
      similar_under_load: similarUnderLoad,
      load_average_at_end: os.loadavg().map((x) => round(x, 2)),
    };
    console.log(JSON.stringify(report, null, 2));
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

/** `reco serve --port 0` of the built CLI, with more flags. */
function startServe(cli: string, args: string[], env: Record<string, string>, logFile: string) {
  return startChild([cli, 'serve', '--port', '0', ...args], env, logFile);
}
