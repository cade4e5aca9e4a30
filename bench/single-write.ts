/**
 * bench:single-write — the speed of single writes, what platforms send most (docs/benchmarks/feedback.md):
 * POST /feedback with one rating event per request, and a known user's POST /recommendations with a one-rating
 * history, in requests/s at BENCH_CONNECTIONS (default 16) connections, against `pgbench -N -c 16` transactions/s
 * on the same PostgreSQL in the same run (before and after the API runs; the target is ≥ 0.5 of it).
 * Where the time goes: the CPU time per request of the server and of its database backends; the same two writes
 * one at a time in this process (one statement each; a user's first write, then later ones); the API once with
 * the per-client write quota (the default) and once without it (RECO_QUOTA_*=0); and pgbench's own one-row insert
 * at 16 clients with and without a NOTIFY in the transaction (what the history triggers send for other writers).
 * Then `reco simulate traffic` at BENCH_TRAFFIC_RATE (default 500) req/s for BENCH_TRAFFIC_SECONDS (default 20;
 * 0 skips it), with the server's RSS sampled meanwhile.
 * The API is `reco serve` of the built CLI (compiled into a temporary folder, as bench:serve does; BENCH_SOURCES=1:
 * from the sources through tsx, bin/dev.js) as a child process, its RSS reported at start, on data/initial_data
 * (ml-latest-small) ingested for the client `bench`, with no model trained (the popularity fallback answers, so
 * scoring stays out of the figure). Env: RECO_BENCH_PG_URL (admin connection), BENCH_SECONDS (default 10),
 * BENCH_USERS (default 200).
 */
import { execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { openDatabase } from '../src/core/db/open.js';
import { saveHistory } from '../src/core/db/repositories/api-users.js';
import { createClient } from '../src/core/db/repositories/clients.js';
import { storeFeedback } from '../src/core/db/repositories/feedback.js';
import { DEFAULT_QUOTAS } from '../src/core/config.js';
import { ingest } from '../src/core/pipeline/index.js';
import { buildCli } from './built-cli.js';
import { cpuSeconds, ROOT, startChild, stop } from './children.js';
import { requireWrk, wrk, type WrkRequest } from './wrk.js';

const ADMIN_URL = process.env.RECO_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const USERS = Number(process.env.BENCH_USERS ?? 200);
const PASSWORD = 'bench password 123';
const TRAFFIC_RATE = Number(process.env.BENCH_TRAFFIC_RATE ?? 500);
const TRAFFIC_SECONDS = Number(process.env.BENCH_TRAFFIC_SECONDS ?? 20);
const FROM_SOURCES = process.env.BENCH_SOURCES === '1';
const TSX = ['--import', 'tsx'];

async function adminQuery(sql: string, db?: string) {
  const url = new URL(ADMIN_URL);
  if (db) url.pathname = `/${db}`;
  const c = new pg.Client({ connectionString: url.toString() });
  await c.connect();
  try {
    return await c.query(sql);
  } finally {
    await c.end();
  }
}

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

/** `pgbench -N -c 16` (or a script) on its own database: transactions/s without the initial connection time. */
function pgbench(db: string, script?: string): number {
  const url = new URL(ADMIN_URL);
  const what = script ? ['-f', script] : ['-N'];
  const out = execFileSync(
    'pgbench',
    [
      '-h',
      url.hostname,
      '-p',
      url.port || '5432',
      '-U',
      url.username || 'postgres',
      ...what,
      '-c',
      '16',
      '-j',
      '2',
      '-T',
      String(SECONDS),
      '-n',
      db,
    ],
    { encoding: 'utf8' },
  );
  const m = /tps = ([\d.]+) \(without initial connection time\)/.exec(out);
  if (!m) throw new Error(`pgbench said: ${out}`);
  return round(Number(m[1]));
}

/** A prebuilt request per write, distinct events (user, movie, time), cycled by every connection. */
function writes(kind: 'feedback' | 'history', movies: number[], count: number, seed: number): WrkRequest[] {
  const out: WrkRequest[] = [];
  const t0 = Date.UTC(2026, 0, 1) / 1000 + seed * 1_000_000;
  for (let i = 0; i < count; i++) {
    const user = 1 + (i % USERS);
    const movie = movies[(i * 7919 + seed) % movies.length];
    const rating = 0.5 * (1 + ((i * 31) % 10));
    const body =
      kind === 'feedback'
        ? { events: [{ user_id: user, movie_id: movie, type: 'rating', rating, timestamp: t0 + i }] }
        : { user_id: user, history: [{ movie_id: movie, rating }], n: 10 };
    out.push({
      method: 'POST',
      path: kind === 'feedback' ? '/feedback' : '/recommendations',
      body: JSON.stringify(body),
    });
  }
  return out;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  requireWrk();
  const loadAtStart = os.loadavg().map((x) => round(x, 2));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'reco-bench-single-'));
  const tag = `${process.pid}_${randomBytes(3).toString('hex')}`;
  const dbName = `reco_bench_${tag}`;
  const pgbenchDb = `reco_pgbench_${tag}`;
  await adminQuery(`CREATE DATABASE ${dbName}`);
  await adminQuery(`CREATE DATABASE ${pgbenchDb}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${dbName}`;
  const children: ChildProcess[] = [];
  try {
    execFileSync(
      'pgbench',
      [
        '-h',
        url.hostname,
        '-p',
        url.port || '5432',
        '-U',
        url.username || 'postgres',
        '-i',
        '-s',
        '10',
        '-q',
        pgbenchDb,
      ],
      { stdio: 'pipe' },
    );
    const db = await openDatabase({ databaseUrl: url.toString(), dataDir: work });
    let clientId: number;
    let movies: number[];
    let statements: Record<string, number>;
    try {
      // Trusted, as the daily files' client is: the popularity fallback counts only trusted ratings, and with none it
      // answers empty lists, after which the traffic mix below would send no feedback at all.
      clientId = (await createClient(db, { username: 'bench', password: PASSWORD, trusted: true })).id;
      await ingest(db, { from: path.join(ROOT, 'data/initial_data'), dataDir: work, client: 'bench' });
      movies = (await db.query<{ movie_id: number }>('SELECT movie_id FROM movies ORDER BY movie_id')).rows.map(
        (r) => r.movie_id,
      );
      // Where the time goes: each write is one statement (migration 073), timed one at a time: a user's first
      // write (its profile sums are computed from all of its ratings), then later ones (the sums are updated).
      const times = {
        feedback_first: [] as number[],
        history_first: [] as number[],
        feedback_later: [] as number[],
        history_later: [] as number[],
      };
      for (let i = 0; i < USERS + 300; i++) {
        const user = String(1 + (i % USERS));
        const pass = i < USERS ? 'first' : 'later';
        let t = performance.now();
        await storeFeedback(
          db,
          clientId,
          [
            {
              externalId: user,
              movieId: movies[(i * 104729) % movies.length],
              type: 'rating',
              rating: 4,
              occurredAt: new Date(Date.UTC(2025, 0, 1) + i * 1000).toISOString(),
              recommendationId: null,
            },
          ],
          4,
          DEFAULT_QUOTAS,
        );
        times[`feedback_${pass}`].push(performance.now() - t);
        t = performance.now();
        await saveHistory(
          db,
          clientId,
          user,
          [{ movieId: movies[(i * 15485863) % movies.length], rating: 3.5 }],
          DEFAULT_QUOTAS,
        );
        times[`history_${pass}`].push(performance.now() - t);
      }
      statements = Object.fromEntries(Object.entries(times).map(([k, v]) => [`${k}_median_ms`, round(median(v), 3)]));
    } finally {
      await db.close();
    }

    const env = {
      DATABASE_URL: url.toString(),
      RECO_DATA_DIR: work,
      LOG_LEVEL: 'info',
      RECO_QUOTA_RATINGS_PER_HOUR: '100000000',
    };
    // What users run: the built CLI (tsx compiles the sources in the process, which costs memory and CPU).
    const cli = FROM_SOURCES ? [...TSX, path.join(ROOT, 'bin/dev.js')] : [buildCli(path.join(work, 'cli'))];
    if (!cli[0]) throw new Error('the sources do not compile: no built CLI to measure');
    const withQuota = await startServe(cli as string[], env, path.join(work, 'serve.log'));
    children.push(withQuota.child);
    const rssAtStart = rssMb(withQuota.child.pid);
    const noQuota = await startServe(
      cli as string[],
      { ...env, RECO_QUOTA_RATINGS_PER_HOUR: '0', RECO_QUOTA_USERS_PER_HOUR: '0' },
      path.join(work, 'serve-noquota.log'),
    );
    children.push(noQuota.child);
    const tokenRes = await fetch(`${withQuota.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'bench', password: PASSWORD }),
    });
    const token = ((await tokenRes.json()) as any).access_token as string;

    const pgbenchBefore = pgbench(pgbenchDb);
    console.error(`pgbench -N -c 16: ${pgbenchBefore} tps`);
    // What a NOTIFY in a writing transaction costs at 16 clients: the same one-row insert with and without it.
    await adminQuery('CREATE TABLE notify_probe (id bigserial PRIMARY KEY, v int)', pgbenchDb);
    fs.writeFileSync(path.join(work, 'plain.sql'), 'BEGIN;\nINSERT INTO notify_probe (v) VALUES (1);\nCOMMIT;\n');
    fs.writeFileSync(
      path.join(work, 'notify.sql'),
      "BEGIN;\nINSERT INTO notify_probe (v) VALUES (1);\nSELECT pg_notify('reco_bench_probe', '1');\nCOMMIT;\n",
    );
    const notifyProbe = {
      insert_tps: pgbench(pgbenchDb, path.join(work, 'plain.sql')),
      insert_and_notify_tps: pgbench(pgbenchDb, path.join(work, 'notify.sql')),
    };
    console.error(`one-row insert at 16 clients: ${JSON.stringify(notifyProbe)}`);
    const api: Record<string, unknown> = {};
    let seed = 1;
    for (const [server, s] of [
      ['quota', withQuota],
      ['no_quota', noQuota],
    ] as const) {
      for (const kind of ['feedback', 'history'] as const) {
        const reqs = writes(kind, movies, 40_000, seed++);
        const load = { url: s.url, token, connections: CONNECTIONS, workDir: work };
        await wrk({ ...load, seconds: 2, requests: writes(kind, movies, 2_000, 100 + seed) });
        // CPU per request: the server's process, and the database backends of its pool.
        const backends = (
          await adminQuery(`SELECT pid FROM pg_stat_activity WHERE datname = '${dbName}' AND pid <> pg_backend_pid()`)
        ).rows.map((row) => Number(row.pid));
        const dbBefore = backends.map((pid) => cpuSeconds(pid));
        // Backends that closed meanwhile (idle ones of the other server's pool) are left out.
        const dbCpu = () =>
          backends.reduce(
            (sum, pid, i) => sum + (Number.isFinite(cpuSeconds(pid) - dbBefore[i]) ? cpuSeconds(pid) - dbBefore[i] : 0),
            0,
          );
        const cpuBefore = { server: cpuSeconds(s.child.pid) };
        const xactBefore = await transactionsOf(dbName);
        const r = await wrk({ ...load, seconds: SECONDS, requests: reqs });
        const done = r.requests;
        // Backends report their counts to the statistics at most once a second.
        await new Promise((resolve) => setTimeout(resolve, 1100));
        const transactions = (await transactionsOf(dbName)) - xactBefore;
        api[`${kind}_${server}`] = {
          rps: r.rps,
          p50_ms: r.p50_ms,
          p99_ms: r.p99_ms,
          non2xx: r.non2xx,
          errors: r.errors,
          server_cpu_ms_per_request: round(((cpuSeconds(s.child.pid) - cpuBefore.server) * 1000) / done, 3),
          db_cpu_ms_per_request: round((dbCpu() * 1000) / done, 3),
          db_transactions_per_request: round(transactions / done, 3),
        };
        console.error(`${kind} (${server}): ${JSON.stringify(api[`${kind}_${server}`])}`);
      }
    }
    // The platform's mix at a fixed rate (reco simulate traffic: recommendations, feedback, similar movies, cold
    // starts) on the server with the default quotas: latency percentiles and the server's resident memory.
    // The server's event-loop delay during the mix (prom-client's monitorEventLoopDelay, reset by each scrape):
    // a tail made of loop stalls shows here; one made of database waits does not.
    if (withQuota.metricsUrl) await eventLoopDelay(withQuota.metricsUrl);
    // The write runs left ~100,000 dead row versions in users and ratings. A PostgreSQL server vacuums them as it
    // goes (autovacuum); this machine's runs with autovacuum off (its CI configuration), so the bench does it here.
    const deadRows = await deadRowsOf(dbName);
    await adminQuery('VACUUM (ANALYZE)', dbName);
    const traffic =
      TRAFFIC_SECONDS > 0 ? await simulateTraffic(cli as string[], withQuota.url, withQuota.child.pid) : undefined;
    if (traffic && withQuota.metricsUrl)
      (traffic as Record<string, unknown>).server_event_loop_delay_ms = await eventLoopDelay(withQuota.metricsUrl);
    if (traffic) console.error(`simulate traffic: ${JSON.stringify(traffic)}`);
    const pgbenchAfter = pgbench(pgbenchDb);
    console.error(`pgbench -N -c 16: ${pgbenchAfter} tps`);
    const ref = (pgbenchBefore + pgbenchAfter) / 2;
    const ratios = Object.fromEntries(
      Object.entries(api).map(([k, v]) => [k, round((v as { rps: number }).rps / ref, 3)]),
    );
    const report = {
      machine: { cpus: os.cpus().length, node: process.version, load_average_at_start: loadAtStart },
      settings: {
        connections: CONNECTIONS,
        seconds: SECONDS,
        users: USERS,
        server: `${FROM_SOURCES ? 'bin/dev.js (tsx)' : 'built CLI'}, no model (fallback)`,
      },
      server_rss_mb_at_start: rssAtStart,
      pgbench_tps: { before: pgbenchBefore, after: pgbenchAfter },
      notify_probe: notifyProbe,
      api,
      ratio_to_pgbench: ratios,
      traffic_mix: traffic && { ...traffic, dead_rows_vacuumed_before: deadRows },
      target: '>= 0.5 of pgbench -N -c 16',
      one_at_a_time: statements,
      load_average_at_end: os.loadavg().map((x) => round(x, 2)),
    };
    console.log(JSON.stringify(report, null, 2));
  } finally {
    for (const c of children) await stop(c);
    await adminQuery(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => {});
    await adminQuery(`DROP DATABASE IF EXISTS ${pgbenchDb} WITH (FORCE)`).catch(() => {});
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

/** Transactions committed or rolled back in a database so far, from the statistics collector. */
async function transactionsOf(db: string): Promise<number> {
  const r = await adminQuery(`SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = '${db}'`);
  return Number(r.rows[0].n);
}

/** Dead row versions of the API's tables, from the statistics collector. */
async function deadRowsOf(db: string): Promise<number> {
  const r = await adminQuery('SELECT coalesce(sum(n_dead_tup), 0)::bigint AS n FROM pg_stat_user_tables', db);
  return Number(r.rows[0].n);
}

/** The event-loop delay percentiles (ms) the server's /metrics reports since its previous scrape. */
async function eventLoopDelay(metricsUrl: string) {
  const text = await (await fetch(metricsUrl)).text();
  const ms = (name: string) => {
    const m = new RegExp(`^nodejs_eventloop_lag_${name}_seconds ([0-9.eE+-]+)`, 'm').exec(text);
    return m ? round(Number(m[1]) * 1000, 2) : NaN;
  };
  return { p50: ms('p50'), p90: ms('p90'), p99: ms('p99'), max: ms('max') };
}

/** Resident memory of a process in MB (Linux /proc; NaN elsewhere). */
function rssMb(pid: number | undefined): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : NaN;
  } catch {
    return NaN;
  }
}

/** `reco simulate traffic` at TRAFFIC_RATE for TRAFFIC_SECONDS against the server, its RSS sampled meanwhile. */
async function simulateTraffic(cli: string[], url: string, pid: number | undefined) {
  const rss: number[] = [rssMb(pid)];
  const sampler = setInterval(() => rss.push(rssMb(pid)), 250);
  const args = [
    ...cli,
    'simulate',
    'traffic',
    '--url',
    url,
    '--rate',
    String(TRAFFIC_RATE),
    '--concurrency',
    '64',
    '--duration',
    String(TRAFFIC_SECONDS),
    '--users',
    '2000',
    '--json',
  ];
  const out = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, args, { cwd: ROOT, maxBuffer: 64 << 20 }, (err, stdout) =>
      err ? reject(err) : resolve(stdout),
    ),
  );
  clearInterval(sampler);
  const report = JSON.parse(out) as {
    throughput_rps: number;
    latency_ms: Record<string, number>;
    requests: number;
    errors: { unexpected: number };
    rate_limited: number;
    calls: Record<string, { requests: number; latency_ms: { p50: number; p99: number } }>;
    feedback: { requests: number; events: number };
  };
  // The mix is the platform's only with its feedback: most answers get some (tastes.ts), none when lists are empty.
  if (!(report.feedback.requests > 0))
    throw new Error(`reco simulate traffic sent no feedback: ${JSON.stringify(report).slice(0, 500)}`);
  return {
    target_rps: TRAFFIC_RATE,
    throughput_rps: report.throughput_rps,
    requests: report.requests,
    latency_ms: report.latency_ms,
    unexpected_errors: report.errors.unexpected,
    feedback: report.feedback,
    rate_limited: report.rate_limited,
    calls: Object.fromEntries(
      Object.entries(report.calls).map(([k, c]) => [
        k,
        { requests: c.requests, p50_ms: c.latency_ms.p50, p99_ms: c.latency_ms.p99 },
      ]),
    ),
    server_rss_mb: { before: rss[0], max: Math.max(...rss.filter(Number.isFinite)) },
  };
}

/** `reco serve` of `cli` (node's arguments up to the command), both ports on any free port. */
function startServe(cli: string[], env: Record<string, string>, logFile: string) {
  // BENCH_CPU_PROF=<dir>: the servers write V8 CPU profiles there when they stop.
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  return startChild([...profile, ...cli, 'serve', '--port', '0', '--metrics-port', '0'], env, logFile, 90_000);
}
