/**
 * bench:single-write — the speed of single writes, what platforms send most (docs/benchmarks/feedback.md):
 * POST /feedback with one rating event per request, and a known user's POST /recommendations with a one-rating
 * history, in requests/s at BENCH_CONNECTIONS (default 16) connections, against `pgbench -N -c 16` transactions/s
 * on the same PostgreSQL in the same run (before and after the API runs; the target is ≥ 0.5 of it).
 * Where the time goes: the same two writes one at a time, in this process, with each statement timed; the API
 * once with the per-client write quota (the default) and once without it (RECO_QUOTA_*=0); and pgbench's own
 * one-row insert at 16 clients with and without a NOTIFY in the transaction (the history triggers send one).
 * The API is `reco serve` from the sources (bin/dev.js) as a child process, on data/initial_data (ml-latest-small)
 * ingested for the client `bench`, with no model trained (the popularity fallback answers, so scoring stays
 * out of the figure). Env: RECO_BENCH_PG_URL (admin connection), BENCH_SECONDS (default 10), BENCH_USERS
 * (default 200).
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import { openDatabase } from '../src/core/db/open.js';
import { saveHistory } from '../src/core/db/repositories/api-users.js';
import { createClient } from '../src/core/db/repositories/clients.js';
import { storeFeedback } from '../src/core/db/repositories/feedback.js';
import type { Database, Queryable } from '../src/core/db/types.js';
import { DEFAULT_QUOTAS } from '../src/core/config.js';
import { ingest } from '../src/core/pipeline/index.js';
import { ROOT, run, startChild, stop } from './children.js';

const ADMIN_URL = process.env.RECO_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const USERS = Number(process.env.BENCH_USERS ?? 200);
const PASSWORD = 'bench password 123';

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
  const out = execFileSync('pgbench', ['-h', url.hostname, '-p', url.port || '5432', '-U', url.username || 'postgres', ...what, '-c', '16', '-j', '2', '-T', String(SECONDS), '-n', db], { encoding: 'utf8' });
  const m = /tps = ([\d.]+) \(without initial connection time\)/.exec(out);
  if (!m) throw new Error(`pgbench said: ${out}`);
  return round(Number(m[1]));
}

/** A prebuilt request per write, distinct events (user, movie, time), cycled by every connection. */
function writes(token: string, kind: 'feedback' | 'history', movies: number[], count: number, seed: number): autocannon.Request[] {
  const out: autocannon.Request[] = [];
  const t0 = Date.UTC(2026, 0, 1) / 1000 + seed * 1_000_000;
  for (let i = 0; i < count; i++) {
    const user = 1 + (i % USERS);
    const movie = movies[(i * 7919 + seed) % movies.length];
    const rating = 0.5 * (1 + ((i * 31) % 10));
    const body =
      kind === 'feedback'
        ? { events: [{ user_id: user, movie_id: movie, type: 'rating', rating, timestamp: t0 + i }] }
        : { user_id: user, history: [{ movie_id: movie, rating }], n: 10 };
    out.push({ method: 'POST', path: kind === 'feedback' ? '/feedback' : '/recommendations', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
  }
  return out;
}

/** Each statement of a transaction timed (by its first words), and the transaction's whole time. */
function timedDatabase(db: Database, times: Map<string, number[]>): Database {
  const note = (name: string, ms: number) => (times.get(name) ?? times.set(name, []).get(name)!).push(ms);
  return new Proxy(db, {
    get(target, prop) {
      if (prop !== 'transaction') return Reflect.get(target, prop);
      return async <T>(fn: (tx: Queryable) => Promise<T>) => {
        const started = performance.now();
        const out = await target.transaction((tx) =>
          fn({
            ...tx,
            query: async (sql: string, params?: unknown[]) => {
              const t = performance.now();
              try {
                return await tx.query(sql, params);
              } finally {
                note(sql.replace(/\s+/g, ' ').trim().slice(0, 48), performance.now() - t);
              }
            },
          } as Queryable),
        );
        note('(whole transaction, BEGIN and COMMIT included)', performance.now() - started);
        return out;
      };
    },
  });
}

function summarise(times: Map<string, number[]>) {
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return Object.fromEntries([...times].map(([k, v]) => [k, { per_write: round(v.length / times.get('(whole transaction, BEGIN and COMMIT included)')!.length, 2), median_ms: round(median(v), 3) }]));
}

async function main() {
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
    execFileSync('pgbench', ['-h', url.hostname, '-p', url.port || '5432', '-U', url.username || 'postgres', '-i', '-s', '10', '-q', pgbenchDb], { stdio: 'pipe' });
    const db = await openDatabase({ databaseUrl: url.toString(), dataDir: work });
    let clientId: number;
    let movies: number[];
    let statements: Record<string, ReturnType<typeof summarise>>;
    try {
      clientId = (await createClient(db, { username: 'bench', password: PASSWORD })).id;
      await ingest(db, { from: path.join(ROOT, 'data/initial_data'), dataDir: work, client: 'bench' });
      movies = (await db.query<{ movie_id: number }>('SELECT movie_id FROM movies ORDER BY movie_id')).rows.map((r) => r.movie_id);
      // 2. where the time goes: each statement of the two writes, one write at a time.
      const feedbackTimes = new Map<string, number[]>();
      const historyTimes = new Map<string, number[]>();
      const fdb = timedDatabase(db, feedbackTimes);
      const hdb = timedDatabase(db, historyTimes);
      for (let i = 0; i < 300; i++) {
        const user = String(1 + (i % USERS));
        const movie = movies[(i * 104729) % movies.length];
        await storeFeedback(fdb, clientId, [{ externalId: user, movieId: movie, type: 'rating', rating: 4, occurredAt: new Date(Date.UTC(2025, 0, 1) + i * 1000).toISOString(), recommendationId: null }], 4, DEFAULT_QUOTAS);
        await saveHistory(hdb, clientId, user, [{ movieId: movies[(i * 15485863) % movies.length], rating: 3.5 }], DEFAULT_QUOTAS);
      }
      statements = { feedback: summarise(feedbackTimes), history: summarise(historyTimes) };
    } finally {
      await db.close();
    }

    const env = { DATABASE_URL: url.toString(), RECO_DATA_DIR: work, LOG_LEVEL: 'info', RECO_QUOTA_RATINGS_PER_HOUR: '100000000' };
    const withQuota = await startServe(env, path.join(work, 'serve.log'));
    children.push(withQuota.child);
    const noQuota = await startServe({ ...env, RECO_QUOTA_RATINGS_PER_HOUR: '0', RECO_QUOTA_USERS_PER_HOUR: '0' }, path.join(work, 'serve-noquota.log'));
    children.push(noQuota.child);
    const tokenRes = await fetch(`${withQuota.url}/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'bench', password: PASSWORD }) });
    const token = ((await tokenRes.json()) as any).access_token as string;

    const pgbenchBefore = pgbench(pgbenchDb);
    console.error(`pgbench -N -c 16: ${pgbenchBefore} tps`);
    // What a NOTIFY in a writing transaction costs at 16 clients: the same one-row insert with and without it.
    await adminQuery('CREATE TABLE notify_probe (id bigserial PRIMARY KEY, v int)', pgbenchDb);
    fs.writeFileSync(path.join(work, 'plain.sql'), 'BEGIN;\nINSERT INTO notify_probe (v) VALUES (1);\nCOMMIT;\n');
    fs.writeFileSync(path.join(work, 'notify.sql'), "BEGIN;\nINSERT INTO notify_probe (v) VALUES (1);\nSELECT pg_notify('reco_bench_probe', '1');\nCOMMIT;\n");
    const notifyProbe = { insert_tps: pgbench(pgbenchDb, path.join(work, 'plain.sql')), insert_and_notify_tps: pgbench(pgbenchDb, path.join(work, 'notify.sql')) };
    console.error(`one-row insert at 16 clients: ${JSON.stringify(notifyProbe)}`);
    const api: Record<string, unknown> = {};
    let seed = 1;
    for (const [server, s] of [['quota', withQuota], ['no_quota', noQuota]] as const) {
      for (const kind of ['feedback', 'history'] as const) {
        const reqs = writes(token, kind, movies, 40_000, seed++);
        await run({ url: s.url, connections: CONNECTIONS, duration: 2, requests: writes(token, kind, movies, 2_000, 100 + seed) });
        const r = await run({ url: s.url, connections: CONNECTIONS, duration: SECONDS, requests: reqs });
        api[`${kind}_${server}`] = {
          rps: Math.round(r.requests.average),
          p50_ms: r.latency.p50,
          p99_ms: r.latency.p99,
          non2xx: r.non2xx,
          // autocannon counts the requests in flight when the time is up as errors.
          errors: r.errors + r.timeouts,
        };
        console.error(`${kind} (${server}): ${JSON.stringify(api[`${kind}_${server}`])}`);
      }
    }
    const pgbenchAfter = pgbench(pgbenchDb);
    console.error(`pgbench -N -c 16: ${pgbenchAfter} tps`);
    const ref = (pgbenchBefore + pgbenchAfter) / 2;
    const ratios = Object.fromEntries(Object.entries(api).map(([k, v]) => [k, round((v as { rps: number }).rps / ref, 3)]));
    const report = {
      machine: { cpus: os.cpus().length, node: process.version, load_average_at_start: loadAtStart },
      settings: { connections: CONNECTIONS, seconds: SECONDS, users: USERS, server: 'bin/dev.js (tsx), no model (fallback)' },
      pgbench_tps: { before: pgbenchBefore, after: pgbenchAfter },
      notify_probe: notifyProbe,
      api,
      ratio_to_pgbench: ratios,
      target: '>= 0.5 of pgbench -N -c 16',
      statements_one_at_a_time: statements,
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

/** `reco serve` from the sources (bin/dev.js), both ports on any free port. */
function startServe(env: Record<string, string>, logFile: string) {
  return startChild(['--import', 'tsx', path.join(ROOT, 'bin/dev.js'), 'serve', '--port', '0', '--metrics-port', '0'], env, logFile, 90_000);
}
