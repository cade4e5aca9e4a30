import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { PGliteDatabase } from '../../src/core/db/engines/pglite.js';
import { PostgresDatabase } from '../../src/core/db/engines/postgres.js';
import { migrate } from '../../src/core/db/migrate.js';
import { createPgDatabase, tempDir } from '../helpers/engines.js';
import { call, registerAndLogin, seedCatalogue } from '../server/fixtures.js';
import { sleep, startServe, type ServeProcess } from './support.js';

interface Parsed {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** A raw keep-alive HTTP/1.1 connection: the test decides which bytes go out when, and sees resets as such. */
class RawConnection {
  readonly socket: net.Socket;
  private buf = Buffer.alloc(0);
  private waiting: ((r: Parsed) => void) | undefined;
  private readonly parsed: Parsed[] = [];
  /** 'end' (the server closed the connection cleanly) or the socket error's code (ECONNRESET: a reset). */
  readonly closed: Promise<string>;

  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.parse();
    });
    this.closed = new Promise((resolve) => {
      this.socket.on('error', (err: any) => resolve(err.code ?? String(err)));
      this.socket.on('end', () => resolve('end'));
    });
    this.closed.then(() => this.socket.destroy());
  }

  connected(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.once('connect', resolve);
      this.socket.once('error', reject);
    });
  }

  write(bytes: string): void {
    this.socket.write(bytes);
  }

  next(): Promise<Parsed> {
    const ready = this.parsed.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve) => (this.waiting = resolve));
  }

  private parse(): void {
    for (;;) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const lines = this.buf.subarray(0, end).toString('latin1').split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      const length = Number(headers['content-length'] ?? 0);
      if (this.buf.length < end + 4 + length) return;
      const body = this.buf.subarray(end + 4, end + 4 + length).toString('utf8');
      this.buf = this.buf.subarray(end + 4 + length);
      const r = { status: Number(lines[0].split(' ')[1]), headers, body };
      const w = this.waiting;
      this.waiting = undefined;
      if (w) w(r);
      else this.parsed.push(r);
    }
  }
}

function recommendationRequest(token: string, json: unknown): { head: string; body: string } {
  const body = JSON.stringify(json);
  const head = `POST /recommendations HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\nContent-Type: application/json\r\nAuthorization: Bearer ${token}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
  return { head, body };
}

/**
 * SIGTERM to `reco serve` while keep-alive connections have writes in flight, unread in the socket buffers, and
 * half sent: every request sent before the signal is answered (none is reset), the answers say
 * `Connection: close`, idle keep-alive connections are closed cleanly, new connections are refused while the
 * last request finishes, and the process exits 0. On both engines.
 */
describe.each(['pglite', 'postgres'] as const)('SIGTERM under load [%s]', (engine) => {
  let serve: ServeProcess | undefined;
  let pg: Awaited<ReturnType<typeof createPgDatabase>> | undefined;
  const dataDir = tempDir('reco-faults-sigterm-');

  afterAll(async () => {
    if (serve && !serve.exited()) {
      serve.child.kill('SIGKILL');
      await serve.exit;
    }
    await pg?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers every request sent before the signal, refuses new connections, exits 0', async () => {
    const t0 = Date.now();
    const mark = (what: string) => process.env.DEBUG_FAULTS && process.stderr.write(`${what} +${Date.now() - t0} ms\n`);
    pg = engine === 'postgres' ? await createPgDatabase() : undefined;
    const db = pg
      ? await PostgresDatabase.connect(pg.url, { max: 1 })
      : await PGliteDatabase.open(path.join(dataDir, 'db'));
    try {
      await migrate(db);
      await seedCatalogue(db);
    } finally {
      await db.close();
    }
    serve = startServe({ RECO_DATA_DIR: dataDir, ...(pg ? { DATABASE_URL: pg.url } : {}) });
    const base = await serve.url;
    mark('listening');
    const port = Number(new URL(base).port);
    const token = await registerAndLogin(base, `sigterm-${engine}`);
    const user = (
      await call(base, 'POST', '/recommendations', { token, json: { history: [{ movie_id: 1, rating: 4 }], n: 5 } })
    ).body.user_id;
    const write = (k: number) =>
      recommendationRequest(token, { user_id: user, history: [{ movie_id: (k % 40) + 1, rating: 4 }], n: 5 });

    // 24 keep-alive connections, each used once already.
    const conns = Array.from({ length: 24 }, () => new RawConnection(port));
    await Promise.all(conns.map((c) => c.connected()));
    for (const [k, c] of conns.entries()) {
      const r = write(k);
      c.write(r.head + r.body);
    }
    for (const c of await Promise.all(conns.map((c) => c.next()))) expect(c.status).toBe(200);

    // 4 send half of a write (the rest follows after the signal), 4 stay idle, 16 loop writes until the signal.
    const busy = conns.slice(0, 16);
    const half = conns.slice(16, 20);
    const idle = conns.slice(20);
    const halves = half.map((c, k) => {
      const r = write(100 + k);
      c.write(r.head + r.body.slice(0, 10));
      return r.body.slice(10);
    });
    let signalled = false;
    const busyAnswers: Parsed[] = [];
    const loops = busy.map(async (c, k) => {
      for (let i = 0; !signalled; i++) {
        const r = write(200 + k + i);
        c.write(r.head + r.body);
        busyAnswers.push(await c.next());
      }
    });
    await sleep(400);
    // And 12 new connections, each with a write sent at once: accepted or waiting to be, their bytes unread.
    const fresh = Array.from({ length: 12 }, () => new RawConnection(port));
    await Promise.all(fresh.map((c) => c.connected()));
    for (const [k, c] of fresh.entries()) {
      const r = write(300 + k);
      c.write(r.head + r.body);
    }
    signalled = true;
    mark('signal');
    serve.child.kill('SIGTERM');
    const freshAnswers = fresh.map((c) =>
      Promise.race([c.next(), c.closed.then((how) => ({ status: 0, headers: {}, body: how }) as Parsed)]),
    );
    const halfAnswers = half.map((c) => c.next());

    // While the halves are pending the server runs, but takes no new connection.
    const deadline = Date.now() + 10_000;
    while (!/shutting down/.test(serve.output()) && Date.now() < deadline) await sleep(10);
    expect(serve.exited()).toBe(false);
    const probe = () =>
      new Promise<string>((resolve) => {
        const s = net.connect(port, '127.0.0.1');
        s.on('connect', () => {
          s.destroy();
          resolve('connected');
        });
        s.on('error', (err: any) => resolve(err.code));
      });
    let refused = await probe();
    while (refused !== 'ECONNREFUSED' && Date.now() < deadline) {
      await sleep(50);
      refused = await probe();
    }
    expect(serve.exited()).toBe(false);
    expect(refused).toBe('ECONNREFUSED');
    for (const [k, c] of half.entries()) c.write(halves[k]);

    let timer: NodeJS.Timeout | undefined;
    const settled = await Promise.race([
      Promise.all([...loops, ...halfAnswers]),
      new Promise<'timed out'>((resolve) => (timer = setTimeout(() => resolve('timed out'), 20_000))),
    ]);
    clearTimeout(timer);
    expect(settled).not.toBe('timed out');
    for (const r of [...busyAnswers, ...(await Promise.all(halfAnswers)), ...(await Promise.all(freshAnswers))]) {
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body).user_id).toBe(user);
    }
    // Answers written once the shutdown began tell keep-alive clients to go (those written before the signal
    // was handled may not); the idle connections are closed with a FIN.
    for (const r of await Promise.all(halfAnswers)) expect(r.headers.connection).toBe('close');
    // Every connection ends cleanly (a FIN after its answer, or idle), none is reset.
    expect(await Promise.all([...conns, ...fresh].map((c) => c.closed))).toEqual([...conns, ...fresh].map(() => 'end'));
    expect(idle).toHaveLength(4);
    expect(await serve.exit).toBe(0);
    mark('exited');
  }, 90_000);
});
