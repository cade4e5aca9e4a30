/**
 * bench:feedback — the write speed of POST /feedback (docs/benchmarks/feedback.md, "Batches"), measured in one run:
 * batches of BENCH_BATCH (default 500) events over HTTP from BENCH_CONNECTIONS (default 8) concurrent keep-alive
 * connections, events/s from the first request to the last answer, against psql's `\copy` of the same rows
 * (exported from the API's database after the run) into the same tables — feedback_events, ratings,
 * user_exclusions — of a second database with the same users and movies. Target: ≥ 0.10 of psql.
 * The API is `reco serve` of the built CLI (compiled into a temporary folder, as bench:single-write does;
 * BENCH_SOURCES=1: bin/dev.js through tsx) as a child process on the local PostgreSQL (RECO_BENCH_PG_URL, admin
 * connection), with the hourly quotas on and their limits out of the way; the CPU time per event of the server's
 * process and of its pool's database backends is reported (Linux /proc), and what the backends do meanwhile
 * (pg_stat_activity sampled: on the CPU, waiting for a lock, idle). The reference is timed inside psql
 * (`\timing`: BEGIN, the three \copy, COMMIT; psql's start and connection left out), BENCH_COPY_REPEATS (default 3)
 * times into the emptied tables, the median taken. Env: BENCH_EVENTS (default 200,000: \copy then takes about a
 * second), BENCH_USERS (default 5,000), BENCH_MOVIES (default 2,000); BENCH_CPU_PROF=<dir>: the server writes a V8
 * CPU profile there when it stops. BENCH_BUILD_FROM=<dir>: the served CLI built from another revision's sources
 * (a folder with its src, bin, package.json and tsconfig.json, node_modules linked), for a comparison in the same
 * conditions. Diagnostics: BENCH_EXTRA_SQL=<file>, SQL run on the API's database after its migrations (such as a
 * candidate version of a write function, measured as the migrated one is); BENCH_USER_GROUPS=n (default 1), batch
 * i draws its users from the users ≡ i mod n only, so that consecutive batches, the ones in flight together, share
 * no user; BENCH_DB_DETAIL=<dir>, where the database time goes — the API's database with
 * track_functions = all (pg_stat_user_functions per event in the report), and after the run BENCH_DETAIL_BATCHES
 * (default 20) more batches of new events by known users through reco_store_feedback in one session with
 * auto_explain (nested statements, analyze without per-node timing), each statement's median time in the report and
 * the plans in <dir>/auto_explain.txt.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { PostgresDatabase } from '../src/core/db/engines/postgres.js';
import { migrate } from '../src/core/db/migrate.js';
import { createClient } from '../src/core/db/repositories/clients.js';
import { GENRES } from '../src/core/features/genres.js';
import { buildCli } from './built-cli.js';
import { cpuSeconds, median, ROOT, startChild, stop } from './children.js';

const ADMIN_URL = process.env.RECO_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const EVENTS = Number(process.env.BENCH_EVENTS ?? 200_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 500);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 8);
const USERS = Number(process.env.BENCH_USERS ?? 5_000);
const MOVIES = Number(process.env.BENCH_MOVIES ?? 2_000);
const COPY_REPEATS = Number(process.env.BENCH_COPY_REPEATS ?? 3);
const FROM_SOURCES = process.env.BENCH_SOURCES === '1';
const DB_DETAIL = process.env.BENCH_DB_DETAIL;
/** A diagnostic: SQL run on the API's database after the migrations (a candidate write function, say). */
const EXTRA_SQL = process.env.BENCH_EXTRA_SQL;
/** A diagnostic: batch i draws its users from group i mod USER_GROUPS only (1, the default: from all users). */
const USER_GROUPS = Number(process.env.BENCH_USER_GROUPS ?? 1);
const DETAIL_BATCHES = Number(process.env.BENCH_DETAIL_BATCHES ?? 20);
const PASSWORD = 'bench password 123';
const TYPES = ['rating', 'rating', 'rating', 'rating', 'rating', 'view', 'view', 'like', 'dislike', 'skip'] as const;
const API_DB = 'reco_bench_feedback_api';
const REF_DB = 'reco_bench_feedback_ref';
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

async function adminQuery(sql: string) {
  const c = new pg.Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    return await c.query(sql);
  } finally {
    await c.end();
  }
}

async function admin(sql: string): Promise<void> {
  await adminQuery(sql);
}

async function freshDatabase(name: string): Promise<string> {
  await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin(`CREATE DATABASE ${name}`);
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

/** A deterministic generator (the same events every run). */
function lcg(seed: number) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

function makeBatches(): unknown[][] {
  const rnd = lcg(42);
  const t0 = 1_767_225_600;
  const batches: unknown[][] = [];
  for (let i = 0; i < EVENTS; i += BATCH) {
    const group = (i / BATCH) % USER_GROUPS;
    const events = [];
    for (let k = i; k < Math.min(EVENTS, i + BATCH); k++) {
      const type = TYPES[Math.floor(rnd() * TYPES.length)];
      events.push({
        user_id: `bench-${group + USER_GROUPS * Math.floor(rnd() * (USERS / USER_GROUPS))}`,
        movie_id: 1 + Math.floor(rnd() * MOVIES),
        type,
        ...(type === 'rating' ? { rating: (1 + Math.floor(rnd() * 10)) / 2 } : {}),
        timestamp: t0 + k,
      });
    }
    batches.push(events);
  }
  return batches;
}

async function seedMovies(db: PostgresDatabase): Promise<void> {
  const ids = Array.from({ length: MOVIES }, (_, i) => i + 1);
  await db.query(
    `INSERT INTO movies (movie_id, title, genres, year)
     SELECT id, 'Movie ' || id, ARRAY[($2::text[])[(id % $3) + 1], ($2::text[])[((id * 7) % $3) + 1]], 1950 + id % 70
       FROM unnest($1::int[]) AS id`,
    [ids, [...GENRES], GENRES.length],
  );
}

async function main() {
  const loadAtStart = os.loadavg().map((x) => round(x, 2));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'reco-bench-feedback-'));
  const apiUrl = await freshDatabase(API_DB);
  const refUrl = await freshDatabase(REF_DB);
  let child: ChildProcess | undefined;
  try {
    const db = await PostgresDatabase.connect(apiUrl, { max: 1 });
    try {
      await migrate(db);
      if (EXTRA_SQL) await db.query(fs.readFileSync(EXTRA_SQL, 'utf8'));
      await seedMovies(db);
      await createClient(db, { username: 'bench', password: PASSWORD });
    } finally {
      await db.close();
    }
    if (DB_DETAIL) await admin(`ALTER DATABASE ${API_DB} SET track_functions = 'all'`);
    // What users run: the built CLI (tsx compiles the sources in the process, which costs memory and CPU).
    const cli = FROM_SOURCES
      ? ['--import', 'tsx', path.join(ROOT, 'bin/dev.js')]
      : [buildCli(path.join(work, 'cli'), process.env.BENCH_BUILD_FROM ?? ROOT)];
    if (!cli[0]) throw new Error('the sources do not compile: no built CLI to measure');
    const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
    const serve = await startChild(
      [...profile, ...(cli as string[]), 'serve', '--port', '0'],
      {
        DATABASE_URL: apiUrl,
        RECO_DATA_DIR: work,
        LOG_LEVEL: 'info',
        RECO_QUOTA_RATINGS_PER_HOUR: '100000000',
        RECO_QUOTA_USERS_PER_HOUR: '100000000',
      },
      path.join(work, 'serve.log'),
      90_000,
    );
    child = serve.child;
    const base = serve.url;
    const token = (
      (await (
        await fetch(`${base}/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: 'bench', password: PASSWORD }),
        })
      ).json()) as { access_token: string }
    ).access_token;
    const bodies = makeBatches().map((events) => JSON.stringify({ events }));
    console.error(
      `${EVENTS.toLocaleString('en')} events in ${bodies.length} batches of ${BATCH}, ${CONNECTIONS} connections, ${USERS} users, ${MOVIES} movies`,
    );

    // CPU time: the server's process, and the database backends of the API's database (its pool's connections;
    // those that open during the run count from zero).
    const backendCpu = async () => {
      const pids = (await adminQuery(`SELECT pid FROM pg_stat_activity WHERE datname = '${API_DB}'`)).rows.map((r) =>
        Number(r.pid),
      );
      return new Map(pids.map((pid) => [pid, cpuSeconds(pid)]));
    };
    const dbBefore = await backendCpu();
    const waits = await sampleWaits();
    const serverBefore = cpuSeconds(child.pid);
    const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
    let next = 0;
    let accepted = 0;
    const latencies: number[] = [];
    const start = performance.now();
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async () => {
        while (next < bodies.length) {
          const body = bodies[next++];
          const t = performance.now();
          const res = await post(`${base}/feedback`, token, body, agent);
          const out = JSON.parse(res.body) as { accepted: number; rejected: unknown[] };
          if (res.status !== 200 || out.rejected.length > 0)
            throw new Error(`feedback ${res.status}: ${res.body.slice(0, 300)}`);
          accepted += out.accepted;
          latencies.push(performance.now() - t);
        }
      }),
    );
    const apiSeconds = (performance.now() - start) / 1000;
    const backends = await waits.stop();
    const serverCpu = cpuSeconds(child.pid) - serverBefore;
    const dbAfter = await backendCpu();
    let dbCpu = 0;
    for (const [pid, cpu] of dbAfter) if (Number.isFinite(cpu)) dbCpu += cpu - (dbBefore.get(pid) ?? 0);
    agent.destroy();
    latencies.sort((a, b) => a - b);
    const apiRate = EVENTS / apiSeconds;
    await stop(child);
    child = undefined;
    const detail = DB_DETAIL ? await databaseDetail(apiUrl, DB_DETAIL) : undefined;

    // The same rows into the same tables of a second database with the same users and movies, by psql.
    const count = async (url: string) => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        return (
          await c.query<{ e: number; r: number; x: number; u: number }>(
            'SELECT (SELECT count(*) FROM feedback_events)::int AS e, (SELECT count(*) FROM ratings)::int AS r, (SELECT count(*) FROM user_exclusions)::int AS x, (SELECT count(*) FROM users)::int AS u',
          )
        ).rows[0];
      } finally {
        await c.end();
      }
    };
    const stored = await count(apiUrl);
    const tables = ['feedback_events', 'ratings', 'user_exclusions'];
    const csv = (t: string) => path.join(work, `${t}.csv`);
    for (const t of ['movies', 'clients', 'users', ...tables])
      execFileSync('psql', [apiUrl, '-qc', `\\copy ${t} TO '${csv(t)}' WITH (FORMAT csv)`]);
    await migrateRef(refUrl);
    for (const t of ['movies', 'clients', 'users'])
      execFileSync('psql', [refUrl, '-qc', `\\copy ${t} FROM '${csv(t)}' WITH (FORMAT csv)`]);
    const copyScript = tables.map((t) => `\\copy ${t} FROM '${csv(t)}' WITH (FORMAT csv)`).join('\n');
    fs.writeFileSync(path.join(work, 'copy.sql'), `\\timing on\nBEGIN;\n${copyScript}\nCOMMIT;\n`);
    const copySeconds: number[] = [];
    for (let i = 0; i < COPY_REPEATS; i++) {
      if (i > 0) execFileSync('psql', [refUrl, '-qc', `TRUNCATE ${tables.join(', ')}`]);
      execFileSync('psql', [refUrl, '-qc', 'CHECKPOINT']);
      const out = execFileSync('psql', [refUrl, '-q', '-v', 'ON_ERROR_STOP=1', '-f', path.join(work, 'copy.sql')], {
        encoding: 'utf8',
      });
      const ms = [...out.matchAll(/^Time: ([\d.]+) ms/gm)].map((m) => Number(m[1]));
      if (ms.length !== tables.length + 2) throw new Error(`psql said: ${out}`);
      copySeconds.push(ms.reduce((a, b) => a + b, 0) / 1000);
    }
    const ref = await count(refUrl);
    if (ref.e !== stored.e || ref.r !== stored.r || ref.x !== stored.x)
      throw new Error(`the reference has other rows: ${JSON.stringify({ ref, stored })}`);
    const psqlSeconds = median(copySeconds);
    const psqlRate = EVENTS / psqlSeconds;

    const report = {
      machine: { cpus: os.cpus().length, node: process.version, load_average_at_start: loadAtStart },
      settings: {
        events: EVENTS,
        batch: BATCH,
        connections: CONNECTIONS,
        users: USERS,
        movies: MOVIES,
        user_groups: USER_GROUPS,
        ...(EXTRA_SQL ? { extra_sql: path.basename(EXTRA_SQL) } : {}),
        server: `${FROM_SOURCES ? 'bin/dev.js (tsx)' : 'built CLI'}, child process`,
      },
      stored: { events: stored.e, ratings: stored.r, exclusions: stored.x, users: stored.u, accepted },
      api: {
        seconds: round(apiSeconds, 2),
        events_per_s: Math.round(apiRate),
        batch_p50_ms: round(latencies[Math.floor(latencies.length / 2)]),
        batch_p99_ms: round(latencies[Math.floor(latencies.length * 0.99)]),
        server_cpu_us_per_event: round((serverCpu * 1e6) / EVENTS),
        db_cpu_us_per_event: round((dbCpu * 1e6) / EVENTS),
        db_backends: backends,
      },
      psql_copy: {
        seconds: copySeconds.map((s) => round(s, 3)),
        events_per_s: Math.round(psqlRate),
      },
      ratio: round(apiRate / psqlRate, 3),
      target: '>= 0.10 of psql \\copy',
      ...(detail ? { database_detail: detail } : {}),
      load_average_at_end: os.loadavg().map((x) => round(x, 2)),
    };
    // Arrays of numbers on one line.
    console.log(
      JSON.stringify(report, null, 2).replace(
        /\[\s+([-\d.,\s]*?)\s+\]/g,
        (_, xs: string) => `[${xs.split(/,\s+/).join(', ')}]`,
      ),
    );
  } finally {
    if (child) await stop(child);
    await admin(`DROP DATABASE IF EXISTS ${API_DB} WITH (FORCE)`);
    await admin(`DROP DATABASE IF EXISTS ${REF_DB} WITH (FORCE)`);
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Where the database time of the run went (pg_stat_user_functions, in µs per event), and the time of each statement
 * of reco_store_feedback for DETAIL_BATCHES more batches of new events by the same users (auto_explain, analyze
 * without per-node timing; each statement's median in the report, every plan in dir/auto_explain.txt).
 */
async function databaseDetail(url: string, dir: string) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const functions = Object.fromEntries(
      (
        await c.query<{ funcname: string; calls: string; total_time: number; self_time: number }>(
          'SELECT funcname, calls, total_time, self_time FROM pg_stat_user_functions ORDER BY total_time DESC',
        )
      ).rows.map((f) => [
        f.funcname,
        {
          calls: Number(f.calls),
          total_us_per_event: round((f.total_time * 1000) / EVENTS, 2),
          self_us_per_event: round((f.self_time * 1000) / EVENTS, 2),
        },
      ]),
    );
    const clientId = (await c.query<{ id: number }>("SELECT id FROM clients WHERE username = 'bench'")).rows[0].id;
    await c.query("LOAD 'auto_explain'");
    await c.query(
      'SET auto_explain.log_min_duration = 0; SET auto_explain.log_analyze = on; SET auto_explain.log_timing = off; SET auto_explain.log_nested_statements = on; SET auto_explain.log_level = notice; SET client_min_messages = notice',
    );
    let notices: string[] = [];
    c.on('notice', (n) => notices.push(n.message ?? ''));
    const batches = makeBatches();
    const log: string[] = [];
    const times = new Map<string, number[]>();
    for (let b = 0; b < DETAIL_BATCHES; b++) {
      notices = [];
      const events = batches[b % batches.length] as {
        user_id: string;
        movie_id: number;
        type: string;
        rating?: number;
        timestamp: number;
      }[];
      const shift = (b + 1) * EVENTS * 10;
      await c.query(
        `SELECT stored_types, user_ids, created_users, ratings_stored
           FROM reco_store_feedback($1::int, $2::text[], $3::int[], $4::text[], $5::timestamptz[], $6::real[], $7::text[], $8::real, $9::text[], $10::int, $11::int)`,
        [
          clientId,
          events.map((e) => e.user_id),
          events.map((e) => e.movie_id),
          events.map((e) => e.type),
          events.map((e) => new Date((e.timestamp + shift) * 1000).toISOString()),
          events.map((e) => e.rating ?? null),
          events.map(() => null),
          4,
          [...GENRES],
          100_000_000,
          100_000_000,
        ],
      );
      log.push(`-- batch ${b + 1}\n${notices.join('\n\n')}`);
      for (const n of notices) {
        const key = queryText(n);
        const ms = Number(/duration: ([\d.]+) ms/.exec(n)?.[1] ?? NaN);
        times.set(key, [...(times.get(key) ?? []), ms]);
      }
    }
    // The first batches warm the session's plans and caches: the median of each statement's times.
    const statements = [...times].map(([statement, ms]) => ({
      median_ms: round(median(ms), 3),
      calls: ms.length,
      statement,
    }));
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'auto_explain.txt'), log.join('\n\n'));
    return { functions, statements_median_ms_per_batch: statements };
  } finally {
    await c.end();
  }
}

/**
 * What the API's database backends do during the run: pg_stat_activity sampled every 20 ms, the mean number of
 * backends running a statement on the CPU (no wait event), waiting for a lock (by wait event), for I/O or the WAL,
 * and idle in a transaction or idle (waiting for the server).
 */
async function sampleWaits() {
  const c = new pg.Client({ connectionString: ADMIN_URL });
  await c.connect();
  const tally = new Map<string, number>();
  let samples = 0;
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    c.query<{ state: string | null; wait_event_type: string | null; wait_event: string | null }>(
      'SELECT state, wait_event_type, wait_event FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [API_DB],
    )
      .then((r) => {
        samples++;
        for (const b of r.rows) {
          const what =
            b.state !== 'active'
              ? String(b.state)
              : b.wait_event_type === null
                ? 'active: cpu'
                : `active: ${b.wait_event_type}/${b.wait_event}`;
          tally.set(what, (tally.get(what) ?? 0) + 1);
        }
      })
      .finally(() => (busy = false));
  }, 20);
  return {
    async stop() {
      clearInterval(timer);
      while (busy) await new Promise((r) => setTimeout(r, 5));
      await c.end();
      return {
        samples,
        mean_backends: Object.fromEntries(
          [...tally].sort((a, b) => b[1] - a[1]).map(([k, n]) => [k, round(n / Math.max(1, samples), 2)]),
        ),
      };
    },
  };
}

/** The statement of an auto_explain message: its Query Text, up to the plan's first node, on one line. */
function queryText(notice: string): string {
  const lines = notice.split('\n');
  const from = lines.findIndex((l) => l.startsWith('Query Text: '));
  if (from < 0) return notice.slice(0, 160);
  const text: string[] = [lines[from].slice('Query Text: '.length)];
  for (const l of lines.slice(from + 1)) {
    if (/\((?:cost|actual time)=/.test(l)) break;
    text.push(l);
  }
  return text.join(' ').replace(/\s+/g, ' ').trim().slice(0, 160);
}

/** One POST over a keep-alive agent (node:http: the load generator adds as little as it can). */
function post(url: string, token: string, body: string, agent: http.Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          authorization: `Bearer ${token}`,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function migrateRef(url: string): Promise<void> {
  const ref = await PostgresDatabase.connect(url, { max: 1 });
  try {
    await migrate(ref);
  } finally {
    await ref.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
