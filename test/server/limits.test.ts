import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { resolveJwtSecret } from '../../src/core/auth/jwt-secret.js';
import type { RecoServer } from '../../src/server/index.js';
import { describeEachEngine, tempDir } from '../helpers/engines.js';
import { call, rankingModel, registerAndLogin, seedCatalogue, startTestServer, SwitchableSource } from './fixtures.js';

/** Admin gate, rate limits, token lifetime and graceful shutdown, each on a server configured for it. */
describeEachEngine('server limits', (t) => {
  const servers: RecoServer[] = [];
  const start = async (overrides: Parameters<typeof startTestServer>[1] = {}) => {
    const s = await startTestServer(t.db, { modelSource: new SwitchableSource(), ...overrides });
    servers.push(s);
    return s;
  };
  beforeAll(() => seedCatalogue(t.db));
  afterAll(async () => {
    for (const s of servers) await s.close();
  });

  it('gates /create-client behind X-Admin-Token when an admin token is configured', async () => {
    const s = await start({
      config: {
        dataDir: tempDir(),
        jwtSecret: 'x'.repeat(40),
        tokenTtlSeconds: 3600,
        production: false,
        adminToken: 'let-me-in-please',
      },
    });
    const json = { username: `gated-${t.engine}`, password: 'long enough pw' };
    const none = await call(s.url!, 'POST', '/create-client', { json });
    expect(none.status).toBe(401);
    expect(none.body.message).toMatch(/X-Admin-Token/);
    expect(
      (await call(s.url!, 'POST', '/create-client', { json, headers: { 'x-admin-token': 'let-me-in-pleasX' } })).status,
    ).toBe(401);
    expect(
      (await call(s.url!, 'POST', '/create-client', { json, headers: { 'x-admin-token': 'let-me-in-please' } })).status,
    ).toBe(201);
  });

  it('rate-limits /token and /create-client per address with 429', async () => {
    const s = await start({ rateLimit: { token: 3, createClient: 2 } });
    const login = () => call(s.url!, 'POST', '/token', { json: { username: 'nobody', password: 'wrong password' } });
    expect([(await login()).status, (await login()).status, (await login()).status]).toEqual([401, 401, 401]);
    const limited = await login();
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({
      error: 'too_many_requests',
      message: expect.stringMatching(/too many login attempts/),
    });
    const reg = (i: number) =>
      call(s.url!, 'POST', '/create-client', { json: { username: `rl${i}-${t.engine}`, password: 'long enough pw' } });
    expect((await reg(1)).status).toBe(201);
    expect((await reg(2)).status).toBe(201);
    expect((await reg(3)).status).toBe(429);
    // Other routes are not limited.
    expect((await call(s.url!, 'GET', '/healthz')).status).toBe(200);
  });

  it('refuses a token after its lifetime (RECO_TOKEN_TTL)', async () => {
    const s = await start({
      // 2 s: a token's exp is in whole seconds from its issue's second, so a lifetime of 1 s can end within
      // milliseconds of the login, before the first call on a loaded machine.
      config: { dataDir: tempDir(), jwtSecret: 'y'.repeat(40), tokenTtlSeconds: 2, production: false },
    });
    const token = await registerAndLogin(s.url!, `ttl-${t.engine}`);
    expect((await call(s.url!, 'GET', '/movies?limit=1', { token })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 3100));
    const late = await call(s.url!, 'GET', '/movies?limit=1', { token });
    expect(late.status).toBe(401);
    expect(late.body.message).toMatch(/expired/);
  });

  it('refuses an expired token on the keep-alive connection that used it while valid (fast path)', async () => {
    const source = new SwitchableSource();
    source.models.set('v1', rankingModel('v1'));
    source.active = 'v1';
    const s = await start({
      modelSource: source,
      config: { dataDir: tempDir(), jwtSecret: 'z'.repeat(40), tokenTtlSeconds: 3, production: false },
    });
    const token = await registerAndLogin(s.url!, `ttlka-${t.engine}`);
    // exp is in whole seconds: wait for the token's own exp rather than a fixed delay, so a slow machine
    // cannot expire it before the first requests.
    const exp = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).exp as number;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<unknown>();
    const ask = (json: unknown) =>
      new Promise<{ status: number; body: any }>((resolve, reject) => {
        const body = JSON.stringify(json);
        const req = http.request(
          `${s.url}/recommendations`,
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
            sockets.add(res.socket);
            let text = '';
            res.on('data', (c) => (text += c));
            res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    try {
      const created = await ask({ history: [{ movie_id: 1, rating: 5 }] });
      expect(created.status).toBe(200);
      for (let i = 0; i < 3; i++) expect((await ask({ user_id: created.body.user_id })).status).toBe(200);
      await new Promise((r) => setTimeout(r, Math.max(0, exp * 1000 - Date.now()) + 1100));
      const late = await ask({ user_id: created.body.user_id });
      expect(sockets.size).toBe(1);
      expect(late.status).toBe(401);
      expect(late.body.message).toMatch(/expired/);
    } finally {
      agent.destroy();
    }
  });

  it('refuses a client disabled after its token was issued', async () => {
    const s = await start();
    const token = await registerAndLogin(s.url!, `dis-${t.engine}`);
    await t.db.query('UPDATE clients SET disabled = true WHERE username = $1', [`dis-${t.engine}`]);
    const r = await call(s.url!, 'GET', '/movies', { token });
    expect(r.status).toBe(401);
    expect(r.body.message).toMatch(/disabled/);
  });

  it('picks up a newly activated model by polling when no notification comes', async () => {
    const source = new SwitchableSource();
    const s = await start({ modelSource: source, modelPollMs: 100 });
    expect(s.models.current?.version).toBe('fallback');
    source.models.set('v9', rankingModel('v9'));
    source.active = 'v9';
    const deadline = Date.now() + 5000;
    while (s.models.current?.version !== 'v9' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    expect(s.models.current?.version).toBe('v9');
    expect((await call(s.url!, 'GET', '/readyz')).body.model).toEqual({ algorithm: 'test-ranking', version: 'v9' });
  });

  it('limits the body size as configured', async () => {
    const s = await start({ bodyLimit: '1kb' });
    const token = await registerAndLogin(s.url!, `body-${t.engine}`);
    const r = await call(s.url!, 'POST', '/recommendations', {
      token,
      json: { history: Array.from({ length: 100 }, (_, i) => ({ movie_id: i + 1, rating: 4 })) },
    });
    expect(r.status).toBe(413);
  });

  it('shuts down gracefully: in-flight requests finish, new connections are refused', async () => {
    const s = await startTestServer(t.db, { modelSource: new SwitchableSource() });
    const username = `grace-${t.engine}`;
    const token = await registerAndLogin(s.url!, username);
    const clientId = (await t.db.query('SELECT id FROM clients WHERE username = $1', [username])).rows[0].id;
    let seen = 0;
    s.httpServer!.on('request', () => seen++);
    // Hold the lock that new-user histories take, so the 20 requests are all inside the server when it closes.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    const holder = t.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(30, $1)', [clientId]);
      locked();
      await held;
    });
    await isLocked;
    const inflight = Array.from({ length: 20 }, (_, i) =>
      call(s.url!, 'POST', '/recommendations', { token, json: { history: [{ movie_id: (i % 10) + 1 }] } }),
    );
    const deadline = Date.now() + 10_000;
    while (seen < 20 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(seen).toBe(20);
    const closed = s.close();
    await new Promise((r) => setTimeout(r, 50));
    // A new connection is refused (fetch would reuse a kept-alive one, whose request is still answered, with
    // Connection: close: test/faults/sigterm-under-load.test.ts).
    const probe = new Promise((resolve, reject) => {
      const c = net.connect(Number(new URL(s.url!).port), '127.0.0.1');
      c.on('connect', () => resolve(c.destroy()));
      c.on('error', reject);
    });
    await expect(probe).rejects.toThrow(/ECONNREFUSED/);
    release();
    await holder;
    const replies = await Promise.all(inflight);
    await closed;
    expect(replies.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(new Set(replies.map((r) => r.body.user_id)).size).toBe(20);
  });
});

describe('the token secret', () => {
  it('is generated once into the data directory with mode 0600 and reused', () => {
    const dataDir = tempDir();
    const config = { dataDir, production: false };
    const first = resolveJwtSecret(config);
    expect(first.length).toBeGreaterThanOrEqual(32);
    const file = path.join(dataDir, 'jwt-secret');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(resolveJwtSecret(config)).toBe(first);
  });

  it('is required in production and must be long enough', () => {
    expect(() => resolveJwtSecret({ dataDir: tempDir(), production: true })).toThrow(
      'RECO_JWT_SECRET is required when NODE_ENV=production (e.g. openssl rand -hex 32)',
    );
    expect(() => resolveJwtSecret({ dataDir: tempDir(), production: true, jwtSecret: 'short' })).toThrow(/too short/);
    expect(resolveJwtSecret({ dataDir: tempDir(), production: true, jwtSecret: 'z'.repeat(32) })).toBe('z'.repeat(32));
  });
});

describe('when the database goes away', () => {
  it('answers 503 on /readyz and on routes that need it, never a 500 or a leak', async () => {
    const { createTestDatabase } = await import('../helpers/engines.js');
    const made = await createTestDatabase('postgres');
    await seedCatalogue(made.db);
    const s = await startTestServer(made.db, { modelSource: new SwitchableSource() });
    try {
      const token = await registerAndLogin(s.url!, 'gone');
      expect((await call(s.url!, 'GET', '/readyz')).status).toBe(200);
      await made.drop();
      const ready = await call(s.url!, 'GET', '/readyz');
      expect(ready.status).toBe(503);
      expect(ready.body).toMatchObject({ status: 'not ready', database: false });
      const r = await call(s.url!, 'POST', '/recommendations', { token, json: { history: [{ movie_id: 1 }] } });
      expect(r.status).toBe(503);
      expect(r.body).toEqual({ error: 'unavailable', message: 'the database is unavailable: try again shortly' });
      expect((await call(s.url!, 'GET', '/healthz')).status).toBe(200);
      expect((await call(s.url!, 'GET', '/metrics')).status).toBe(200);
    } finally {
      await s.close();
    }
  });
});
