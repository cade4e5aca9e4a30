import http from 'node:http';
import net from 'node:net';
import jwt from 'jsonwebtoken';
import { PLAIN_ROUTES } from '../../src/server/fast-path.js';
import type { RecoServer } from '../../src/server/index.js';
import { describeEachEngine, tempDir } from '../helpers/engines.js';
import {
  call,
  rankingModel,
  registerAndLogin,
  seedCatalogue,
  startTestServer,
  SwitchableSource,
  TEST_SECRET,
} from './fixtures.js';

type Options = Parameters<typeof call>[3] & { chunked?: boolean; method?: string };

/** A POST (or `method`) as bytes: the status, the headers but Date, the body's text; chunked when asked. */
function send(server: RecoServer, path: string, o: Options) {
  const headers: Record<string, string> = { ...o.headers };
  let body = o.body ?? '';
  if (o.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(o.json);
  }
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  if (!o.chunked) headers['content-length'] = String(Buffer.byteLength(body));
  return new Promise<{ status: number; headers: Record<string, string>; text: string }>((resolve, reject) => {
    const req = http.request(`${server.url}${path}`, { method: o.method ?? 'POST', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const { date: _date, ...rest } = res.headers as Record<string, string>;
        resolve({ status: res.statusCode!, headers: rest, text: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (o.chunked) {
      const half = Math.floor(body.length / 2);
      req.write(body.slice(0, half));
      req.write(body.slice(half));
    } else req.write(body);
    req.end();
  });
}

/** The series of a metric in a server's /metrics, by labels. */
async function seriesOf(server: RecoServer, name: string): Promise<Map<string, number>> {
  const text = (await call(server.url!, 'GET', '/metrics')).body as string;
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(\w+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m && m[1] === name) out.set(m[2] ?? '', Number(m[3]));
  }
  return out;
}

/** What grew between two readings of seriesOf. */
function growth(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [labels, v] of after) if (v !== (before.get(labels) ?? 0)) out[labels] = v - (before.get(labels) ?? 0);
  return out;
}

/**
 * The fast path of the plain JSON POST routes (src/server/fast-path.ts) against the Express routes: two servers on
 * one database, one with the fast path and one without, must give the same status, body and Content-Type for
 * every case (POST /feedback: the same bytes and headers), and count the same metrics.
 */
describeEachEngine('POST /recommendations and POST /feedback fast path', (t) => {
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
  /** Both servers' answers (POST unless `method`): the same status, body and Content-Type; whether it was taken. */
  const expectSame = async (path: string, options: Parameters<typeof call>[3], status: number, method = 'POST') => {
    const before = fast.fastPathRequests!;
    const a = await call(fast.url!, method, path, options);
    const b = await call(slow.url!, method, path, options);
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

  const similarCases: [string, string, () => Parameters<typeof call>[3], number, boolean][] = [
    ['a movie', '/movies/1/similar?n=4', () => ({ token }), 200, true],
    ['default n', '/movies/2/similar', () => ({ token }), 200, true],
    ['a filter', '/movies/1/similar?n=5&genres_any=Comedy,Drama&year_min=1985', () => ({ token }), 200, true],
    [
      'a list parameter repeated',
      '/movies/1/similar?genres_none=Comedy&genres_none=Drama',
      () => ({ token }),
      200,
      true,
    ],
    ['leading zeros', '/movies/007/similar?n=2', () => ({ token }), 200, true],
    ['an empty query string', '/movies/3/similar?', () => ({ token }), 200, true],
    ['an unknown movie', '/movies/999999/similar', () => ({ token }), 404, true],
    ['a movie id out of range', '/movies/99999999999/similar', () => ({ token }), 422, true],
    ['n of 0', '/movies/1/similar?n=0', () => ({ token }), 422, true],
    ['an unknown genre', '/movies/1/similar?genres_any=Cartoons', () => ({ token }), 422, true],
    ['an unknown parameter', '/movies/1/similar?colour=red', () => ({ token }), 422, true],
    ['no token', '/movies/1/similar', () => ({}), 401, true],
    [
      'a forged token',
      '/movies/1/similar',
      () => ({ token: jwt.sign({ sub: '1' }, 'another secret of enough length 123') }),
      401,
      true,
    ],
    // Not plain: these go to Express on both servers.
    ['an id that is not digits', '/movies/abc/similar', () => ({ token }), 422, false],
    ['a trailing slash', '/movies/1/similar/', () => ({ token }), 200, false],
    ['another letter case', '/Movies/1/Similar', () => ({ token }), 200, false],
    ['an encoded id', '/movies/%31/similar', () => ({ token }), 200, false],
  ];

  it.each(similarCases)(
    'GET /similar, %s: same answer from both paths',
    async (_name, path, options, status, plain) => {
      const { reply, fastPathTaken } = await expectSame(path, options(), status, 'GET');
      expect(fastPathTaken).toBe(plain);
      if (status >= 400) expect(Object.keys(reply.body).sort()).toEqual(['error', 'message']);
    },
  );

  it('leaves GET /similar with a body to Express', async () => {
    const before = fast.fastPathRequests!;
    const [a, b] = await Promise.all(
      [fast, slow].map((s) => send(s, '/movies/1/similar?n=2', { method: 'GET', token, json: { n: 3 } })),
    );
    expect(fast.fastPathRequests!).toBe(before);
    expect(a).toEqual(b);
    expect(a.status).toBe(200);
    expect(JSON.parse(a.text).similar).toHaveLength(2);
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

  it('answers requests read together each with its own reply, pipelined ones in order', async () => {
    // Replies are held and sent back to back (reply-batch.ts); 4 at most, so 6 requests fill one batch and start
    // another.
    const batched = await startTestServer(t.db, { modelSource: source, replyBatch: 4 });
    try {
      const { port } = new URL(batched.url!);
      const request = (n: number) => {
        const body = JSON.stringify({ user_id: aliceId, n });
        return `POST /recommendations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer ${token}\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
      };
      /** Reads `count` replies (status and body) from a socket. */
      const replies = (socket: net.Socket, count: number) =>
        new Promise<{ status: number; body: string }[]>((resolve, reject) => {
          let buffered = Buffer.alloc(0);
          const out: { status: number; body: string }[] = [];
          socket.on('data', (chunk: Buffer) => {
            buffered = Buffer.concat([buffered, chunk]);
            for (;;) {
              const end = buffered.indexOf('\r\n\r\n');
              if (end < 0) break;
              const head = buffered.subarray(0, end).toString('latin1');
              const length = Number(/content-length: (\d+)/i.exec(head)![1]);
              if (buffered.length < end + 4 + length) break;
              out.push({
                status: Number(head.split(' ')[1]),
                body: buffered.subarray(end + 4, end + 4 + length).toString('utf8'),
              });
              buffered = buffered.subarray(end + 4 + length);
            }
            if (out.length === count) resolve(out);
          });
          socket.on('error', reject);
        });
      const connect = () =>
        new Promise<net.Socket>((resolve, reject) => {
          const socket = net.connect(Number(port), '127.0.0.1', () => resolve(socket));
          socket.on('error', reject);
        });
      const ns = [1, 2, 3, 4, 5, 6];
      const expected = await Promise.all(
        ns.map(async (n) => (await send(slow, '/recommendations', { token, json: { user_id: aliceId, n } })).text),
      );
      expect(new Set(expected).size).toBe(ns.length);

      // Six requests in one write on one connection.
      const pipelined = await connect();
      const got = replies(pipelined, ns.length);
      pipelined.write(ns.map(request).join(''));
      expect(await got).toEqual(expected.map((body) => ({ status: 200, body })));
      pipelined.destroy();

      // One request on each of six connections, written in the same turn.
      const sockets = await Promise.all(ns.map(connect));
      const each = sockets.map((s) => replies(s, 1));
      sockets.forEach((s, i) => s.write(request(ns[i])));
      expect((await Promise.all(each)).map(([r]) => r)).toEqual(expected.map((body) => ({ status: 200, body })));
      for (const s of sockets) s.destroy();
    } finally {
      await batched.close();
    }
  });

  describe('POST /feedback', () => {
    let unique = 0;
    /** A user id of its own for each call, so that both servers store the same new rows. */
    const fresh = () => `fb-${t.engine}-${++unique}`;
    let ownRecommendation: string;
    let othersRecommendation: string;
    const counters = ['reco_feedback_events_total', 'http_requests_total', 'reco_users_created_total'];
    let before: Map<string, number>[][];
    const readCounters = () => Promise.all([fast, slow].map((s) => Promise.all(counters.map((c) => seriesOf(s, c)))));

    /** The same request (made afresh for each server) to both: the same status, headers and bytes. */
    const sameFeedback = async (make: () => Options, status: number) => {
      const taken = fast.fastPathRequests!;
      const a = await send(fast, '/feedback', make());
      const fastPathTaken = fast.fastPathRequests! > taken;
      const b = await send(slow, '/feedback', make());
      expect(a).toEqual(b);
      expect(a.status).toBe(status);
      expect(a.headers['content-type']).toBe('application/json; charset=utf-8');
      return { reply: { ...a, body: JSON.parse(a.text) }, fastPathTaken };
    };

    beforeAll(async () => {
      const own = await call(fast.url!, 'POST', '/recommendations', { token, json: { user_id: aliceId, n: 3 } });
      const others = await call(fast.url!, 'POST', '/recommendations', {
        token: otherToken,
        json: { user_id: bobOfOtherClient, n: 3 },
      });
      ownRecommendation = own.body.recommendation_id;
      othersRecommendation = others.body.recommendation_id;
      before = await readCounters();
    });

    const event = (extra: object = {}) => ({ user_id: fresh(), movie_id: 3, type: 'like', ...extra });
    const events = (list: unknown[]): Options => ({ token, json: { events: list } });
    const json = { 'content-type': 'application/json' };
    const feedbackCases: [string, () => Options, number, boolean][] = [
      ['one event', () => events([event()]), 200, true],
      [
        'one rating with a timestamp',
        () => events([event({ type: 'rating', rating: 4, timestamp: 1.7e9 })]),
        200,
        true,
      ],
      ['a numeric user id', () => events([{ user_id: 900_000 + ++unique, movie_id: 5, type: 'view' }]), 200, true],
      [
        'a batch with rejected events',
        () =>
          events([
            event(),
            event({ movie_id: 888_888 }),
            event({ type: 'rating' }),
            { ...event(), type: 'bogus' },
            null,
            'text',
            event({ rating: 11 }),
            event({ unknown: true }),
            event({ type: 'view', movie_id: 6 }),
          ]),
        200,
        true,
      ],
      ['only rejected events', () => events([event({ movie_id: 888_888 }), 42]), 200, true],
      [
        'the same event twice in one batch',
        () => {
          const e = event({ type: 'view', timestamp: '2026-01-02T03:04:05.000Z' });
          return events([e, e]);
        },
        200,
        true,
      ],
      [
        'an event stored before (a duplicate)',
        () => events([{ user_id: `fb-dup-${t.engine}`, movie_id: 7, type: 'view', timestamp: 1_700_000_000 }]),
        200,
        true,
      ],
      ['its own recommendation_id', () => events([event({ recommendation_id: ownRecommendation })]), 200, true],
      [
        "another client's recommendation_id",
        () => events([event({ recommendation_id: othersRecommendation })]),
        200,
        true,
      ],
      ['a made-up recommendation_id', () => events([event({ recommendation_id: 'x.y.z' })]), 200, true],
      ['bad JSON', () => ({ token, body: '{"events": [', headers: json }), 400, true],
      ['JSON that is not an object', () => ({ token, body: '"events"', headers: json }), 400, true],
      ['bad JSON without a token (body first, as express.json)', () => ({ body: '{', headers: json }), 400, true],
      ['an empty body', () => ({ token, body: '', headers: json }), 422, true],
      ['an array body', () => ({ token, body: '[{"events": []}]', headers: json }), 422, true],
      ['events missing', () => ({ token, json: {} }), 422, true],
      ['events not an array', () => ({ token, json: { events: { user_id: 1 } } }), 422, true],
      ['no events', () => events([]), 422, true],
      [
        '1001 events',
        () => events(Array.from({ length: 1001 }, () => ({ user_id: 1, movie_id: 1, type: 'view' }))),
        422,
        true,
      ],
      ['an unknown field', () => ({ token, json: { events: [event()], user_id: 1 } }), 422, true],
      ['no token', () => ({ json: { events: [event()] } }), 401, true],
      [
        'a forged token',
        () => ({
          token: jwt.sign({ sub: '1', username: 'x' }, 'another secret of enough length 123', { algorithm: 'HS256' }),
          json: { events: [event()] },
        }),
        401,
        true,
      ],
      [
        'Basic instead of Bearer',
        () => ({ headers: { authorization: 'Basic YTpi' }, json: { events: [] } }),
        401,
        true,
      ],
      // Not plain: these go to Express on both servers.
      [
        'charset=latin1',
        () => ({
          token,
          body: JSON.stringify({ events: [event()] }),
          headers: { 'content-type': 'application/json; charset=latin1' },
        }),
        415,
        false,
      ],
      ['a chunked body', () => ({ ...events([event()]), chunked: true }), 200, false],
      [
        'a text/plain body',
        () => ({ token, body: '{"events": []}', headers: { 'content-type': 'text/plain' } }),
        422,
        false,
      ],
      [
        'an oversized body',
        () => events(Array.from({ length: 1000 }, () => ({ user_id: 'x'.repeat(600), movie_id: 1, type: 'view' }))),
        413,
        false,
      ],
    ];

    it.each(feedbackCases)('%s: the same bytes from both paths', async (name, options, status, plain) => {
      if (name.endsWith('(a duplicate)')) expect((await send(slow, '/feedback', options())).status).toBe(200);
      const { reply, fastPathTaken } = await sameFeedback(options, status);
      expect(fastPathTaken).toBe(plain);
      if (status >= 400) expect(Object.keys(reply.body).sort()).toEqual(['error', 'message']);
      else expect(Object.keys(reply.body)).toEqual(['accepted', 'duplicates', 'rejected']);
    });

    it('answers a batch with its accepted, duplicate and rejected events', async () => {
      const user = fresh();
      const list = [
        { user_id: user, movie_id: 1, type: 'rating', rating: 5, timestamp: 1_700_000_000 },
        { user_id: user, movie_id: 888_888, type: 'view' },
        { user_id: user, movie_id: 1, type: 'rating', rating: 5, timestamp: 1_700_000_000 },
        { user_id: user, movie_id: 2, type: 'nope' },
      ];
      const taken = fast.fastPathRequests!;
      const r = await send(fast, '/feedback', events(list));
      expect(fast.fastPathRequests!).toBe(taken + 1);
      expect(JSON.parse(r.text)).toEqual({
        accepted: 2,
        duplicates: 1,
        rejected: [
          { index: 1, reason: 'movie_id: 888888 is not in the catalogue' },
          { index: 3, reason: expect.stringMatching(/^type: /) },
        ],
      });
    });

    it('counts the same feedback events, requests and users on both servers', async () => {
      const after = await readCounters();
      const [[fastEvents, fastRequests, fastUsers], [slowEvents, slowRequests, slowUsers]] = [0, 1].map((i) =>
        counters.map((_, c) => growth(before[i][c], after[i][c])),
      );
      // Besides the cases, the fast server served the batch of the test above, the slow one the duplicate's first
      // copy (one 200 and one new user each).
      const minus = (g: Record<string, number>, less: Record<string, number>) => {
        const out = { ...g };
        for (const [k, v] of Object.entries(less)) if ((out[k] -= v) === 0) delete out[k];
        return out;
      };
      expect(
        minus(fastEvents, {
          '{type="rating",outcome="stored"}': 1,
          '{type="rating",outcome="duplicate"}': 1,
          '{type="view",outcome="rejected"}': 1,
          '{type="unknown",outcome="rejected"}': 1,
        }),
      ).toEqual(minus(slowEvents, { '{type="view",outcome="stored"}': 1 }));
      expect(fastEvents['{type="like",outcome="stored"}']).toBe(4);
      const feedbackRequests = (g: Record<string, number>) =>
        Object.fromEntries(Object.entries(g).filter(([l]) => l.includes('route="/feedback"')));
      expect(feedbackRequests(fastRequests)).toEqual(feedbackRequests(slowRequests));
      expect(Object.keys(feedbackRequests(fastRequests)).sort()).toEqual(
        [200, 400, 401, 413, 415, 422].map((s) => `{method="POST",route="/feedback",status_code="${s}"}`).sort(),
      );
      expect(fastUsers).toEqual(slowUsers);
    });

    it('takes only routes whose Express chain it reproduces: the app middleware, auth, the route', () => {
      type Layer = {
        name: string;
        route?: { methods: Record<string, boolean>; stack: Layer[] };
        handle?: { stack?: Layer[] };
        match(path: string): unknown;
      };
      const chain = (stack: Layer[], path: string, method = 'post', out: string[] = []) => {
        for (const layer of stack) {
          if (!layer.match(path)) continue;
          if (layer.route) {
            if (layer.route.methods[method]) out.push(...layer.route.stack.map((l) => `route: ${l.name}`));
          } else if (layer.handle?.stack) chain(layer.handle.stack, path, method, out);
          else out.push(layer.name);
        }
        return out;
      };
      const stack = (fast.app as unknown as { router: { stack: Layer[] } }).router.stack;
      expect([...PLAIN_ROUTES.keys()].sort()).toEqual(['/feedback', '/recommendations']);
      const expected = chain(stack, '/recommendations');
      expect(expected.filter((n) => n.startsWith('route: '))).toHaveLength(2);
      for (const path of PLAIN_ROUTES.keys()) expect(chain(stack, path)).toEqual(expected);
      // GET /movies/{movie_id}/similar: the same middleware, auth, then its handler.
      const getChain = chain(stack, '/movies/1/similar', 'get');
      expect(getChain.filter((n) => !n.startsWith('route: '))).toEqual(
        expected.filter((n) => !n.startsWith('route: ')),
      );
      expect(getChain.filter((n) => n.startsWith('route: '))).toHaveLength(2);
      expect(getChain[getChain.length - 2]).toBe(expected[expected.length - 2]);
    });
  });

  describe('POST /feedback over a quota', () => {
    let fastQ: RecoServer;
    let slowQ: RecoServer;
    let quotaToken: string;
    beforeAll(async () => {
      const config = {
        dataDir: tempDir(),
        jwtSecret: TEST_SECRET,
        tokenTtlSeconds: 3600,
        production: false,
        quotas: { usersPerHour: 1, ratingsPerHour: 0 },
      };
      fastQ = await startTestServer(t.db, { modelSource: source, config });
      slowQ = await startTestServer(t.db, { modelSource: source, fastPath: false, config });
      quotaToken = await registerAndLogin(fastQ.url!, `fp-quota-${t.engine}`);
    });
    afterAll(async () => {
      await fastQ?.close();
      await slowQ?.close();
    });

    it('answers 429 with the same body and Retry-After on both paths, and stores nothing', async () => {
      const options = (user: string): Options => ({
        token: quotaToken,
        json: { events: [{ user_id: user, movie_id: 1, type: 'view' }] },
      });
      expect((await send(fastQ, '/feedback', options('q1'))).status).toBe(200);
      const rejections = () => Promise.all([fastQ, slowQ].map((s) => seriesOf(s, 'reco_quota_rejections_total')));
      const before = await rejections();
      const taken = fastQ.fastPathRequests!;
      const a = await send(fastQ, '/feedback', options('q2'));
      expect(fastQ.fastPathRequests!).toBe(taken + 1);
      const b = await send(slowQ, '/feedback', options('q3'));
      expect(a.status).toBe(429);
      expect(JSON.parse(a.text)).toEqual({
        error: 'quota_exceeded',
        message: expect.stringMatching(/may create 1 users per hour .*nothing was stored$/),
      });
      // The seconds left in the hour may tick between the two requests: the same answer but for them.
      const [ra, rb] = [a, b].map((r) => Number(r.headers['retry-after']));
      expect(Math.abs(ra - rb)).toBeLessThanOrEqual(1);
      const seconds = (r: typeof a) => ({
        ...r,
        text: r.text.replace(/in \d+ s;/, 'in N s;'),
        headers: { ...r.headers, 'retry-after': 'N', 'content-length': 'L' },
      });
      expect(seconds(a)).toEqual(seconds(b));
      expect(a.text).toContain(`in ${ra} s;`);
      const after = await rejections();
      expect([0, 1].map((i) => growth(before[i], after[i]))).toEqual([
        { '{quota="users"}': 1 },
        { '{quota="users"}': 1 },
      ]);
      const users = await t.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM users u JOIN clients c ON c.id = u.client_id WHERE c.username = $1`,
        [`fp-quota-${t.engine}`],
      );
      expect(users.rows[0].n).toBe(1);
    });
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
    // GET /movies/{movie_id}/similar: both servers answered the same requests, under the route's template.
    const similar = async (s: RecoServer) =>
      ((await call(s.url!, 'GET', '/metrics')).body as string)
        .split('\n')
        .filter((l) => l.startsWith('http_requests_total{method="GET",route="/movies/:movie_id/similar"'))
        .sort();
    const [c, d] = [await similar(fast), await similar(slow)];
    expect(c).toEqual(d);
    expect(labelsOf(c)).toEqual([
      'http_requests_total{method="GET",route="/movies/:movie_id/similar",status_code="200"}',
      'http_requests_total{method="GET",route="/movies/:movie_id/similar",status_code="401"}',
      'http_requests_total{method="GET",route="/movies/:movie_id/similar",status_code="404"}',
      'http_requests_total{method="GET",route="/movies/:movie_id/similar",status_code="422"}',
    ]);
  });
});
