import { DEFAULT_QUOTAS, loadConfig } from '../../src/core/config.js';
import type { RecoServer } from '../../src/server/index.js';
import { describeEachEngine, tempDir } from '../helpers/engines.js';
import { call, registerAndLogin, seedCatalogue, startTestServer, TEST_SECRET } from './fixtures.js';

const QUOTAS = { usersPerHour: 4, ratingsPerHour: 10 };

describe('quota configuration', () => {
  it('reads RECO_QUOTA_USERS_PER_HOUR and RECO_QUOTA_RATINGS_PER_HOUR, with defaults; 0 means no limit', () => {
    expect(loadConfig({}).quotas).toEqual(DEFAULT_QUOTAS);
    expect(loadConfig({ RECO_QUOTA_USERS_PER_HOUR: '7', RECO_QUOTA_RATINGS_PER_HOUR: '0' }).quotas).toEqual({
      usersPerHour: 7,
      ratingsPerHour: 0,
    });
    expect(() => loadConfig({ RECO_QUOTA_USERS_PER_HOUR: '-1' })).toThrow(/RECO_QUOTA_USERS_PER_HOUR/);
  });
});

/**
 * Per-client hourly quotas on the API's writes, counted in the database: two servers on one database (one with the
 * fast path, one through Express only) stand for two replicas and share the count.
 */
describeEachEngine('per-client write quotas', (t) => {
  let one: RecoServer;
  let two: RecoServer;
  const recommend = (server: RecoServer, token: string, json: unknown) =>
    call(server.url!, 'POST', '/recommendations', { token, json });
  const usersOf = async (username: string) =>
    (
      await t.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM users u JOIN clients c ON c.id = u.client_id WHERE c.username = $1`,
        [username],
      )
    ).rows[0].n;

  beforeAll(async () => {
    await seedCatalogue(t.db);
    const config = {
      dataDir: tempDir(),
      jwtSecret: TEST_SECRET,
      tokenTtlSeconds: 3600,
      production: false,
      quotas: QUOTAS,
    };
    one = await startTestServer(t.db, { config });
    two = await startTestServer(t.db, { fastPath: false, config });
  }, 60_000);
  afterAll(async () => {
    await one?.close();
    await two?.close();
  });

  it('counts users created across replicas and answers 429 with Retry-After and a JSON body past the quota', async () => {
    const token = await registerAndLogin(one.url!, 'quota_users');
    const created: number[] = [];
    for (const server of [one, one, two, two]) {
      const r = await recommend(server, token, { history: [{ movie_id: 1, rating: 4 }], n: 3 });
      expect(r.status).toBe(200);
      created.push(r.body.user_id);
    }
    for (const server of [one, two]) {
      const r = await recommend(server, token, { history: [{ movie_id: 2, rating: 4 }], n: 3 });
      expect(r.status).toBe(429);
      expect(r.headers.get('content-type')).toMatch(/application\/json/);
      expect(r.body).toEqual({
        error: 'quota_exceeded',
        message: expect.stringMatching(/may create 4 users per hour .*nothing was stored/),
      });
      const retry = Number(r.headers.get('retry-after'));
      expect(retry).toBeGreaterThanOrEqual(1);
      expect(retry).toBeLessThanOrEqual(3600);
    }
    expect(await usersOf('quota_users')).toBe(4);
    expect(await one.metrics.quotaRejectionsTotal.get()).toMatchObject({
      values: [{ labels: { quota: 'users' }, value: 1 }],
    });

    // Reads are never charged; another client has its own quota.
    expect((await recommend(one, token, { user_id: created[0], n: 3 })).status).toBe(200);
    expect((await recommend(two, token, { user_id: created[1], n: 3 })).status).toBe(200);
    const other = await registerAndLogin(two.url!, 'quota_other');
    expect((await recommend(one, other, { history: [{ movie_id: 1 }], n: 3 })).status).toBe(200);

    // The next clock hour starts a new window.
    await t.db.query(`UPDATE client_quota_usage SET window_start = window_start - interval '1 hour'`);
    expect((await recommend(two, token, { history: [{ movie_id: 2, rating: 4 }], n: 3 })).status).toBe(200);
    expect(await usersOf('quota_users')).toBe(5);
  });

  it('charges a cold start that creates its user; stated tastes of a known user are not charged', async () => {
    const token = await registerAndLogin(one.url!, 'quota_cold');
    const genres = { Comedy: 1, Horror: -1 };
    for (const [i, server] of [one, two, one, two].entries()) {
      const r = await recommend(server, token, { user_id: `cold-${i}`, genres, n: 3 });
      expect(r.status).toBe(200);
    }
    const over = await recommend(one, token, { user_id: 'cold-4', genres, n: 3 });
    expect(over.status).toBe(429);
    expect(over.body).toEqual({
      error: 'quota_exceeded',
      message: expect.stringMatching(/may create 4 users per hour/),
    });
    expect(await usersOf('quota_cold')).toBe(4);
    expect((await recommend(two, token, { user_id: 'cold-0', genres: { Drama: 1 }, n: 3 })).status).toBe(200);
    expect(await usersOf('quota_cold')).toBe(4);
  });

  it('counts ratings stored; a history that would pass the quota stores nothing', async () => {
    const token = await registerAndLogin(one.url!, 'quota_ratings');
    const first = await recommend(one, token, {
      history: [1, 2, 3, 4, 5, 6].map((m) => ({ movie_id: m, rating: 4 })),
      n: 3,
    });
    expect(first.status).toBe(200);
    const user = first.body.user_id;
    const over = await recommend(two, token, {
      user_id: user,
      history: [7, 8, 9, 10, 11].map((m) => ({ movie_id: m, rating: 4 })),
      n: 3,
    });
    expect(over.status).toBe(429);
    expect(over.body.message).toMatch(/may store 10 ratings per hour/);
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const fits = await recommend(one, token, {
      user_id: user,
      history: [7, 8, 9, 10].map((m) => ({ movie_id: m, rating: 4 })),
      n: 3,
    });
    expect(fits.status).toBe(200);
    expect((await recommend(one, token, { user_id: user, history: [{ movie_id: 11 }], n: 3 })).status).toBe(429);
    const stored = await t.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ratings r JOIN users u ON u.id = r.user_id JOIN clients c ON c.id = u.client_id WHERE c.username = 'quota_ratings'`,
    );
    expect(stored.rows[0].n).toBe(10);
    const read = await recommend(two, token, { user_id: user, n: 3 });
    expect(read.status).toBe(200);
    expect(read.body.recommendations.map((r: any) => r.movie_id)).not.toContain(1);
  });

  it('charges POST /feedback the same: users created and ratings, views and likes stored; a batch over it stores nothing', async () => {
    const token = await registerAndLogin(two.url!, 'quota_feedback');
    const feedback = (server: RecoServer, events: unknown[]) =>
      call(server.url!, 'POST', '/feedback', { token, json: { events } });
    const ok = await feedback(one, [
      { user_id: 'f1', movie_id: 1, type: 'rating', rating: 4 },
      { user_id: 'f1', movie_id: 2, type: 'view' },
      { user_id: 'f2', movie_id: 3, type: 'like' },
      { user_id: 'f2', movie_id: 4, type: 'skip' },
    ]);
    expect(ok.status).toBe(200);
    // Two users and three rating rows so far; four more users would pass the quota of 4: nothing of it is kept.
    const over = await feedback(
      two,
      ['f3', 'f4', 'f5'].map((u) => ({ user_id: u, movie_id: 5, type: 'view' })),
    );
    expect(over.status).toBe(429);
    expect(over.body).toEqual({
      error: 'quota_exceeded',
      message: expect.stringMatching(/may create 4 users per hour .*nothing was stored/),
    });
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await usersOf('quota_feedback')).toBe(2);
    // Ratings: 3 stored of 10; 8 more views of known users pass it.
    const tooMany = await feedback(
      one,
      [5, 6, 7, 8, 9, 10, 11, 12].map((m) => ({ user_id: 'f1', movie_id: m, type: 'view' })),
    );
    expect(tooMany.status).toBe(429);
    expect(tooMany.body.message).toMatch(/may store 10 ratings per hour/);
    const fits = await feedback(
      two,
      [5, 6, 7, 8, 9, 10, 11].map((m) => ({ user_id: 'f1', movie_id: m, type: 'view' })),
    );
    expect(fits.status).toBe(200);
    // Dislikes and skips store no rating: never charged.
    expect((await feedback(one, [{ user_id: 'f1', movie_id: 12, type: 'dislike' }])).status).toBe(200);
  });
});
