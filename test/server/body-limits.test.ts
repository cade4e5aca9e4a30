import http from 'node:http';
import {
  FEEDBACK_BODY_LIMIT,
  LARGEST_FEEDBACK_BODY_BYTES,
  LARGEST_FEEDBACK_EVENT_BYTES,
} from '../../src/server/body-limits.js';
import type { RecoServer } from '../../src/server/index.js';
import { MAX_FEEDBACK_EVENTS } from '../../src/server/schemas.js';
import { describeEachEngine } from '../helpers/engines.js';
import { call, rankingModel, registerAndLogin, seedCatalogue, startTestServer, SwitchableSource } from './fixtures.js';

/** A POST of `body` as it is (its Content-Length given): the status and the parsed answer. */
function post(server: RecoServer, path: string, token: string, body: string) {
  return new Promise<{ status: number; body: any }>((resolve, reject) => {
    const req = http.request(
      `${server.url}${path}`,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          authorization: `Bearer ${token}`,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(Buffer.concat(chunks).toString()) }));
        res.on('error', reject);
      },
    );
    // A refused body may be answered before it is all sent.
    req.on('error', reject);
    req.end(body);
  });
}

const LARGEST_MOVIE_ID = 2_147_483_647;

/**
 * POST /feedback's body limit (src/server/body-limits.ts): the largest batch the schema accepts fits, on the fast
 * path and through Express alike, and a body one byte over the limit is a 413 on both.
 */
describeEachEngine('POST /feedback body limit', (t) => {
  let fast: RecoServer;
  let slow: RecoServer;
  let token: string;
  let recommendationId: string;

  beforeAll(async () => {
    await seedCatalogue(t.db);
    await t.db.query('INSERT INTO movies (movie_id, title, genres, year) VALUES ($1, $2, $3, $4)', [
      LARGEST_MOVIE_ID,
      'The Last Movie (2026)',
      ['Drama'],
      2026,
    ]);
    const source = new SwitchableSource();
    source.models.set('v1', rankingModel('v1'));
    source.active = 'v1';
    fast = await startTestServer(t.db, { modelSource: source });
    slow = await startTestServer(t.db, { modelSource: source, fastPath: false });
    token = await registerAndLogin(fast.url!, `limit-${t.engine}`);
    const answer = await call(fast.url!, 'POST', '/recommendations', { token, json: { history: [{ movie_id: 1 }] } });
    recommendationId = answer.body.recommendation_id;
  });
  afterAll(async () => {
    await fast?.close();
    await slow?.close();
  });

  /** 1,000 rating events of the longest form: 128-character user ids, timestamps to the nanosecond. */
  const batch = (recommendation_id: string) => ({
    events: Array.from({ length: MAX_FEEDBACK_EVENTS }, (_, i) => ({
      user_id: `${t.engine}-${i % 10}-`.padEnd(128, 'u'),
      movie_id: LARGEST_MOVIE_ID,
      type: 'rating',
      rating: 4.5,
      timestamp: `2026-01-02T03:${String(Math.floor(i / 60)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}.123456789+05:30`,
      recommendation_id,
    })),
  });

  /** Both servers; the fast server must take `path` on its fast path exactly when `plain`. */
  const both = async (path: string, body: string, plain: boolean) => {
    const taken = fast.fastPathRequests!;
    const a = await post(fast, path, token, body);
    expect(fast.fastPathRequests! - taken).toBe(plain ? 1 : 0);
    const b = await post(slow, path, token, body);
    return [a, b];
  };

  it('takes the largest batch the schema accepts: 367,012 bytes as JSON.stringify writes it', async () => {
    const body = JSON.stringify(batch('r'.repeat(100)));
    expect(Buffer.byteLength(body)).toBe(LARGEST_FEEDBACK_BODY_BYTES);
    expect(Buffer.byteLength(JSON.stringify(batch('r'.repeat(100)).events[0]))).toBe(LARGEST_FEEDBACK_EVENT_BYTES);
    expect(LARGEST_FEEDBACK_BODY_BYTES).toBe(367_012);
    expect(LARGEST_FEEDBACK_BODY_BYTES).toBeGreaterThan(256 * 1024);
    // Made-up recommendation ids of the longest length: valid events, rejected one by one, never a 413.
    for (const r of await both('/feedback', body, true)) {
      expect(r.status).toBe(200);
      expect(r.body.accepted).toBe(0);
      expect(r.body.rejected).toHaveLength(MAX_FEEDBACK_EVENTS);
      expect(r.body.rejected[0].reason).toMatch(/^recommendation_id: /);
    }
    // Indented by 4 spaces it fits too.
    expect(Buffer.byteLength(JSON.stringify(batch('r'.repeat(100)), null, 4))).toBeLessThan(FEEDBACK_BODY_LIMIT);
  });

  it('accepts 1,000 maximal events in a body of exactly the limit, on both paths', async () => {
    const json = JSON.stringify(batch(recommendationId));
    const body = json + ' '.repeat(FEEDBACK_BODY_LIMIT - Buffer.byteLength(json));
    expect(Buffer.byteLength(body)).toBe(FEEDBACK_BODY_LIMIT);
    const [a, b] = await both('/feedback', body, true);
    expect(a).toEqual({ status: 200, body: { accepted: 1000, duplicates: 0, rejected: [] } });
    expect(b).toEqual({ status: 200, body: { accepted: 1000, duplicates: 1000, rejected: [] } });
    // The path as Express routes it too (letter case, a trailing slash): through Express on both servers.
    for (const r of await both('/Feedback/', body, false))
      expect(r).toEqual({ status: 200, body: { accepted: 1000, duplicates: 1000, rejected: [] } });
  });

  it('refuses a body one byte over the limit with a 413 on both paths, and keeps 256 KB elsewhere', async () => {
    const json = JSON.stringify(batch(recommendationId));
    const body = json + ' '.repeat(FEEDBACK_BODY_LIMIT + 1 - Buffer.byteLength(json));
    for (const r of await both('/feedback', body, false)) expect(r.status).toBe(413);
    const other = JSON.stringify({ history: [{ movie_id: 1 }] }).padEnd(256 * 1024 + 1, ' ');
    for (const r of await both('/recommendations', other, false)) expect(r.status).toBe(413);
    const fits = JSON.stringify({ history: [{ movie_id: 1 }] }).padEnd(256 * 1024, ' ');
    for (const r of await both('/recommendations', fits, true)) expect(r.status).toBe(200);
  });
});
