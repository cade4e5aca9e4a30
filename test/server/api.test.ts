import jwt from 'jsonwebtoken';
import { METRICS } from '../../src/core/metrics/names.js';
import type { RecoServer } from '../../src/server/index.js';
import { describeEachEngine } from '../helpers/engines.js';
import {
  call,
  MOVIES,
  registerAndLogin,
  seedCatalogue,
  startTestServer,
  SwitchableSource,
  TEST_SECRET,
} from './fixtures.js';

/** The API over real HTTP on 127.0.0.1, on both database engines. */
describeEachEngine('the API', (t) => {
  let server: RecoServer;
  let base: string;
  let tokenA: string;
  let tokenB: string;
  const source = new SwitchableSource();

  beforeAll(async () => {
    await seedCatalogue(t.db);
    server = await startTestServer(t.db, { modelSource: source });
    base = server.url!;
    tokenA = await registerAndLogin(base, 'alpha');
    tokenB = await registerAndLogin(base, 'beta');
  });
  afterAll(() => server?.close());

  describe('health', () => {
    it('answers /healthz and /readyz with the fallback model', async () => {
      expect(await call(base, 'GET', '/healthz')).toMatchObject({ status: 200, body: { status: 'ok' } });
      const r = await call(base, 'GET', '/readyz');
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ status: 'ready', database: true, model: { algorithm: 'popular', version: 'fallback' } });
    });
  });

  describe('POST /create-client', () => {
    it('creates a client and refuses a taken username with 409', async () => {
      const r = await call(base, 'POST', '/create-client', {
        json: { username: 'gamma', password: 'long enough pw', name: 'Gamma TV' },
      });
      expect(r.status).toBe(201);
      // No global sequence number (client_id) that would tell how many clients registered before.
      expect(r.body).toEqual({ username: 'gamma', created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
      expect(Math.abs(Date.parse(r.body.created_at) - Date.now())).toBeLessThan(60_000);
      const dup = await call(base, 'POST', '/create-client', {
        json: { username: 'gamma', password: 'another password' },
      });
      expect(dup.status).toBe(409);
      expect(dup.body).toEqual({
        error: 'conflict',
        message: 'the client username "gamma" is taken (usernames are compared without regard to letter case)',
      });
    });

    it.each([
      [{ username: 'x', password: 'long enough pw' }, /^username: /],
      [{ username: 'delta', password: 'short' }, /^password: /],
      [{ username: 'delta' }, /^password: /],
      [{ username: 'delta', password: 'long enough pw', admin: true }, /admin/],
      [{ username: 42, password: 'long enough pw' }, /^username: /],
    ])('refuses %j with 422', async (json, message) => {
      const r = await call(base, 'POST', '/create-client', { json });
      expect(r.status).toBe(422);
      expect(r.body.error).toBe('invalid_request');
      expect(r.body.message).toMatch(message);
    });

    it('answers bad JSON with 400 and an oversized body with 413, without a stack', async () => {
      const bad = await call(base, 'POST', '/create-client', {
        body: '{"username": "x",',
        headers: { 'content-type': 'application/json' },
      });
      expect(bad.status).toBe(400);
      expect(bad.body).toEqual({ error: 'bad_request', message: 'the body is not valid JSON' });
      const big = await call(base, 'POST', '/create-client', {
        json: { username: 'big', password: 'x'.repeat(300_000) },
      });
      expect(big.status).toBe(413);
      expect(big.body.error).toBe('payload_too_large');
      expect(JSON.stringify(big.body)).not.toMatch(/at .*\.(js|ts):\d+/);
    });

    it('answers a missing body with 422', async () => {
      const r = await call(base, 'POST', '/create-client');
      expect(r.status).toBe(422);
    });
  });

  describe('POST /token', () => {
    it('issues an HS256 token from JSON or the OAuth2 form, expiring in the configured time', async () => {
      const form = await call(base, 'POST', '/token', {
        body: 'grant_type=password&username=alpha&password=correct+horse+battery',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(form.status).toBe(200);
      expect(form.body).toMatchObject({ token_type: 'bearer', expires_in: 3600 });
      const decoded = jwt.verify(form.body.access_token, TEST_SECRET, { algorithms: ['HS256'] }) as jwt.JwtPayload;
      expect(decoded.exp! - decoded.iat!).toBe(3600);
      expect(decoded.username).toBe('alpha');
    });

    it('refuses a wrong password and an unknown user alike with 401', async () => {
      const wrong = await call(base, 'POST', '/token', { json: { username: 'alpha', password: 'wrong password' } });
      const unknown = await call(base, 'POST', '/token', { json: { username: 'nobody', password: 'wrong password' } });
      expect(wrong.status).toBe(401);
      expect(unknown.status).toBe(401);
      expect(wrong.body).toEqual(unknown.body);
    });

    it('refuses a missing password with 422', async () => {
      expect((await call(base, 'POST', '/token', { json: { username: 'alpha' } })).status).toBe(422);
    });
  });

  describe('tokens on protected routes', () => {
    const body = { user_id: 1 };
    it('refuses missing, forged, expired and alg=none tokens with 401', async () => {
      const missing = await call(base, 'POST', '/recommendations', { json: body });
      expect(missing.status).toBe(401);
      expect(missing.body.message).toMatch(/missing bearer token/);
      const forged = jwt.sign({ username: 'alpha' }, 'some-other-secret-0123456789abcdef012345', {
        subject: '1',
        expiresIn: 60,
      });
      expect((await call(base, 'POST', '/recommendations', { json: body, token: forged })).body).toEqual({
        error: 'unauthorized',
        message: 'invalid bearer token',
      });
      const expired = jwt.sign({ username: 'alpha', exp: Math.floor(Date.now() / 1000) - 10 }, TEST_SECRET, {
        subject: '1',
      });
      const e = await call(base, 'POST', '/recommendations', { json: body, token: expired });
      expect(e.status).toBe(401);
      expect(e.body.message).toMatch(/expired/);
      const none = jwt.sign({ username: 'alpha' }, null as any, { algorithm: 'none', subject: '1' });
      expect((await call(base, 'POST', '/recommendations', { json: body, token: none })).status).toBe(401);
      expect((await call(base, 'GET', '/movies', { token: 'garbage' })).status).toBe(401);
    });
  });

  describe('POST /recommendations', () => {
    let aliceId: number;

    it('creates a user from a history alone, stores it in the database, never recommends a rated movie', async () => {
      const r = await call(base, 'POST', '/recommendations', {
        token: tokenA,
        json: { history: [{ movie_id: 1, rating: 5 }, { movie_id: 2, rating: 3 }, { movie_id: 5 }], n: 5 },
      });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({
        user_id: 1,
        created: true,
        model: { algorithm: 'popular', version: 'fallback' },
        ignored_movie_ids: [],
      });
      expect(r.body.recommendations.map((x: any) => x.movie_id)).toEqual([3, 4, 6, 7, 8]);
      expect(r.body.recommendations[0]).toEqual({
        movie_id: 3,
        title: '100% Pure (2001)',
        genres: ['Drama', 'Romance'],
        score: expect.any(Number),
      });
      aliceId = r.body.user_id;
      const stored = await t.db.query(
        `SELECT u.rating_count, u.characteristic, array_agg(r.movie_id ORDER BY r.movie_id) AS movies, array_agg(r.rating ORDER BY r.movie_id) AS ratings
           FROM users u JOIN clients c ON c.id = u.client_id JOIN ratings r ON r.user_id = u.id
          WHERE c.username = 'alpha' AND u.external_id = $1 GROUP BY u.id`,
        [aliceId],
      );
      expect(stored.rows[0].movies).toEqual([1, 2, 5]);
      expect(stored.rows[0].ratings).toEqual([5, 3, 4]);
      expect(stored.rows[0].rating_count).toBe(3);
      // Genre profile: Action/Sci-Fi from movies 1 and 5 (5 + 4 of 12), Comedy from movie 2 (3 of 12).
      const v = stored.rows[0].characteristic as number[];
      expect(v).toHaveLength(19);
      expect(v[0]).toBeCloseTo(9 / 12, 5);
      expect(v[4]).toBeCloseTo(3 / 12, 5);
    });

    it('recommends to a known user from the stored history', async () => {
      const r = await call(base, 'POST', '/recommendations', { token: tokenA, json: { user_id: aliceId, n: 3 } });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ user_id: aliceId, created: false });
      expect(r.body.recommendations.map((x: any) => x.movie_id)).toEqual([3, 4, 6]);
    });

    it('stores a known user’s new history first, updating a re-rated movie, and lists unknown movies', async () => {
      const r = await call(base, 'POST', '/recommendations', {
        token: tokenA,
        json: {
          user_id: aliceId,
          history: [{ movie_id: 3, rating: 4 }, { movie_id: 2, rating: 1.5 }, { movie_id: 99999 }],
          n: 2,
        },
      });
      expect(r.status).toBe(200);
      expect(r.body.ignored_movie_ids).toEqual([99999]);
      expect(r.body.recommendations.map((x: any) => x.movie_id)).toEqual([4, 6]);
      const count = await t.db.query(
        `SELECT u.rating_count FROM users u JOIN clients c ON c.id = u.client_id WHERE c.username = 'alpha' AND u.external_id = $1`,
        [aliceId],
      );
      expect(count.rows[0].rating_count).toBe(4);
      const re = await t.db.query(
        `SELECT r.rating FROM ratings r JOIN users u ON u.id = r.user_id JOIN clients c ON c.id = u.client_id WHERE c.username = 'alpha' AND u.external_id = $1 AND r.movie_id = 2`,
        [aliceId],
      );
      expect(re.rows[0].rating).toBe(1.5);
    });

    it('answers neither user nor history with 422, and a history of unknown movies only with 422', async () => {
      const neither = await call(base, 'POST', '/recommendations', { token: tokenA, json: { n: 3 } });
      expect(neither.status).toBe(422);
      expect(neither.body.message).toMatch(/user_id, a history, or both/);
      expect((await call(base, 'POST', '/recommendations', { token: tokenA, json: { history: [] } })).status).toBe(422);
      const unknown = await call(base, 'POST', '/recommendations', {
        token: tokenA,
        json: { history: [{ movie_id: 123456 }, { movie_id: 654321 }] },
      });
      expect(unknown.status).toBe(422);
      expect(unknown.body.message).toMatch(/123456, 654321/);
    });

    it.each([
      [{ user_id: 1, n: 0 }, /^n: /],
      [{ user_id: 1, n: 101 }, /^n: /],
      [{ user_id: 1, n: '5' }, /^n: /],
      [{ user_id: 'with space' }, /^user_id: /],
      [{ user_id: '' }, /^user_id: /],
      [{ user_id: 'x'.repeat(129) }, /^user_id: /],
      [{ user_id: 'ü' }, /^user_id: /],
      [{ user_id: 1.5 }, /^user_id: /],
      [{ user_id: -3 }, /^user_id: /],
      [{ history: [{ movie_id: 1, rating: 7 }] }, /^history\.0\.rating: /],
      [{ history: [{ movie_id: 1, rating: 3.3 }] }, /^history\.0\.rating: /],
      [{ history: [{ movie: 1 }] }, /^history\.0/],
      [{ history: Array.from({ length: 1001 }, (_, i) => ({ movie_id: i + 1 })) }, /^history: /],
      [{ userid: 1 }, /userid/],
    ])('refuses %j with 422 naming the field', async (json, message) => {
      const r = await call(base, 'POST', '/recommendations', { token: tokenA, json });
      expect(r.status).toBe(422);
      expect(r.body.message).toMatch(message);
    });

    it('returns up to n = 100 and never more than the catalogue offers', async () => {
      const r = await call(base, 'POST', '/recommendations', { token: tokenA, json: { user_id: aliceId, n: 100 } });
      expect(r.status).toBe(200);
      expect(r.body.recommendations).toHaveLength(MOVIES.length - 4);
    });

    it('isolates clients: another client’s user is a 404 exactly like an unknown one, and ids are per client', async () => {
      const other = await call(base, 'POST', '/recommendations', { token: tokenB, json: { user_id: aliceId } });
      const unknown = await call(base, 'POST', '/recommendations', { token: tokenB, json: { user_id: 424242 } });
      expect(other.status).toBe(404);
      expect(unknown.status).toBe(404);
      expect(other.body).toEqual({ error: 'not_found', message: `user ${aliceId} not found` });
      expect(unknown.body).toEqual({ error: 'not_found', message: 'user 424242 not found' });
      // A write with alice's id creates beta's own user of that id, exactly as with an id beta never used.
      const withHistory = await call(base, 'POST', '/recommendations', {
        token: tokenB,
        json: { user_id: aliceId, history: [{ movie_id: 9 }] },
      });
      const unknownWithHistory = await call(base, 'POST', '/recommendations', {
        token: tokenB,
        json: { user_id: 424242, history: [{ movie_id: 9 }] },
      });
      expect(withHistory.body).toMatchObject({ user_id: aliceId, created: true });
      expect(unknownWithHistory.body).toMatchObject({ user_id: 424242, created: true });
      expect(withHistory.body.recommendations).toEqual(unknownWithHistory.body.recommendations);
      const fresh = await call(base, 'POST', '/recommendations', {
        token: tokenB,
        json: { history: [{ movie_id: 9 }] },
      });
      expect(fresh.body).toMatchObject({ user_id: 424243, created: true });
      const aliceStill = await t.db.query(
        `SELECT count(*)::int AS n FROM ratings r JOIN users u ON u.id = r.user_id JOIN clients c ON c.id = u.client_id WHERE c.username = 'alpha' AND r.movie_id = 9`,
      );
      expect(aliceStill.rows[0].n).toBe(0);
    });

    it('gives concurrent new users distinct ids', async () => {
      const replies = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          call(base, 'POST', '/recommendations', {
            token: tokenB,
            json: { history: [{ movie_id: (i % 30) + 1, rating: 4 }] },
          }),
        ),
      );
      expect(replies.map((r) => r.status)).toEqual(Array(12).fill(200));
      const ids = replies.map((r) => r.body.user_id);
      expect(new Set(ids).size).toBe(12);
    });

    it('serves a repeated request from the cache, and never a stale list after a new rating', async () => {
      const ask = () => call(base, 'POST', '/recommendations', { token: tokenA, json: { user_id: aliceId, n: 4 } });
      const hits = async () =>
        Number(
          ((await call(base, 'GET', '/metrics')).body as string).match(
            /reco_recommendation_cache_hits_total\{[^}]*\} (\d+)/,
          )?.[1] ?? 0,
        );
      const first = await ask();
      const before = await hits();
      const second = await ask();
      expect(second.body.recommendations).toEqual(first.body.recommendations);
      expect(await hits()).toBe(before + 1);
      const top = first.body.recommendations[0].movie_id;
      await call(base, 'POST', '/recommendations', {
        token: tokenA,
        json: { user_id: aliceId, history: [{ movie_id: top, rating: 2 }], n: 1 },
      });
      const third = await ask();
      expect(third.body.recommendations.map((x: any) => x.movie_id)).not.toContain(top);
      expect(third.body.recommendations.map((x: any) => x.movie_id).slice(0, 3)).toEqual(
        first.body.recommendations.map((x: any) => x.movie_id).slice(1, 4),
      );
    });

    it('stores a history in one transaction: a failure leaves no user and no rating behind', async () => {
      // Movie 40 is in the server's cached catalogue; deleting it makes the ratings insert fail mid-transaction.
      await t.db.query('DELETE FROM movies WHERE movie_id = 40');
      const before = await t.db.query(`SELECT count(*)::int AS n FROM users`);
      const r = await call(base, 'POST', '/recommendations', {
        token: tokenB,
        json: {
          history: [
            { movie_id: 39, rating: 4 },
            { movie_id: 40, rating: 4 },
          ],
        },
      });
      expect(r.status).toBe(422);
      expect(r.body.message).toMatch(/nothing was stored/);
      const after = await t.db.query(`SELECT count(*)::int AS n FROM users`);
      expect(after.rows[0].n).toBe(before.rows[0].n);
      await t.db.query(
        `INSERT INTO movies (movie_id, title, genres) VALUES (40, 'Movie 40 (2019)', '{Animation,Children,Comedy}')`,
      );
    });
  });

  describe('GET /movies', () => {
    it('searches titles (wildcards literal), filters by genre and pages', async () => {
      const toy = await call(base, 'GET', '/movies?query=toy%20STORY', { token: tokenA });
      expect(toy.status).toBe(200);
      expect(toy.body).toEqual({
        total: 1,
        limit: 20,
        offset: 0,
        movies: [{ movie_id: 1, title: 'Toy Story (1995)', genres: ['Action', 'Sci-Fi'], year: 1980 }],
      });
      const pct = await call(base, 'GET', '/movies?query=%25', { token: tokenA });
      expect(pct.body.movies.map((m: any) => m.movie_id)).toEqual([3]);
      const comedy = await call(base, 'GET', '/movies?genre=Comedy&limit=5&offset=5', { token: tokenA });
      expect(comedy.body.total).toBe(20);
      expect(comedy.body.movies).toHaveLength(5);
      expect(comedy.body.movies.every((m: any) => m.genres.includes('Comedy'))).toBe(true);
    });

    it.each(['limit=0', 'limit=101', 'offset=-1', 'limit=abc', 'colour=red'])('refuses ?%s with 422', async (q) => {
      expect((await call(base, 'GET', `/movies?${q}`, { token: tokenA })).status).toBe(422);
    });

    it('needs a token', async () => {
      expect((await call(base, 'GET', '/movies')).status).toBe(401);
    });
  });

  describe('unknown routes', () => {
    it('answers 404 in JSON, and 405 for a known route with another method', async () => {
      expect(await call(base, 'GET', '/nope')).toMatchObject({ status: 404, body: { error: 'not_found' } });
      expect(await call(base, 'GET', '/recommendations')).toMatchObject({
        status: 405,
        body: { error: 'method_not_allowed' },
      });
    });
  });

  describe('model hot swap', () => {
    it('swaps the model on NOTIFY while requests run, and none fails', async () => {
      source.models.set('v2', rankingModel2('v2'));
      let stop = false;
      const statuses: number[] = [];
      const versions = new Set<string>();
      const load = (async () => {
        while (!stop) {
          const batch = await Promise.all(
            Array.from({ length: 4 }, () =>
              call(base, 'POST', '/recommendations', { token: tokenA, json: { user_id: 1, n: 3 } }),
            ),
          );
          for (const r of batch) {
            statuses.push(r.status);
            versions.add(r.body.model?.version);
          }
        }
      })();
      await new Promise((r) => setTimeout(r, 150));
      source.active = 'v2';
      await t.db.query('SELECT pg_notify($1, $2)', [source.channel, 'v2']);
      const deadline = Date.now() + 10_000;
      while (server.models.current?.version !== 'v2' && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 150));
      stop = true;
      await load;
      expect(server.models.current?.version).toBe('v2');
      expect(statuses.length).toBeGreaterThan(8);
      expect(statuses.every((s) => s === 200)).toBe(true);
      expect([...versions].sort()).toEqual(['fallback', 'v2']);
      const after = await call(base, 'POST', '/recommendations', { token: tokenA, json: { user_id: 1, n: 2 } });
      expect(after.body.model).toEqual({ algorithm: 'test-ranking', version: 'v2' });
      expect(after.body.recommendations.map((x: any) => x.movie_id)).toEqual([40, 39]);
    });
  });

  describe('GET /metrics', () => {
    it('exports every name of names.ts plus process metrics, with route templates and model labels', async () => {
      const post = (path: string, body: string) =>
        fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expect((await post('/recommendations', '{"user_id":')).status).toBe(400);
      expect((await post('/recommendations', JSON.stringify({ pad: 'x'.repeat(300 * 1024) }))).status).toBe(413);
      expect((await post('/create-client', '{nope')).status).toBe(400);
      const r = await call(base, 'GET', '/metrics');
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toMatch(/text\/plain/);
      const text: string = r.body;
      for (const name of Object.values(METRICS)) expect(text).toContain(`# TYPE ${name} `);
      expect(text).toContain('process_resident_memory_bytes');
      expect(text).toMatch(/http_requests_total\{method="POST",route="\/recommendations",status_code="200"\} \d+/);
      expect(text).toMatch(/http_requests_total\{method="GET",route="unmatched",status_code="404"\}/);
      // Bodies refused before routing still count under the route they were sent to.
      expect(text).toMatch(/http_requests_total\{method="POST",route="\/recommendations",status_code="400"\}/);
      expect(text).toMatch(/http_requests_total\{method="POST",route="\/recommendations",status_code="413"\}/);
      expect(text).toMatch(/http_requests_total\{method="POST",route="\/create-client",status_code="400"\}/);
      expect(text).not.toMatch(/route="unmatched",status_code="4(00|13)"/);
      expect(text).not.toMatch(/route="\/movies\?/);
      expect(text).toMatch(/reco_recommendations_total\{algorithm="popular",version="fallback"\} \d+/);
      expect(text).toMatch(/reco_recommendations_total\{algorithm="test-ranking",version="v2"\} \d+/);
      expect(text).toMatch(/reco_model_info\{algorithm="test-ranking",version="v2"\} 1/);
      expect(text).not.toMatch(/reco_model_info\{algorithm="popular"/);
      expect(text).toMatch(/reco_model_holdout_ndcg_at_10 0.25/);
      expect(text).toMatch(/reco_users_created_total 1[4-9]/);
      expect(text).toMatch(/reco_catalogue_movies 40/);
      expect(text).toMatch(/reco_recommendation_fallbacks_total [1-9]/);
    });

    it('exports the ingest ledger and job runs', async () => {
      await t.db.query(
        `INSERT INTO ingest_runs (source, status, finished_at, rows_read, rows_accepted, rows_rejected, duration_ms) VALUES ('x', 'succeeded', now(), 12, 10, 2, 1500)`,
      );
      await t.db.query(
        `INSERT INTO job_runs (job, status, started_at, finished_at) VALUES ('train', 'succeeded', now() - interval '3 seconds', now())`,
      );
      // A fresh server reads the figures on its first scrape (they are cached for 10 s).
      const s2 = await startTestServer(t.db, { modelSource: source });
      try {
        const text: string = (await call(s2.url!, 'GET', '/metrics')).body;
        expect(text).toMatch(/reco_ingest_last_rows_accepted 10\n/);
        expect(text).toMatch(/reco_ingest_last_rows_rejected 2\n/);
        expect(text).toMatch(/reco_ingest_last_duration_seconds 1.5\n/);
        expect(text).toMatch(/reco_ingest_runs_total\{status="succeeded"\} 1\n/);
        expect(text).toMatch(/reco_job_runs_total\{task="train",status="succeeded"\} 1\n/);
        expect(text).toMatch(/reco_job_last_duration_seconds\{task="train"\} 3\n/);
        expect(text).toMatch(/reco_job_last_success_timestamp_seconds\{task="train"\} \d/);
        // Every reco_job_* sample names its job run in `task`, never in `job` (Prometheus' own target label).
        const jobSeries = text.split('\n').filter((l) => l.startsWith('reco_job_'));
        expect(jobSeries.length).toBeGreaterThanOrEqual(5); // train: runs_total × 2 statuses, runs in progress, last duration, last success
        for (const line of jobSeries) {
          const labels = [...line.replace(/\}.*$/, '').matchAll(/[{,](\w+)="/g)].map((m) => m[1]);
          expect(
            `${line}: ${labels.includes('task') && !labels.includes('job') ? 'ok' : 'needs task and no job'}`,
          ).toBe(`${line}: ok`);
        }
      } finally {
        await s2.close();
      }
    });
  });

  describe('GET /openapi.json (GET /docs: docs-page.test.ts)', () => {
    it('documents every route with its schemas, all references resolving', async () => {
      const r = await call(base, 'GET', '/openapi.json');
      expect(r.status).toBe(200);
      const doc = r.body;
      expect(doc.openapi).toMatch(/^3\./);
      const ops = Object.entries(doc.paths).flatMap(([p, item]: [string, any]) =>
        Object.keys(item).map((m) => `${m.toUpperCase()} ${p}`),
      );
      expect(ops.sort()).toEqual(
        [
          'POST /create-client',
          'POST /token',
          'POST /recommendations',
          'POST /feedback',
          'GET /movies',
          'GET /movies/{movie_id}/similar',
          'GET /metrics',
          'GET /healthz',
          'GET /readyz',
          'GET /openapi.json',
          'GET /docs',
        ].sort(),
      );
      const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
      expect(refs.length).toBeGreaterThan(5);
      for (const ref of refs) {
        const name = ref.slice(ref.lastIndexOf('/') + 1, -1);
        expect(doc.components.schemas[name] ?? doc.components.securitySchemes?.[name]).toBeDefined();
      }
      expect(doc.components.schemas.RecommendationRequest.properties.n).toMatchObject({
        minimum: 1,
        maximum: 100,
        default: 10,
      });
      expect(doc.paths['/recommendations'].post.security).toEqual([{ bearerAuth: [] }, { oauth2Password: [] }]);
      expect(doc.components.schemas.RecommendationRequest.properties.filter).toEqual({
        $ref: '#/components/schemas/Filter',
      });
      expect(doc.components.schemas.FeedbackEvent.properties.type.enum).toEqual([
        'rating',
        'view',
        'like',
        'dislike',
        'skip',
      ]);
      expect(doc.components.schemas.FeedbackRequest.properties.events).toMatchObject({
        minItems: 1,
        maxItems: 1000,
        items: { $ref: '#/components/schemas/FeedbackEvent' },
      });
      expect(doc.components.schemas.RecommendationResponse.required).toContain('recommendation_id');
      const similar = doc.paths['/movies/{movie_id}/similar'].get;
      expect(similar.parameters.map((p: any) => `${p.in} ${p.name}`).sort()).toEqual(
        [
          'path movie_id',
          'query n',
          'query genres_any',
          'query genres_none',
          'query year_min',
          'query year_max',
          'query exclude_movie_ids',
        ].sort(),
      );
      for (const item of Object.values(doc.paths) as any[])
        for (const op of Object.values(item) as any[]) expect(Object.keys(op.responses).length).toBeGreaterThan(0);
    });
  });
});

function rankingModel2(version: string) {
  // Reverse order, so the swap is visible in the answers.
  return rankingModelReversed(version);
}

import { rankingModel } from './fixtures.js';
function rankingModelReversed(version: string) {
  return rankingModel(version, MOVIES.map((m) => m.id).reverse());
}
