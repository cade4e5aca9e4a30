import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import pg from 'pg';
import { childEnv, cliCommand, ROOT } from '../helpers/cli.js';
import { ADMIN_URL } from '../helpers/engines.js';

export interface ServeProcess {
  child: ChildProcess;
  /** Resolves with the base URL once the server logged "listening". */
  url: Promise<string>;
  output(): string;
  stderr(): string;
  exit: Promise<number | null>;
  /** Whether the process has exited. */
  exited(): boolean;
}

/** `reco serve --port 0` as an operator runs it. */
export function startServe(env: Record<string, string | undefined>, args: string[] = []): ServeProcess {
  const child = spawn(process.execPath, [...cliCommand(), 'serve', '--port', '0', '--metrics-port', '0', ...args], {
    cwd: ROOT,
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let ended = false;
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  exit.then(() => (ended = true));
  const url = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const m = out.match(/"msg":"listening"/) && out.match(/"url":"(http:\/\/[^"]+)"/);
      if (m) resolve(m[1]);
    });
    child.stderr!.on('data', (d) => (err += d));
    void exit.then((code) => reject(new Error(`reco serve exited with ${code}: ${err}`)));
  });
  url.catch(() => {});
  return { child, url, output: () => out + err, stderr: () => err, exit, exited: () => ended };
}

/** pg_terminate_backend for every connection to `database` (optionally only those of one application_name). */
export async function terminateBackends(database: string, applicationName?: string): Promise<number> {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    const r = await admin.query(
      `SELECT count(*)::int AS n FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE datname = $1 AND pid <> pg_backend_pid() AND ($2::text IS NULL OR application_name = $2)) t`,
      [database, applicationName ?? null],
    );
    return r.rows[0].n;
  } finally {
    await admin.end();
  }
}

export function databaseName(url: string): string {
  return new URL(url).pathname.slice(1);
}

/** A loopback port that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

export interface RawReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request with node:http on a given agent (keep-alive or not), so the test controls the connections. */
export function request(
  base: string,
  path: string,
  options: { method?: string; body?: string; token?: string; agent?: http.Agent } = {},
): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(options.body));
    }
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    const req = http.request(base + path, { method: options.method ?? 'GET', headers, agent: options.agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
