import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { childEnv, cliCommand, ROOT, runCli } from '../helpers/cli.js';
import pg from 'pg';
import { createPgDatabase, tempDir } from '../helpers/engines.js';

/** `reco serve` as an operator runs it: a child process, real database, SIGTERM to stop. */
function startServe(env: Record<string, string | undefined>): {
  child: ChildProcess;
  url: Promise<string>;
  metricsUrl: Promise<string>;
  output: () => string;
  exit: Promise<number | null>;
} {
  const child = spawn(process.execPath, [...cliCommand(), 'serve', '--port', '0', '--metrics-port', '0'], {
    cwd: ROOT,
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let onMetrics: (url: string) => void;
  const metricsUrl = new Promise<string>((resolve) => (onMetrics = resolve));
  let err = '';
  const url = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const m = out.match(/"msg":"listening"/) && out.match(/"url":"(http:\/\/[^"]+)"/);
      if (m) resolve(m[1]);
      const metrics = out.match(/"url":"(http:\/\/[^"]+)"[^\n]*"msg":"serving metrics"/);
      if (metrics) onMetrics(metrics[1]);
    });
    child.stderr!.on('data', (d) => (err += d));
    child.on('close', (code) => reject(new Error(`reco serve exited with ${code}: ${err}`)));
  });
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, url, metricsUrl, output: () => out + err, exit };
}

describe('reco serve', () => {
  it('serves on the embedded database, holds its lock, keeps a 0600 token secret, and stops cleanly on SIGTERM', async () => {
    const dataDir = tempDir();
    const env = { RECO_DATA_DIR: dataDir };
    const s = startServe(env);
    try {
      const url = await s.url;
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: 'ready', database: true, model: { version: 'fallback' } });
      expect(fs.statSync(path.join(dataDir, 'jwt-secret')).mode & 0o777).toBe(0o600);
      const other = await runCli(['db', 'status'], { env });
      expect(other.code).not.toBe(0);
      expect(other.stderr).toMatch(/in use by reco serve, pid \d+/);
      const c = await fetch(`${url}/create-client`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'acme', password: 'long enough pw' }),
      });
      expect(c.status).toBe(201);
    } finally {
      s.child.kill('SIGTERM');
    }
    expect(await s.exit).toBe(0);
    expect(s.output()).toMatch(/"route":"\/create-client","status":201.*"msg":"request"/);
    // Probes are logged at debug only (LOG_LEVEL info here): kubelets call them every few seconds.
    expect(s.output()).not.toMatch(/"route":"\/readyz"/);
    expect(s.output()).toMatch(/"msg":"stopped"/);
    const after = await runCli(['clients', 'list', '--json'], { env });
    expect(after.code).toBe(0);
    expect(JSON.parse(after.stdout).clients.map((x: any) => x.username)).toEqual(['acme']);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves on PostgreSQL through DATABASE_URL', async () => {
    const pg = await createPgDatabase();
    const s = startServe({ DATABASE_URL: pg.url, RECO_DATA_DIR: tempDir() });
    try {
      const url = await s.url;
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      // The metrics span every tenant: they are served on their own port, not the API's.
      const metricsUrl = await s.metricsUrl;
      expect(new URL(metricsUrl).port).not.toBe(new URL(url).port);
      const metrics = await (await fetch(metricsUrl)).text();
      expect(metrics).toContain('reco_model_info{algorithm=');
      expect((await fetch(`${url}/metrics`)).status).toBe(404);
      expect((await fetch(new URL('/healthz', metricsUrl))).status).toBe(404);
    } finally {
      s.child.kill('SIGTERM');
      expect(await s.exit).toBe(0);
      await pg.drop();
    }
  });

  it('keeps its PostgreSQL pool to RECO_DB_POOL_SIZE connections, and refuses a size that is not one', async () => {
    const db = await createPgDatabase();
    const s = startServe({ DATABASE_URL: db.url, RECO_DATA_DIR: tempDir(), RECO_DB_POOL_SIZE: '2' });
    try {
      const url = await s.url;
      const json = { 'content-type': 'application/json' };
      const client = { username: 'pool', password: 'long enough pw' };
      expect(
        (await fetch(`${url}/create-client`, { method: 'POST', headers: json, body: JSON.stringify(client) })).status,
      ).toBe(201);
      const login = await fetch(`${url}/token`, { method: 'POST', headers: json, body: JSON.stringify(client) });
      const token = ((await login.json()) as { access_token: string }).access_token;
      const admin = new pg.Client({ connectionString: db.url });
      await admin.connect();
      try {
        await admin.query(`INSERT INTO movies (movie_id, title, genres) VALUES (1, 'One (2001)', ARRAY['Drama'])`);
        // 20 new users at once, each a write of its own (no id: not grouped): a pool of 10 would open more than 2.
        const answers = await Promise.all(
          Array.from({ length: 20 }, () =>
            fetch(`${url}/recommendations`, {
              method: 'POST',
              headers: { ...json, authorization: `Bearer ${token}` },
              body: JSON.stringify({ history: [{ movie_id: 1, rating: 4 }] }),
            }).then((r) => r.status),
          ),
        );
        expect(answers).toEqual(Array(20).fill(200));
        // The pool's connections stay open while idle (10 s); the LISTEN connection is not the pool's.
        const open = await admin.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name <> 'reco-listen'`,
        );
        expect(open.rows[0].n).toBe(2);
      } finally {
        await admin.end();
      }
    } finally {
      s.child.kill('SIGTERM');
      expect(await s.exit).toBe(0);
      await db.drop();
    }
    const bad = await runCli(['serve', '--port', '0'], { env: { RECO_DB_POOL_SIZE: '0', RECO_DATA_DIR: tempDir() } });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/invalid environment variable RECO_DB_POOL_SIZE/);
  });

  it('refuses a weak RECO_JWT_SECRET in one line (production without one: see limits.test.ts)', async () => {
    // bin/dev.js (oclif development mode) forces NODE_ENV=development, so production is tested in-process.
    const r = await runCli(['serve', '--port', '0'], { env: { RECO_DATA_DIR: tempDir(), RECO_JWT_SECRET: 'short' } });
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim()).toBe(
      'Error: RECO_JWT_SECRET is too short: use at least 32 characters (e.g. openssl rand -hex 32)',
    );
  });

  it('documents itself in --help', async () => {
    const r = await runCli(['serve', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--port/);
    expect(r.stdout).toMatch(/EXAMPLES/);
    expect(r.stdout).toMatch(/RECO_JWT_SECRET/);
    expect(r.stdout).toMatch(/--reply-batch/);
  });

  it('refuses a reply batch below 1, from the flag or RECO_REPLY_BATCH', async () => {
    const flag = await runCli(['serve', '--port', '0', '--reply-batch', '0'], { env: { RECO_DATA_DIR: tempDir() } });
    expect(flag.code).not.toBe(0);
    expect(flag.stderr).toMatch(/--reply-batch[\s\S]*greater than or equal to 1/);
    const env = await runCli(['serve', '--port', '0'], { env: { RECO_DATA_DIR: tempDir(), RECO_REPLY_BATCH: 'x' } });
    expect(env.code).not.toBe(0);
    expect(env.stderr).toMatch(/--reply-batch[\s\S]*Expected an integer/);
  });
});
