/**
 * bench:feedback — the write speed of POST /feedback (docs/benchmarks/feedback.md), measured in one run:
 * batches of BENCH_BATCH (default 500) events over HTTP from BENCH_CONNECTIONS (default 8) concurrent keep-alive
 * connections, events/s from the first request to the last answer, against psql's `\copy` of the same rows
 * (exported from the API's database after the run) into the same tables — feedback_events, ratings,
 * user_exclusions — of a second database with the same users and movies. Target: ≥ 0.10 of psql.
 * The API runs in this process on the local PostgreSQL (RECO_BENCH_PG_URL, admin connection); the load
 * generator shares the process, so the ratio is a lower bound. Env: BENCH_EVENTS (default 50,000),
 * BENCH_USERS (default 5,000), BENCH_MOVIES (default 2,000).
 */
import { execFileSync } from 'node:child_process';
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
import { startServer } from '../src/server/index.js';

const ADMIN_URL = process.env.RECO_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const EVENTS = Number(process.env.BENCH_EVENTS ?? 50_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 500);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 8);
const USERS = Number(process.env.BENCH_USERS ?? 5_000);
const MOVIES = Number(process.env.BENCH_MOVIES ?? 2_000);
const TYPES = ['rating', 'rating', 'rating', 'rating', 'rating', 'view', 'view', 'like', 'dislike', 'skip'] as const;

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
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
    const events = [];
    for (let k = i; k < Math.min(EVENTS, i + BATCH); k++) {
      const type = TYPES[Math.floor(rnd() * TYPES.length)];
      events.push({
        user_id: `bench-${Math.floor(rnd() * USERS)}`,
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
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'reco-bench-feedback-'));
  const apiUrl = await freshDatabase('reco_bench_feedback_api');
  const refUrl = await freshDatabase('reco_bench_feedback_ref');
  const db = await PostgresDatabase.connect(apiUrl, { max: 16 });
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  try {
    await migrate(db);
    await seedMovies(db);
    await createClient(db, { username: 'bench', password: 'bench password 123' });
    server = await startServer({
      db,
      config: {
        dataDir: work,
        jwtSecret: 'bench-secret-0123456789abcdef0123456789abcdef',
        tokenTtlSeconds: 3600,
        production: false,
      },
      modelPollMs: 0,
      port: 0,
    });
    const base = server.url!;
    const token = (
      (await (
        await fetch(`${base}/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: 'bench', password: 'bench password 123' }),
        })
      ).json()) as { access_token: string }
    ).access_token;
    const bodies = makeBatches().map((events) => JSON.stringify({ events }));
    console.log(
      `${EVENTS.toLocaleString('en')} events in ${bodies.length} batches of ${BATCH}, ${CONNECTIONS} connections, ${USERS} users, ${MOVIES} movies`,
    );

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
    agent.destroy();
    latencies.sort((a, b) => a - b);
    const apiRate = EVENTS / apiSeconds;

    // The same rows into the same tables of a second database with the same users and movies, by psql.
    const counts = await db.query<{ e: number; r: number; x: number; u: number }>(
      'SELECT (SELECT count(*) FROM feedback_events)::int AS e, (SELECT count(*) FROM ratings)::int AS r, (SELECT count(*) FROM user_exclusions)::int AS x, (SELECT count(*) FROM users)::int AS u',
    );
    const tables = ['feedback_events', 'ratings', 'user_exclusions'];
    for (const t of ['movies', 'clients', 'users', ...tables])
      execFileSync('psql', [apiUrl, '-qc', `\\copy ${t} TO '${path.join(work, `${t}.csv`)}' WITH (FORMAT csv)`]);
    await migrateRef(refUrl);
    for (const t of ['movies', 'clients', 'users'])
      execFileSync('psql', [refUrl, '-qc', `\\copy ${t} FROM '${path.join(work, `${t}.csv`)}' WITH (FORMAT csv)`]);
    const copyScript = tables
      .map((t) => `\\copy ${t} FROM '${path.join(work, `${t}.csv`)}' WITH (FORMAT csv)`)
      .join('\n');
    fs.writeFileSync(path.join(work, 'copy.sql'), `BEGIN;\n${copyScript}\nCOMMIT;\n`);
    const t1 = performance.now();
    execFileSync('psql', [refUrl, '-q', '-v', 'ON_ERROR_STOP=1', '-f', path.join(work, 'copy.sql')]);
    const psqlSeconds = (performance.now() - t1) / 1000;
    const psqlRate = EVENTS / psqlSeconds;

    const c = counts.rows[0];
    console.log(`stored: ${c.e} events, ${c.r} ratings, ${c.x} exclusions, ${c.u} users (accepted ${accepted})`);
    console.log(
      `POST /feedback: ${apiSeconds.toFixed(2)} s → ${Math.round(apiRate).toLocaleString('en')} events/s; batch latency p50 ${latencies[Math.floor(latencies.length / 2)].toFixed(1)} ms, p99 ${latencies[Math.floor(latencies.length * 0.99)].toFixed(1)} ms`,
    );
    console.log(
      `psql \\copy of the same rows into the same tables (one transaction): ${psqlSeconds.toFixed(2)} s → ${Math.round(psqlRate).toLocaleString('en')} events/s`,
    );
    console.log(`RATIO feedback/psql: ${(apiRate / psqlRate).toFixed(3)} (target ≥ 0.10)`);
  } finally {
    await server?.close();
    await db.close();
    await admin('DROP DATABASE IF EXISTS reco_bench_feedback_api WITH (FORCE)');
    await admin('DROP DATABASE IF EXISTS reco_bench_feedback_ref WITH (FORCE)');
    fs.rmSync(work, { recursive: true, force: true });
  }
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

await main();
