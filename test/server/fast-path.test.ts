import net from 'node:net';
import jwt from 'jsonwebtoken';
import type { RecoServer } from '../../src/server/index.js';
import { describeEachEngine } from '../helpers/engines.js';
import {
  call,
  rankingModel,
  registerAndLogin,
  seedCatalogue,
  startTestServer,
  SwitchableSource,
  TEST_SECRET,
} from './fixtures.js';

/**
 * The fast path of POST /recommendations (src/server/fast-path.ts) against the Express route: two servers on
 * one database, one with the fast path and one without, must give the same status, body and Content-Type for
 * every case, and count the same metrics.
 */
describeEachEngine('POST /recommendations fast path', (t) => {
  let fast: RecoServer;
  let slow: RecoServer;
  let token: string;
  let otherToken: string;
  let aliceId: number;
  let bobOfOtherClient: number;
  const source = new SwitchableSource();
  source.models.set('v1', rankingModel('v1'));
  source.active = 'v1';

  const both = async (path: string, options: Parameters<typeof call>[3]) => {
    const a = await call(fast.url!, 'POST', path, options);
    const b = await call(slow.url!, 'POST', path, options);
    return [a, b] as const;
  };
  const expectSame = async (path: string, options: Parameters<typeof call>[3], status: number) => {
    const before = fast.fastPathRequests!;
    const [a, b] = await both(path, options);
    expect({ status: a.status, body: a.body, type: a.headers.get('content-type') }).toEqual({
      status: b.status,
      body: b.body,
      type: b.headers.get('content-type'),
    });
    expect(a.status).toBe(status);
    return { reply: a, fastPathTaken: fast.fastPathRequests! > before };
  };

  beforeAll(async () => {
    await seedCatalogue(t.db);
    fast = await startTestServer(t.db, { modelSource: source });
    slow = await startTestServer(t.db, { modelSource: source, fastPath: false });
    expect(slow.fastPathRequests).toBeUndefined();
    token = await registerAndLogin(fast.url!, `fp-a-${t.engine}`);
    otherToken = await registerAndLogin(fast.url!, `fp-b-${t.engine}`);
    const alice = await call(fast.url!, 'POST', '/recommendations', {
      token,
      json: { history: [{ movie_id: 1, rating: 5 }, { movie_id: 2 }], n: 3 },
    });
    aliceId = alice.body.user_id;
    // Ids are per client: the other client's fifth user has an id that this client does not have.
    for (let i = 0; i < 5; i++) {
      const bob = await call(fast.url!, 'POST', '/recommendations', {
        token: otherToken,
        json: { history: [{ movie_id: 3, rating: 4 }] },
      });
      bobOfOtherClient = bob.body.user_id;
    }
    expect(bobOfOtherClient).toBe(5);
  });
  afterAll(async () => {
    await fast?.close();
    await slow?.close();
  });

  const json = { 'content-type': 'application/json' };
  const cases: [string, () => Parameters<typeof call>[3], number, boolean][] = [
    ['a known user', () => ({ token, json: { user_id: aliceId, n: 5 } }), 200, true],
    ['a known user, default n', () => ({ token, json: { user_id: aliceId } }), 200, true],
    [
      'a known user, charset=utf-8 and a BOM',
      () => ({
        token,
        body: `\uFEFF{"user_id": ${aliceId}}`,
        headers: { 'content-type': 'application/json; charset=utf-8' },
      }),
      200,
      true,
    ],
    ['an unknown user', () => ({ token, json: { user_id: 999_999 } }), 404, true],
    ["another client's user", () => ({ token, json: { user_id: bobOfOtherClient } }), 404, true],
    ['neither user nor history', () => ({ token, json: { n: 3 } }), 422, true],
    ['an empty body', () => ({ token, body: '', headers: json }), 422, true],
    ['n too big', () => ({ token, json: { user_id: aliceId, n: 101 } }), 422, true],
    ['n of the wrong type', () => ({ token, json: { user_id: aliceId, n: '5' } }), 422, true],
    ['a negative user id', () => ({ token, json: { user_id: -1 } }), 422, true],
    ['an unknown field', () => ({ token, json: { user_id: aliceId, admin: true } }), 422, true],
    ['an array body', () => ({ token, body: '[1, 2]', headers: json }), 422, true],
    [
      'a history of unknown movies only',
      () => ({ token, json: { user_id: aliceId, history: [{ movie_id: 888_888 }] } }),
      422,
      true,
    ],
    [
      'a rating out of steps',
      () => ({ token, json: { user_id: aliceId, history: [{ movie_id: 4, rating: 4.3 }] } }),
      422,
      true,
    ],
    ['bad JSON', () => ({ token, body: '{"user_id": 1,', headers: json }), 400, true],
    ['JSON that is not an object', () => ({ token, body: ' 42', headers: json }), 400, true],
    ['bad JSON without a token (body first, as express.json)', () => ({ body: '{', headers: json }), 400, true],
    ['no token', () => ({ json: { user_id: aliceId } }), 401, true],
    [
      'a forged token',
      () => ({
        token: jwt.sign({ sub: '1', username: 'x' }, 'another secret of enough length 123', { algorithm: 'HS256' }),
        json: { user_id: aliceId },
      }),
      401,
      true,
    ],
    [
      'an expired token',
      () => ({
        token: jwt.sign({ sub: '1', username: 'x', exp: Math.floor(Date.now() / 1000) - 10 }, TEST_SECRET, {
          algorithm: 'HS256',
        }),
        json: { user_id: aliceId },
      }),
      401,
      true,
    ],
    [
      'alg none',
      () => ({
        token: `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from('{"sub":"1"}').toString('base64url')}.`,
        json: { user_id: aliceId },
      }),
      401,
      true,
    ],
    [
      'Basic instead of Bearer',
      () => ({ headers: { authorization: 'Basic YTpi' }, json: { user_id: aliceId } }),
      401,
      true,
    ],
    [
      'a token without a client id',
      () => ({
        token: jwt.sign({ username: 'x' }, TEST_SECRET, { algorithm: 'HS256', expiresIn: 60 }),
        json: { user_id: aliceId },
      }),
      401,
      true,
    ],
    // Not plain: these go to Express on both servers.
    [
      'a text/plain body',
      () => ({ token, body: `{"user_id": ${aliceId}}`, headers: { 'content-type': 'text/plain' } }),
      422,
      false,
    ],
    ['a query string', () => ({ token, json: { user_id: aliceId } }), 200, false],
    [
      'an oversized body',
      () => ({ token, json: { user_id: aliceId, history: [], pad: 'x'.repeat(300_000) } }),
      413,
      false,
    ],
  ];

  it.each(cases)('%s: same answer from both paths', async (name, options, status, plain) => {
    const path = name === 'a query string' ? '/recommendations?x=1' : '/recommendations';
    const { reply, fastPathTaken } = await expectSame(path, options(), status);
    expect(fastPathTaken).toBe(plain);
    if (status >= 400) expect(Object.keys(reply.body).sort()).toEqual(['error', 'message']);
  });

  it('stores histories the same way: a known user with a new rating, a new user', async () => {
    const [a, b] = await both('/recommendations', {
      token,
      json: { user_id: aliceId, history: [{ movie_id: 5, rating: 1 }, { movie_id: 777_777 }], n: 4 },
    });
    expect(a).toMatchObject({ status: 200, body: b.body });
    expect(a.body.ignored_movie_ids).toEqual([777_777]);
    expect(a.body.recommendations.map((r: any) => r.movie_id)).not.toContain(5);
    const [c, d] = await both('/recommendations', { token, json: { history: [{ movie_id: 7, rating: 4 }], n: 2 } });
    expect([c.status, d.status]).toEqual([200, 200]);
    expect(d.body.user_id).toBe(c.body.user_id + 1);
    // Two users: their answers differ only in the user and the recommendation_id that names each answer.
    expect(d.body.recommendation_id).not.toBe(c.body.recommendation_id);
    expect({ ...d.body, user_id: c.body.user_id, recommendation_id: c.body.recommendation_id }).toEqual(c.body);
  });

  it('refuses a disabled client on both paths', async () => {
    const disabled = await registerAndLogin(fast.url!, `fp-off-${t.engine}`);
    await t.db.query('UPDATE clients SET disabled = true WHERE username = $1', [`fp-off-${t.engine}`]);
    const { reply } = await expectSame('/recommendations', { token: disabled, json: { user_id: 1 } }, 401);
    expect(reply.body.message).toMatch(/disabled/);
  });

  it("repeats a known user's answer from memory with the same bytes and counters, never after a change", async () => {
    const metric = async (name: string) =>
      Number(
        ((await call(fast.url!, 'GET', '/metrics')).body as string).match(
          new RegExp(`^${name}\\{algorithm="test-ranking",version="v1"\\} (\\d+)`, 'm'),
        )?.[1] ?? 0,
      );
    const raw = async (n: number) => {
      const res = await fetch(`${fast.url}/recommendations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ user_id: aliceId, n }),
      });
      return {
        status: res.status,
        type: res.headers.get('content-type'),
        length: res.headers.get('content-length'),
        text: await res.text(),
      };
    };
    const first = await raw(6);
    const [hits, served] = [
      await metric('reco_recommendation_cache_hits_total'),
      await metric('reco_recommendations_total'),
    ];
    const taken = fast.fastPathRequests!;
    const second = await raw(6);
    expect(fast.fastPathRequests!).toBe(taken + 1);
    expect(second).toEqual(first);
    expect(Number(second.length)).toBe(Buffer.byteLength(second.text));
    expect(JSON.parse(second.text)).toEqual({ ...JSON.parse(first.text) });
    expect([await metric('reco_recommendation_cache_hits_total'), await metric('reco_recommendations_total')]).toEqual([
      hits + 1,
      served + 1,
    ]);
    // Another n is another list; the Express route gives the same bytes.
    const other = await raw(2);
    expect(JSON.parse(other.text).recommendations).toEqual(JSON.parse(first.text).recommendations.slice(0, 2));
    const viaRoute = await call(slow.url!, 'POST', '/recommendations', { token, json: { user_id: aliceId, n: 6 } });
    expect(viaRoute.body).toEqual(JSON.parse(first.text));
    // A new rating of the first recommended movie: the repeated request must not return the kept bytes.
    const top = JSON.parse(first.text).recommendations[0].movie_id;
    expect(
      (
        await call(slow.url!, 'POST', '/recommendations', {
          token,
          json: { user_id: aliceId, history: [{ movie_id: top, rating: 3 }] },
        })
      ).status,
    ).toBe(200);
    let after = await raw(6);
    for (let i = 0; i < 50 && after.text === first.text; i++) after = await raw(6); // the other server's NOTIFY is asynchronous
    expect(JSON.parse(after.text).recommendations.map((r: any) => r.movie_id)).not.toContain(top);
  });

  it("keeps each client's answers apart: two clients' users of the same id and history", async () => {
    const history = [
      { movie_id: 1, rating: 5 },
      { movie_id: 2, rating: 4 },
    ];
    const twin = `twin-${t.engine}`;
    for (const tk of [token, otherToken]) {
      const made = await call(fast.url!, 'POST', '/recommendations', { token: tk, json: { user_id: twin, history } });
      expect(made.body.created).toBe(true);
    }
    const ask = async (tk: string) =>
      (await expectSame('/recommendations', { token: tk, json: { user_id: twin, n: 4 } }, 200)).reply.body;
    // Each asked twice, alternating: the second of each comes from the answer cache on the fast server.
    const [a1, b1, a2, b2] = [await ask(token), await ask(otherToken), await ask(token), await ask(otherToken)];
    expect([a2, b2]).toEqual([a1, b1]);
    expect(b1.recommendations).toEqual(a1.recommendations);
    const clientOf = (id: string) => id.split('.')[0];
    expect(clientOf(a1.recommendation_id)).not.toBe(clientOf(b1.recommendation_id));
    // Each id is its own client's: POST /feedback accepts it only from that client.
    const top = a1.recommendations[0].movie_id;
    const dislike = (tk: string, id: string) =>
      call(slow.url!, 'POST', '/feedback', {
        token: tk,
        json: { events: [{ user_id: twin, movie_id: top, type: 'dislike', recommendation_id: id }] },
      });
    expect((await dislike(otherToken, a1.recommendation_id)).body.accepted).toBe(0);
    expect((await dislike(otherToken, b1.recommendation_id)).body.accepted).toBe(1);
    // Client B's user changed, client A's did not: B gets a new answer, A still its own.
    const fastB = () =>
      call(fast.url!, 'POST', '/recommendations', { token: otherToken, json: { user_id: twin, n: 4 } });
    // The writing server notifies the other one after its commit: wait for it to arrive.
    for (let i = 0; i < 50 && (await fastB()).body.recommendation_id === b1.recommendation_id; i++);
    const b3 = await ask(otherToken);
    expect(b3.recommendations.map((m: any) => m.movie_id)).not.toContain(top);
    expect(await ask(token)).toEqual(a1);
  });

  it('survives a client that goes away in the middle of its body, and answers the next one', async () => {
    const before = fast.fastPathRequests!;
    const { port } = new URL(fast.url!);
    await new Promise<void>((resolve, reject) => {
      const socket = net.connect(Number(port), '127.0.0.1', () => {
        socket.write(
          `POST /recommendations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer ${token}\r\nContent-Length: 100\r\n\r\n{"user_id":`,
        );
        setTimeout(() => socket.destroy(), 50);
      });
      socket.on('close', () => setTimeout(resolve, 100));
      socket.on('error', reject);
    });
    expect(fast.fastPathRequests!).toBe(before + 1);
    expect((await call(fast.url!, 'POST', '/recommendations', { token, json: { user_id: aliceId } })).status).toBe(200);
  });

  it('counts the same requests under the same labels in /metrics', async () => {
    const series = async (s: RecoServer) =>
      ((await call(s.url!, 'GET', '/metrics')).body as string)
        .split('\n')
        .filter(
          (l) =>
            l.startsWith('http_requests_total{method="POST",route=') &&
            !l.includes('/create-client') &&
            !l.includes('/token') &&
            !l.includes('/feedback'),
        )
        .sort();
    const [a, b] = [await series(fast), await series(slow)];
    // The fast server also served the setup (two users created, two logins), the slow one feedback: compare the
    // paths' own series.
    const labelsOf = (lines: string[]) => lines.map((l) => l.replace(/ \d+$/, ''));
    expect(labelsOf(a)).toEqual(labelsOf(b));
    expect(labelsOf(a)).toEqual(
      expect.arrayContaining([
        'http_requests_total{method="POST",route="/recommendations",status_code="200"}',
        'http_requests_total{method="POST",route="/recommendations",status_code="401"}',
        'http_requests_total{method="POST",route="/recommendations",status_code="404"}',
        'http_requests_total{method="POST",route="/recommendations",status_code="422"}',
        'http_requests_total{method="POST",route="/recommendations",status_code="400"}',
      ]),
    );
  });
});
