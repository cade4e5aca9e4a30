/**
 * bench:serve — the speed targets of `reco serve` (docs/benchmarks/serve.md), measured in one run:
 *  1. authenticated POST /recommendations for existing users, req/s as a ratio of a bare node:http server
 *     answering a fixed 1 KB JSON, same load settings (target ≥ 0.5);
 *  2. p99 latency at a fixed 500 req/s for 30 s, no errors (target ≤ 25 ms);
 *  3. resident memory of the server with the ml-latest-small model (target < 300 MB).
 * Both servers run as child processes, the API on the local PostgreSQL with data/initial_data ingested and a model
 * trained. The load of the req/s runs comes from wrk (Debian's `wrk`, in C: bench/wrk.ts), which leaves the servers
 * the CPU that a load generator in this Node process would take; BENCH_LOAD=autocannon runs them with autocannon
 * here instead. Env: RECO_BENCH_PG_URL (admin connection),
 * BENCH_ALGORITHM (default: train's default), BENCH_SECONDS (default 10), BENCH_CONNECTIONS (default 32),
 * BENCH_PAIRS (default 5): the bare server and the API are measured in alternation, this many times each, and
 * the ratio is the median of the pairs' ratios (load from other jobs on a shared machine drifts within a run).
 * Also measured, once each: an Express 5 app with no middleware answering the same 1 KB (what the framework
 * costs), the API with --no-fast-path (the same route through Express), GET /healthz, the API without caches, the
 * API with --reply-batch 1 (each reply sent at once) and bare node:http batching its replies as the API does.
 * Besides req/s, the server's CPU time per request (utime + stime of the child from /proc) is reported: it does
 * not depend on whether the load generator or the server is the bottleneck.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { buildCli } from './built-cli.js';
import { median, recommendationRequests, ROOT, run, sampleUserIds, startChild, stop } from './children.js';
import { openLoop } from './open-loop.js';
import { loadGenerator, measureLoad, type Measured } from './load.js';
import type { WrkRequest } from './wrk.js';
import pg from 'pg';
import { openDatabase } from '../src/core/db/open.js';
import { createClient } from '../src/core/db/repositories/clients.js';
import { ingest } from '../src/core/pipeline/index.js';
import { trainModel } from '../src/core/training/train.js';

const ADMIN_URL = process.env.RECO_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const PAIRS = Number(process.env.BENCH_PAIRS ?? 5);
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

async function main() {
  const LOAD = loadGenerator();
  const loadAtStart = os.loadavg().map((x) => Number(x.toFixed(2)));
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
      await createClient(db, { username: 'bench', password: PASSWORD, trusted: true }); // its ratings train the model
      const t0 = Date.now();
      const summary = await ingest(db, { from: path.join(ROOT, 'data/initial_data'), dataDir: work, client: 'bench' });
      console.error(`setup: ingested ${summary.accepted} rows in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      const t1 = Date.now();
      const trained = await trainModel(db, {
        modelsDir: path.join(work, 'models'),
        algorithm: process.env.BENCH_ALGORITHM,
      });
      algorithm = trained.algorithm;
      console.error(
        `setup: trained ${algorithm} ${trained.version} in ${((Date.now() - t1) / 1000).toFixed(1)} s (nDCG@10 ${trained.metrics.ndcg_at_10})`,
      );
    } finally {
      await db.close();
    }

    // The servers run as users run them: the built CLI (through tsx from the sources, a request costs more CPU).
    const cli = buildCli(path.join(work, 'cli'));
    if (!cli) throw new Error('the sources do not compile: no built CLI to measure');
    const api = await startChild(
      [cli, 'serve', '--port', '0', '--metrics-port', '0'],
      { DATABASE_URL: databaseUrl, RECO_DATA_DIR: work, LOG_LEVEL: 'info' },
      path.join(work, 'serve.log'),
    );
    children.push(api.child);
    // The same server without caches: every request reads the history and scores (the cold path).
    const cold = await startChild(
      [cli, 'serve', '--port', '0', '--cache-size', '0', '--metrics-port', '0'],
      { DATABASE_URL: databaseUrl, RECO_DATA_DIR: work, LOG_LEVEL: 'info' },
      path.join(work, 'serve-cold.log'),
    );
    children.push(cold.child);
    // The same route through Express only (the fast path off).
    const viaExpress = await startChild(
      [cli, 'serve', '--port', '0', '--no-fast-path', '--metrics-port', '0'],
      { DATABASE_URL: databaseUrl, RECO_DATA_DIR: work, LOG_LEVEL: 'info' },
      path.join(work, 'serve-express.log'),
    );
    children.push(viaExpress.child);
    // The API sending each reply at once (no reply batch), and bare node:http batching its replies as the API does.
    const unbatched = await startChild(
      [cli, 'serve', '--port', '0', '--reply-batch', '1', '--metrics-port', '0'],
      { DATABASE_URL: databaseUrl, RECO_DATA_DIR: work, LOG_LEVEL: 'info' },
      path.join(work, 'serve-unbatched.log'),
    );
    children.push(unbatched.child);
    const bareBatched = await startChild(['bench/bare-server.mjs', '--batch'], {}, path.join(work, 'bare-batch.log'));
    children.push(bareBatched.child);
    const bare = await startChild(['bench/bare-server.mjs'], {}, path.join(work, 'bare.log'));
    children.push(bare.child);
    const bareExpress = await startChild(
      ['bench/bare-server.mjs', '--express'],
      {},
      path.join(work, 'bare-express.log'),
    );
    children.push(bareExpress.child);

    const tokenRes = await fetch(`${api.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'bench', password: PASSWORD }),
    });
    const token = ((await tokenRes.json()) as any).access_token as string;
    const ids = sampleUserIds();
    const probe = await fetch(`${api.url}/recommendations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ user_id: ids[0], n: 10 }),
    });
    const probeBody: any = await probe.json();
    if (probe.status !== 200 || probeBody.recommendations.length !== 10)
      throw new Error(`probe failed: ${probe.status} ${JSON.stringify(probeBody).slice(0, 300)}`);

    const fixedBody: WrkRequest[] = [{ method: 'POST', path: '/', body: '{"user_id":1,"n":10}' }];
    const known: WrkRequest[] = ids.map((id) => ({
      method: 'POST',
      path: '/recommendations',
      body: JSON.stringify({ user_id: id, n: 10 }),
    }));
    const load = (server: { child: ChildProcess; url: string }, requests: readonly WrkRequest[], seconds = SECONDS) =>
      measureLoad({
        generator: LOAD,
        child: server.child,
        url: server.url,
        requests,
        token,
        connections: CONNECTIONS,
        seconds,
        workDir: work,
      });
    // Fill the caches with one request per user (the load's connections all start at the first user, so a
    // cold cache would see 32 simultaneous misses per user), then warm up every server (JIT, pools).
    for (const server of [api, viaExpress, unbatched]) {
      for (let i = 0; i < ids.length; i += 16) {
        await Promise.all(
          ids.slice(i, i + 16).map((id) =>
            fetch(`${server.url}/recommendations`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
              body: JSON.stringify({ user_id: id, n: 10 }),
            }).then((r) => r.arrayBuffer()),
          ),
        );
      }
    }
    await load(bare, fixedBody, 3);
    await load(bareExpress, fixedBody, 3);
    await load(api, known, 3);
    await load(viaExpress, known, 3);
    await load(unbatched, known, 3);
    await load(bareBatched, fixedBody, 3);

    const pairs: {
      bare_rps: number;
      api_rps: number;
      ratio: number;
      bare_cpu_us: number;
      api_cpu_us: number;
      api_non2xx: number;
      api_errors: number;
      api_p99_ms: number;
    }[] = [];
    for (let i = 0; i < PAIRS; i++) {
      const b = await load(bare, fixedBody);
      const a = await load(api, known);
      pairs.push({
        bare_rps: b.rps,
        api_rps: a.rps,
        ratio: Number((a.rps / b.rps).toFixed(3)),
        bare_cpu_us: b.cpuUsPerRequest,
        api_cpu_us: a.cpuUsPerRequest,
        api_non2xx: a.non2xx,
        api_errors: a.errors,
        api_p99_ms: a.p99_ms,
      });
      console.error(`pair ${i + 1}/${PAIRS}: ${JSON.stringify(pairs.at(-1))}`);
    }
    const ratio = median(pairs.map((p) => p.ratio));
    const bareRps = median(pairs.map((p) => p.bare_rps));
    const apiRps = median(pairs.map((p) => p.api_rps));
    // For context, once each: the API with each reply sent at once, bare node:http batching its replies, Express
    // itself, the route through Express, its cheapest route, the API without caches.
    const unbatchedRun = await load(unbatched, known);
    const bareBatchedRun = await load(bareBatched, fixedBody);
    const bareExpressRun = await load(bareExpress, fixedBody);
    const bareAgain = await load(bare, fixedBody);
    const viaExpressRun = await load(viaExpress, known);
    const healthRun = await load(viaExpress, [{ method: 'GET', path: '/healthz', body: '' }]);
    await load(cold, known, 3);
    const coldRun = await load(cold, known);
    const vsBare = (r: Measured) => Number((r.rps / bareRps).toFixed(3));

    const fixed = await run({
      connections: 25,
      pipelining: 1,
      duration: 30,
      overallRate: 500,
      url: api.url,
      requests: recommendationRequests(token, ids),
    });

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
    const fixedCold = await run({
      connections: 25,
      pipelining: 1,
      duration: 30,
      overallRate: 500,
      url: cold.url,
      requests: recommendationRequests(token, ids),
    });

    const metrics = await (await fetch(api.metricsUrl!)).text();
    const coldMetrics = await (await fetch(cold.metricsUrl!)).text();
    const coldRss = Number(coldMetrics.match(/^process_resident_memory_bytes (\S+)/m)?.[1] ?? NaN);
    const rss = Number(metrics.match(/^process_resident_memory_bytes (\d+(?:\.\d+)?(?:e\+\d+)?)/m)?.[1] ?? NaN);
    const heap = Number(metrics.match(/^nodejs_heap_size_used_bytes (\S+)/m)?.[1] ?? NaN);

    const report = {
      machine: {
        cpus: os.cpus().length,
        model: os.cpus()[0]?.model,
        node: process.version,
        load_average_at_start: loadAtStart,
      },
      settings: { connections: CONNECTIONS, pipelining: 1, seconds: SECONDS, algorithm, load_generator: LOAD },
      throughput: {
        bare_rps: bareRps,
        api_rps: apiRps,
        ratio,
        ratio_of: `median of ${PAIRS} alternating pairs (bare ${SECONDS} s, API ${SECONDS} s)`,
        target: '>= 0.5',
        pairs,
        api_errors: pairs.reduce((n, p) => n + p.api_errors, 0),
        api_non2xx: pairs.reduce((n, p) => n + p.api_non2xx, 0),
        cpu_us_per_request: {
          bare: median(pairs.map((p) => p.bare_cpu_us)),
          api: median(pairs.map((p) => p.api_cpu_us)),
        },
        unbatched: {
          note: 'the API with --reply-batch 1: each reply sent as soon as it is ready',
          rps: unbatchedRun.rps,
          ratio: vsBare(unbatchedRun),
          cpu_us_per_request: unbatchedRun.cpuUsPerRequest,
          p99_ms: unbatchedRun.p99_ms,
        },
        bare_batched: {
          note: 'bare node:http holding its replies as the API does (bare-server.mjs --batch)',
          rps: bareBatchedRun.rps,
          ratio_to_bare: vsBare(bareBatchedRun),
          api_ratio_to_it: Number((apiRps / bareBatchedRun.rps).toFixed(3)),
          cpu_us_per_request: bareBatchedRun.cpuUsPerRequest,
        },
        express_no_middleware: {
          rps: bareExpressRun.rps,
          ratio: vsBare(bareExpressRun),
          bare_rps_right_after: bareAgain.rps,
          ratio_to_bare_right_after: Number((bareExpressRun.rps / bareAgain.rps).toFixed(3)),
          cpu_us_per_request: bareExpressRun.cpuUsPerRequest,
        },
        via_express: {
          rps: viaExpressRun.rps,
          ratio: vsBare(viaExpressRun),
          cpu_us_per_request: viaExpressRun.cpuUsPerRequest,
          p99_ms: viaExpressRun.p99_ms,
          non2xx: viaExpressRun.non2xx,
        },
        uncached_rps: coldRun.rps,
        uncached_ratio: vsBare(coldRun),
        uncached_p99_ms: coldRun.p99_ms,
        uncached_cpu_us_per_request: coldRun.cpuUsPerRequest,
        healthz_rps: healthRun.rps,
        healthz_ratio: vsBare(healthRun),
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
        uncached: {
          achieved_rps: Math.round(fixedCold.requests.average),
          p50_ms: fixedCold.latency.p50,
          p99_ms: fixedCold.latency.p99,
          errors: fixedCold.errors + fixedCold.timeouts,
          non2xx: fixedCold.non2xx,
        },
      },
      fixed_rate_paced: {
        note: 'open loop: 500 requests/s started evenly (bench/open-loop.ts), the arrival pattern the target means',
        cached: pacedApi,
        uncached: pacedCold,
        target: 'p99 <= 25 ms, no errors',
      },
      memory: {
        rss_mb: Math.round(rss / 1048576),
        uncached_rss_mb: Math.round(coldRss / 1048576),
        heap_used_mb: Math.round(heap / 1048576),
        target: '< 300 MB',
      },
      load_average_at_end: os.loadavg().map((x) => Number(x.toFixed(2))),
    };
    console.log(JSON.stringify(report, null, 2));
    console.log(
      `\nthroughput ratio ${ratio} (median of ${PAIRS} pairs: ${pairs.map((p) => p.ratio).join(', ')}; API ${apiRps} req/s / bare ${bareRps} req/s; target >= 0.5) ` +
        `| CPU per request: API ${report.throughput.cpu_us_per_request.api} µs, bare ${report.throughput.cpu_us_per_request.bare} µs ` +
        `| replies unbatched ${report.throughput.unbatched.ratio} | bare batched ${report.throughput.bare_batched.ratio_to_bare} (API/it ${report.throughput.bare_batched.api_ratio_to_it}) ` +
        `| Express with no middleware ${report.throughput.express_no_middleware.ratio_to_bare_right_after} of bare | the route through Express ${report.throughput.via_express.ratio} ` +
        `| without caches ${report.throughput.uncached_ratio} | GET /healthz ${report.throughput.healthz_ratio} ` +
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
