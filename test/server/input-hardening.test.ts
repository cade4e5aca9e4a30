import { createHmac } from 'node:crypto';
import http from 'node:http';
import jwt from 'jsonwebtoken';
import { JWT_AUDIENCE, JWT_ISSUER } from '../../src/core/auth/tokens.js';
import { migrate } from '../../src/core/db/migrate.js';
import { migrations } from '../../src/core/db/migrations/index.js';
import type { RecoServer } from '../../src/server/index.js';
import { createTestDatabase, describeEachEngine, ENGINES } from '../helpers/engines.js';
import {
  call,
  rankingModel,
  registerAndLogin,
  seedCatalogue,
  startTestServer,
  SwitchableSource,
  TEST_SECRET,
} from './fixtures.js';

/** Hostile input on the real server: bad text, forged token claims, wrong methods, conditional probes, look-alike names. */
describeEachEngine('input hardening', (t) => {
  let server: RecoServer;
  let base: string;
  let token: string;
  let clientId: number;
  beforeAll(async () => {
    await seedCatalogue(t.db);
    const source = new SwitchableSource();
    source.models.set('v1', rankingModel('v1'));
    source.active = 'v1';
    server = await startTestServer(t.db, { modelSource: source, rateLimit: { createClient: 1000, token: 1000 } });
    base = server.url!;
    token = await registerAndLogin(base, 'tenant_a');
    clientId = Number((jwt.decode(token) as jwt.JwtPayload).sub);
  });
  afterAll(() => server.close());

  const expectJson4xx = (r: { status: number; body: any }, status: number, message: RegExp) => {
    expect({ status: r.status, error: typeof r.body?.error, message: r.body?.message }).toEqual({
      status,
      error: 'string',
      message: expect.stringMatching(message),
    });
  };

  describe('text the database cannot store', () => {
    it('refuses NUL and lone surrogates in /create-client with 422 naming the field', async () => {
      const ok = { username: 'nul-test', password: 'long enough pw' };
      expectJson4xx(
        await call(base, 'POST', '/create-client', { json: { ...ok, name: 'a\u0000b' } }),
        422,
        /^name: .*NUL/,
      );
      expectJson4xx(
        await call(base, 'POST', '/create-client', { json: { ...ok, email: 'a\u0000b@x' } }),
        422,
        /^email: .*NUL/,
      );
      expectJson4xx(
        await call(base, 'POST', '/create-client', { json: { ...ok, name: 'a\ud800b' } }),
        422,
        /^name: .*surrogate/,
      );
      expectJson4xx(
        await call(base, 'POST', '/create-client', { json: { ...ok, email: '\udfff@x' } }),
        422,
        /^email: .*surrogate/,
      );
      expectJson4xx(
        await call(base, 'POST', '/create-client', { json: { ...ok, password: 'long enough\u0000pw' } }),
        422,
        /^password: .*NUL/,
      );
      expectJson4xx(
        await call(base, 'POST', '/create-client', { json: { ...ok, username: 'nul\u0000x' } }),
        422,
        /^username: /,
      );
      expectJson4xx(
        await call(base, 'POST', '/create-client', { json: { ...ok, name: 'n'.repeat(201) } }),
        422,
        /^name: /,
      );
      expectJson4xx(
        await call(base, 'POST', '/create-client', { json: { ...ok, email: 'e'.repeat(321) } }),
        422,
        /^email: /,
      );
      // A pair is a character like any other.
      const emoji = await call(base, 'POST', '/create-client', { json: { ...ok, name: 'Ciné 🎬' } });
      expect(emoji.status).toBe(201);
      expect((await t.db.query('SELECT name FROM clients WHERE username = $1', ['nul-test'])).rows[0].name).toBe(
        'Ciné 🎬',
      );
    });

    it('refuses NUL and lone surrogates in /token, as JSON and as the OAuth2 form', async () => {
      expectJson4xx(
        await call(base, 'POST', '/token', { json: { username: 'tenant_a\u0000', password: 'correct horse battery' } }),
        422,
        /^username: .*NUL/,
      );
      expectJson4xx(
        await call(base, 'POST', '/token', { json: { username: 'tenant_a\ud83d', password: 'correct horse battery' } }),
        422,
        /^username: .*surrogate/,
      );
      const form = (body: string) =>
        call(base, 'POST', '/token', { body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      expectJson4xx(
        await form('grant_type=password&username=tenant_a%00&password=correct+horse+battery'),
        422,
        /^username: .*NUL/,
      );
      expectJson4xx(
        await form('grant_type=password&username=tenant_a&password=correct+horse%00battery'),
        422,
        /^password: .*NUL/,
      );
      expectJson4xx(await form(`grant_type=password&username=${'u'.repeat(65)}&password=x`), 422, /^username: /);
      expect((await form('grant_type=password&username=tenant_a&password=correct+horse+battery')).status).toBe(200);
    });

    it('refuses NUL, lone surrogates and over-long text in /movies query parameters', async () => {
      for (const q of ['query=%00', 'query=a%00b', 'genre=%00', 'genre=Dra%00ma', 'query=%ED%A0%80']) {
        const r = await call(base, 'GET', `/movies?${q}`, { token });
        if (q === 'query=%ED%A0%80') {
          // Percent-encoded surrogate bytes are not UTF-8: decoded as U+FFFD, a harmless search with no match.
          expect(r.status).toBe(200);
          continue;
        }
        expectJson4xx(r, 422, /^(query|genre): .*NUL/);
      }
      expectJson4xx(await call(base, 'GET', `/movies?query=${'q'.repeat(201)}`, { token }), 422, /^query: /);
      expectJson4xx(await call(base, 'GET', `/movies?genre=${'g'.repeat(51)}`, { token }), 422, /^genre: /);
      expect((await call(base, 'GET', '/movies?query=toy', { token })).body.total).toBe(1);
    });
  });

  describe('token claims', () => {
    const sign = (claims: Record<string, unknown>, options: jwt.SignOptions = {}) =>
      jwt.sign({ username: 'tenant_a', ...claims }, TEST_SECRET, { algorithm: 'HS256', ...options });
    /** A token jsonwebtoken would refuse to sign (claims of the wrong type), signed by hand with the right key. */
    const signRaw = (claims: Record<string, unknown>) => {
      const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const head = `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}`;
      return `${head}.${createHmac('sha256', TEST_SECRET).update(head).digest('base64url')}`;
    };
    const valid = { issuer: JWT_ISSUER, audience: JWT_AUDIENCE, expiresIn: 600 } as const;
    /** Both authentication entries: Express (GET /movies) and the fast path (POST /recommendations). */
    const both = async (tok: string) => [
      (await call(base, 'GET', '/movies?limit=1', { token: tok })).status,
      (await call(base, 'POST', '/recommendations', { json: { history: [{ movie_id: 1 }] }, token: tok })).status,
    ];

    it('accepts the tokens it issues, which carry iss, aud, exp and the client id as sub', async () => {
      const claims = jwt.verify(token, TEST_SECRET) as jwt.JwtPayload;
      expect(claims).toMatchObject({ iss: JWT_ISSUER, aud: JWT_AUDIENCE, sub: String(clientId), username: 'tenant_a' });
      expect(typeof claims.exp).toBe('number');
      expect(await both(sign({}, { ...valid, subject: String(clientId) }))).toEqual([200, 200]);
    });

    it('refuses a sub out of range or not canonical, a missing exp and a wrong or missing iss/aud with 401', async () => {
      const bad: Record<string, string> = {
        'sub 2^40': sign({}, { ...valid, subject: String(2 ** 40) }),
        'sub 2^31': sign({}, { ...valid, subject: String(2 ** 31) }),
        'sub "2.0"': sign({ sub: `${clientId}.0` }, valid),
        'sub "02"': sign({ sub: `0${clientId}` }, valid),
        'sub " 1"': sign({ sub: ` ${clientId}` }, valid),
        'sub number': sign({ sub: clientId }, valid),
        'sub 0': sign({}, { ...valid, subject: '0' }),
        'sub -1': sign({}, { ...valid, subject: '-1' }),
        'no sub': sign({}, valid),
        'no exp': sign({}, { issuer: JWT_ISSUER, audience: JWT_AUDIENCE, subject: String(clientId) }),
        'exp not a number': signRaw({ sub: String(clientId), iss: JWT_ISSUER, aud: JWT_AUDIENCE, exp: 'never' }),
        'wrong iss': sign({}, { ...valid, issuer: 'someone-else', subject: String(clientId) }),
        'no iss': sign({}, { audience: JWT_AUDIENCE, expiresIn: 600, subject: String(clientId) }),
        'wrong aud': sign({}, { ...valid, audience: 'another-api', subject: String(clientId) }),
        'no aud': sign({}, { issuer: JWT_ISSUER, expiresIn: 600, subject: String(clientId) }),
      };
      // The hand-made signature is right: the same claims with a number exp pass.
      expect(
        await both(
          signRaw({
            sub: String(clientId),
            iss: JWT_ISSUER,
            aud: JWT_AUDIENCE,
            exp: Math.floor(Date.now() / 1000) + 600,
          }),
        ),
      ).toEqual([200, 200]);
      const got: Record<string, number[]> = {};
      for (const [what, tok] of Object.entries(bad)) got[what] = await both(tok);
      expect(got).toEqual(Object.fromEntries(Object.keys(bad).map((k) => [k, [401, 401]])));
      // Each refusal is JSON, and the token memo did not let any of them in on a second try.
      const again = await call(base, 'GET', '/movies?limit=1', { token: bad['no exp'] });
      expect(again.body).toEqual({ error: 'unauthorized', message: 'invalid bearer token' });
    });

    it('does not let a refused token through on the keep-alive connection of an accepted one', async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const ask = (tok: string) =>
        new Promise<number>((resolve, reject) => {
          const body = JSON.stringify({ history: [{ movie_id: 2 }] });
          const req = http.request(
            `${base}/recommendations`,
            {
              method: 'POST',
              agent,
              headers: {
                'content-type': 'application/json',
                'content-length': Buffer.byteLength(body),
                authorization: `Bearer ${tok}`,
              },
            },
            (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode!));
            },
          );
          req.on('error', reject);
          req.end(body);
        });
      try {
        expect(await ask(token)).toBe(200);
        expect(await ask(token)).toBe(200);
        expect(await ask(sign({}, { issuer: JWT_ISSUER, audience: JWT_AUDIENCE, subject: String(clientId) }))).toBe(
          401,
        );
        expect(await ask(sign({}, { ...valid, subject: String(2 ** 40) }))).toBe(401);
        expect(await ask(token)).toBe(200);
      } finally {
        agent.destroy();
      }
    });
  });

  describe('methods and conditional requests', () => {
    it('answers a wrong method on an existing route with 405, an Allow header and a JSON body', async () => {
      const cases: [string, string, string][] = [
        ['GET', '/recommendations', 'POST'],
        ['PUT', '/recommendations', 'POST'],
        ['GET', '/token', 'POST'],
        ['DELETE', '/create-client', 'POST'],
        ['POST', '/movies', 'GET, HEAD'],
        ['POST', '/healthz', 'GET, HEAD'],
        ['DELETE', '/readyz', 'GET, HEAD'],
        ['PATCH', '/openapi.json', 'GET, HEAD'],
        ['POST', '/MOVIES/', 'GET, HEAD'],
      ];
      for (const [method, path, allow] of cases) {
        const r = await call(base, method, path, { token });
        expect({ method, path, status: r.status, allow: r.headers.get('allow'), body: r.body }).toEqual({
          method,
          path,
          status: 405,
          allow,
          body: { error: 'method_not_allowed', message: expect.stringContaining(`use ${allow}`) },
        });
      }
      // A path no method serves is still a 404, without Allow.
      const none = await call(base, 'POST', '/nowhere');
      expect([none.status, none.headers.get('allow'), none.body.error]).toEqual([404, null, 'not_found']);
    });

    it('never answers /healthz or /readyz with 304, whatever the conditional headers', async () => {
      const conditional: Record<string, string>[] = [
        { 'if-none-match': '*' },
        { 'if-none-match': 'W/"x", "y"' },
        { 'if-modified-since': new Date(Date.now() + 86_400_000).toUTCString() },
      ];
      for (const path of ['/healthz', '/readyz']) {
        for (const headers of conditional) {
          const r = await call(base, 'GET', path, { headers });
          expect({ path, headers, status: r.status, status_body: typeof r.body?.status }).toEqual({
            path,
            headers,
            status: 200,
            status_body: 'string',
          });
          expect(r.headers.get('cache-control')).toBe('no-store');
          expect(r.headers.get('etag')).toBeNull();
        }
      }
      expect((await call(base, 'GET', '/movies?limit=1', { token, headers: { 'if-none-match': '*' } })).status).toBe(
        200,
      );
    });
  });

  describe('usernames compared without regard to case', () => {
    it('refuses TENANT_A beside tenant_a with 409, and logs in whatever the case', async () => {
      const dup = await call(base, 'POST', '/create-client', {
        json: { username: 'TENANT_A', password: 'another password' },
      });
      expect(dup.status).toBe(409);
      expect(dup.body).toEqual({ error: 'conflict', message: expect.stringMatching(/taken.*letter case/) });
      expect(
        (await call(base, 'POST', '/create-client', { json: { username: 'Tenant_A', password: 'another password' } }))
          .status,
      ).toBe(409);
      for (const username of ['tenant_a', 'TENANT_A', 'Tenant_A']) {
        const r = await call(base, 'POST', '/token', { json: { username, password: 'correct horse battery' } });
        expect({ username, status: r.status }).toEqual({ username, status: 200 });
        // The token names the client as it registered.
        expect((jwt.decode(r.body.access_token) as jwt.JwtPayload).username).toBe('tenant_a');
        expect((jwt.decode(r.body.access_token) as jwt.JwtPayload).sub).toBe(String(clientId));
      }
      expect(
        (await call(base, 'POST', '/token', { json: { username: 'TENANT_A', password: 'another password' } })).status,
      ).toBe(401);
      const n = await t.db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM clients WHERE lower(username) = 'tenant_a'",
      );
      expect(n.rows[0].n).toBe(1);
    });

    it('enforces it in the database too (the unique index of migration 041)', async () => {
      await expect(t.db.query("INSERT INTO clients (username) VALUES ('TeNaNt_A')")).rejects.toMatchObject({
        code: '23505',
      });
    });
  });
});

describe('migration 041 on a database with look-alike usernames', () => {
  for (const engine of ENGINES) {
    it(`fails with a message naming them and changes nothing [${engine}]`, async () => {
      const test = await createTestDatabase(engine, { migrate: false });
      try {
        await migrate(
          test.db,
          migrations.filter((m) => m.version < 41),
        );
        await test.db.query(
          "INSERT INTO clients (username) VALUES ('netflix'), ('NetFlix'), ('hulu'), ('HULU'), ('other')",
        );
        await expect(migrate(test.db)).rejects.toThrow(
          /migration 41 .*failed.*differ in more than letter case.*"netflix" \(id 1\), "NetFlix" \(id 2\); "hulu" \(id 3\), "HULU" \(id 4\).*UPDATE clients SET username/,
        );
        const applied = await test.db.query<{ v: number }>('SELECT max(version) AS v FROM schema_migrations');
        expect(Number(applied.rows[0].v)).toBe(31);
        // Resolved by hand, the upgrade goes through.
        await test.db.query("UPDATE clients SET username = 'netflix-2' WHERE username = 'NetFlix'");
        await test.db.query("DELETE FROM clients WHERE username = 'HULU'");
        await migrate(test.db);
        const after = await test.db.query<{ v: number }>('SELECT max(version) AS v FROM schema_migrations');
        expect(Number(after.rows[0].v)).toBe(migrations.at(-1)!.version);
      } finally {
        await test.drop();
      }
    }, 60_000);
  }
});
