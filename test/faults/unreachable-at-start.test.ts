import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { ADMIN_URL, createPgDatabase, tempDir } from '../helpers/engines.js';
import { closedPort, sleep, startServe } from './support.js';

/** The one line a command prints on stderr, asserted to be the only one and free of a stack trace. */
function oneLine(stderr: string): string {
  const lines = stderr.split('\n').filter(Boolean);
  expect(lines).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /);
  return lines[0];
}

/** A TCP proxy on `port` to the test PostgreSQL server, started later than the client (PostgreSQL "coming up"). */
function proxyToPostgres(port: number): Promise<net.Server> {
  const target = new URL(ADMIN_URL);
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

/** PostgreSQL unreachable when a command starts: `reco serve` waits for it, the jobs fail in one line. */
describe('PostgreSQL unreachable at start', () => {
  const dataDir = tempDir('reco-faults-unreachable-');
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('reco serve says why, retries with backoff for --db-wait seconds, then fails in one line', async () => {
    const port = await closedPort();
    const started = Date.now();
    const r = await runCli(['serve', '--port', '0', '--metrics-port', '0', '--db-wait', '2'], {
      env: { DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/reco`, RECO_DATA_DIR: dataDir },
      timeoutMs: 30_000,
    });
    expect(r.code).toBe(4); // ExitCode.DATABASE
    const lines = r.stderr.split('\n').filter(Boolean);
    const retries = lines.filter((l) => l.startsWith('reco serve: cannot connect to PostgreSQL at 127.0.0.1:'));
    // 0.5 s, 1 s, then the rest of the 2 s.
    expect(retries.length).toBeGreaterThanOrEqual(2);
    expect(retries[0]).toMatch(
      /connection refused \(is the server running\?\).*; retrying in 0\.5 s \(--db-wait 2 s\)$/,
    );
    expect(retries[1]).toMatch(/; retrying in 1\.0 s/);
    expect(lines[lines.length - 1]).toMatch(
      /^Error: cannot connect to PostgreSQL at 127\.0\.0\.1:\d+: connection refused/,
    );
    expect(lines).toHaveLength(retries.length + 1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
  }, 60_000);

  it('reco serve starts once PostgreSQL answers', async () => {
    const pg = await createPgDatabase();
    const port = await closedPort();
    const url = new URL(pg.url);
    url.host = `127.0.0.1:${port}`;
    const serve = startServe({ DATABASE_URL: url.toString(), RECO_DATA_DIR: tempDir('reco-faults-wait-') }, [
      '--db-wait',
      '30',
    ]);
    let proxy: net.Server | undefined;
    try {
      const deadline = Date.now() + 20_000;
      while (!/retrying in/.test(serve.stderr()) && Date.now() < deadline) await sleep(20);
      expect(serve.stderr()).toMatch(/reco serve: cannot connect to PostgreSQL .*; retrying in/);
      proxy = await proxyToPostgres(port);
      const base = await serve.url;
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      serve.child.kill('SIGTERM');
      expect(await serve.exit).toBe(0);
    } finally {
      if (!serve.exited()) serve.child.kill('SIGKILL');
      await serve.exit;
      await new Promise((resolve) => proxy?.close(resolve) ?? resolve(undefined));
      await pg.drop();
    }
  }, 90_000);

  it('the jobs exit with their code and one line: ingest 4, train and backup-db non-zero', async () => {
    const port = await closedPort();
    const env = { DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/reco`, RECO_DATA_DIR: dataDir };
    const [ingest, train, backup] = await Promise.all([
      runCli(['ingest', '--from', path.join('data', 'initial_data')], { env, timeoutMs: 30_000 }),
      runCli(['train', '--algorithm', 'popular'], { env, timeoutMs: 30_000 }),
      runCli(['backup-db', '--out', path.join(dataDir, 'backups')], { env, timeoutMs: 30_000 }),
    ]);
    expect(ingest.code).toBe(4);
    for (const r of [train, backup]) expect(r.code).toBe(4);
    for (const r of [ingest, train, backup])
      expect(oneLine(r.stderr)).toMatch(/^Error: cannot connect to PostgreSQL at 127\.0\.0\.1:\d+: connection refused/);
  }, 60_000);
});
