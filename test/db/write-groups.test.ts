import { saveHistory, type HistoryItem, type SavedHistory } from '../../src/core/db/repositories/api-users.js';
import { ensureClient } from '../../src/core/db/repositories/clients.js';
import { storeFeedback, type FeedbackRow, type StoredFeedback } from '../../src/core/db/repositories/feedback.js';
import { QuotaExceededError } from '../../src/core/db/repositories/quotas.js';
import { saveHistoryGroup, storeFeedbackGroup } from '../../src/core/db/repositories/write-groups.js';
import { sqlText, type Database, type PreparedStatement } from '../../src/core/db/types.js';
import { HistoryCache } from '../../src/server/history-cache.js';
import { WriteGroups } from '../../src/server/write-groups.js';
import { describeEachEngine } from '../helpers/engines.js';
import { seedCatalogue } from '../server/fixtures.js';

const T = Date.UTC(2026, 0, 1);
const LIKED = 4;
const NO_QUOTA = { usersPerHour: 0, ratingsPerHour: 0 };
/** No history cache: every history write reads its history back (test/server/history-writes.test.ts has the cache). */
const uncached = (db: Database) => new HistoryCache(db, { capacityBytes: 0 });
const ev = (user: string, movie: number, type: FeedbackRow['type'], rating: number | null, s: number): FeedbackRow => ({
  externalId: user,
  movieId: movie,
  type,
  rating,
  occurredAt: new Date(T + s * 1000).toISOString(),
  recommendationId: type === 'like' ? `r${s}` : null,
});

/** Requests as platforms send them, one user each: new users, repeats, a like then a rating, exclusions. */
const FEEDBACK: FeedbackRow[][] = [
  [ev('a', 1, 'rating', 4.5, 1)],
  [ev('b', 2, 'view', null, 1)],
  [ev('a', 2, 'like', null, 2), ev('a', 3, 'dislike', null, 2)],
  [ev('a', 1, 'rating', 4.5, 1)], // the same event again
  [ev('c', 2, 'rating', 1, 3)],
  [ev('b', 2, 'rating', 2.5, 4)],
  [ev('a', 1, 'rating', 3, 0)], // older than the stored rating
  [ev('c', 5, 'skip', null, 5)],
];
const HISTORIES: { externalId: string | undefined; items: HistoryItem[] }[] = [
  { externalId: undefined, items: [{ movieId: 4, rating: 3 }] }, // a new user, its id generated
  { externalId: 'a', items: [{ movieId: 6, rating: 5 }] },
  { externalId: undefined, items: [{ movieId: 5, rating: 1 }] },
  { externalId: 'd', items: [{ movieId: 7, rating: 2 }] },
  { externalId: 'a', items: [{ movieId: 6, rating: 1.5 }] },
  {
    externalId: 'b',
    items: [
      { movieId: 8, rating: 3.5 },
      { movieId: 9, rating: 4 },
    ],
  },
];

/** What one client's writes left in the database, by external id (internal ids differ between clients). */
async function storedOf(db: Database, client: number) {
  const q = async (sql: string) => (await db.query(sql, [client])).rows;
  return {
    users: await q(
      `SELECT external_id, characteristic, rating_count, genre_sums FROM users WHERE client_id = $1 ORDER BY external_id`,
    ),
    ratings: await q(
      `SELECT u.external_id, r.movie_id, r.rating FROM ratings r JOIN users u ON u.id = r.user_id
        WHERE u.client_id = $1 ORDER BY 1, 2`,
    ),
    feedback: await q(
      `SELECT u.external_id, f.movie_id, f.type, f.occurred_at, f.rating, f.recommendation_id
         FROM feedback_events f JOIN users u ON u.id = f.user_id WHERE u.client_id = $1 ORDER BY 1, 2, 3, 4`,
    ),
    exclusions: await q(
      `SELECT u.external_id, x.movie_id FROM user_exclusions x JOIN users u ON u.id = x.user_id
        WHERE u.client_id = $1 ORDER BY 1, 2`,
    ),
    quota: await q(
      `SELECT sum(users_created)::int AS users, sum(ratings_stored)::int AS ratings FROM client_quota_usage WHERE client_id = $1`,
    ),
  };
}

/** The calls that write a group (migrations 095 and 096). */
const GROUP_CALL = /reco_(store_feedback|save_history)_users\(/;

/**
 * Consecutive requests cut where a user comes again, and a request without a user on its own: the groups the
 * server forms.
 */
function distinctUserGroups<R>(requests: R[], userOf: (r: R) => string | undefined): R[][] {
  const groups: R[][] = [[]];
  for (const r of requests) {
    const last = groups[groups.length - 1];
    const user = userOf(r);
    if (last.length > 0 && (user === undefined || last.some((g) => userOf(g) === user || userOf(g) === undefined)))
      groups.push([]);
    groups[groups.length - 1].push(r);
  }
  return groups;
}

const feedbackAnswer = (out: StoredFeedback) => ({ ...out, changedUsers: out.changedUsers.length });
const historyAnswer = (out: SavedHistory) => ({ ...out, userId: undefined });

/** A database that records the statements sent through it. */
function recording(db: Database, log: string[]): Database {
  return new Proxy(db, {
    get(target, prop) {
      if (prop === 'query')
        return (sql: string | PreparedStatement, params?: unknown[]) => (
          log.push(sqlText(sql)),
          target.query(sql, params)
        );
      const v = Reflect.get(target, prop);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

/**
 * Group commit (migration 092, src/server/write-groups.ts): a group of requests stores what the same requests one
 * after the other store, and answers the same; a group that fails stores nothing, and the server then writes each
 * request alone, so one bad request does not fail the others.
 */
describeEachEngine('write groups', (t) => {
  beforeAll(async () => {
    await seedCatalogue(t.db);
  });

  it('stores and answers what the same writes one at a time do (differential: plain path against groups)', async () => {
    const plain = (await ensureClient(t.db, 'plain')).id;
    const grouped = (await ensureClient(t.db, 'grouped')).id;
    const quota = { usersPerHour: 1000, ratingsPerHour: 1000 };
    const alone: unknown[] = [];
    for (const rows of FEEDBACK) alone.push(feedbackAnswer(await storeFeedback(t.db, plain, rows, LIKED, quota)));
    for (const h of HISTORIES) alone.push(historyAnswer(await saveHistory(t.db, plain, h.externalId, h.items, quota)));
    const together: unknown[] = [];
    const feedbackGroups = distinctUserGroups(FEEDBACK, (rows) => rows[0].externalId);
    expect(feedbackGroups.map((g) => g.length)).toEqual([2, 1, 3, 2]);
    for (const group of feedbackGroups) {
      together.push(...(await storeFeedbackGroup(t.db, grouped, group, LIKED, quota)).map(feedbackAnswer));
    }
    // A new user without an id is written alone, as the server does; the others in groups of distinct users.
    const historyGroups = distinctUserGroups(HISTORIES, (h) => h.externalId);
    expect(historyGroups.map((g) => g.length)).toEqual([1, 1, 1, 3]);
    for (const group of historyGroups) {
      const answers = group[0].externalId
        ? await saveHistoryGroup(t.db, grouped, group as { externalId: string; items: HistoryItem[] }[], quota)
        : [await saveHistory(t.db, grouped, undefined, group[0].items, quota)];
      together.push(...answers.map(historyAnswer));
    }
    expect(together).toEqual(alone);
    const a = await storedOf(t.db, plain);
    expect(a.ratings.length).toBeGreaterThan(5);
    expect(a.exclusions.length).toBe(2);
    expect(await storedOf(t.db, grouped)).toEqual(a);
  });

  it('stores nothing of a group over the quota, which each request alone may still pass', async () => {
    const client = (await ensureClient(t.db, 'quota')).id;
    const quota = { usersPerHour: 1000, ratingsPerHour: 2 };
    const requests = [[ev('q1', 1, 'rating', 4, 1)], [ev('q2', 1, 'rating', 4, 1)], [ev('q3', 1, 'rating', 4, 1)]];
    await expect(storeFeedbackGroup(t.db, client, requests, LIKED, quota)).rejects.toBeInstanceOf(QuotaExceededError);
    expect((await storedOf(t.db, client)).users).toEqual([]);

    const groups = new WriteGroups(t.db, LIKED, quota, uncached(t.db), { enabled: true });
    const outcomes = await Promise.allSettled(requests.map((rows) => groups.storeFeedback(client, rows)));
    expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    expect((await storedOf(t.db, client)).ratings).toHaveLength(2);
  });

  it('groups the writes of one client that arrive together, and a bad request fails alone', async () => {
    const client = (await ensureClient(t.db, 'server')).id;
    const other = (await ensureClient(t.db, 'server-other')).id;
    const log: string[] = [];
    const groups = new WriteGroups(recording(t.db, log), LIKED, NO_QUOTA, uncached(t.db), { enabled: true });
    const answers = await Promise.all([
      groups.storeFeedback(client, [ev('s1', 1, 'rating', 4, 1)]),
      groups.storeFeedback(client, [ev('s2', 2, 'like', null, 1)]),
      groups.saveHistory(client, 's1', [{ movieId: 3, rating: 2 }]),
      groups.saveHistory(client, 's3', [{ movieId: 4, rating: 5 }]),
      groups.saveHistory(client, undefined, [{ movieId: 9, rating: 5 }]),
      groups.storeFeedback(other, [ev('s1', 5, 'rating', 1, 1)]),
    ]);
    expect(log.filter((sql) => GROUP_CALL.test(sql))).toHaveLength(2);
    // The other client's write, and the new user without an id (its id generated by reco_save_history).
    expect(log.filter((sql) => /reco_(store_feedback|save_history)\(/.test(sql))).toHaveLength(2);
    // s1's feedback and history are written concurrently, in either order: its history has movie 3, maybe 1 too.
    const s1History = Array.from((answers[2] as SavedHistory).movieIds);
    expect([[3], [1, 3]]).toContainEqual(s1History);
    expect(answers.map((a, i) => (i === 2 ? 'either' : 'stored' in a ? a.stored : Array.from(a.movieIds)))).toEqual([
      1,
      1,
      'either',
      [4],
      [9],
      1,
    ]);
    expect((await storedOf(t.db, client)).ratings.filter((r) => r.external_id === 's1').map((r) => r.movie_id)).toEqual(
      [1, 3],
    );
    expect((answers[4] as SavedHistory).created).toBe(true);
    expect((answers[4] as SavedHistory).externalId).toBe('1');
    // Tenants stay apart: the other client's s1 is another user.
    expect((await storedOf(t.db, other)).ratings).toEqual([{ external_id: 's1', movie_id: 5, rating: 1 }]);

    // Movie 999 is not in the catalogue: its request fails as it would alone, the others are stored.
    log.length = 0;
    const outcomes = await Promise.allSettled([
      groups.storeFeedback(client, [ev('s4', 6, 'rating', 3, 2)]),
      groups.storeFeedback(client, [ev('s5', 999, 'rating', 3, 2)]),
      groups.saveHistory(client, 's6', [{ movieId: 7, rating: 3 }]),
      groups.saveHistory(client, 's7', [{ movieId: 999, rating: 3 }]),
      groups.saveHistory(client, 's8', [{ movieId: 8, rating: 3 }]),
    ]);
    expect(outcomes.map((o) => (o.status === 'rejected' ? (o.reason as { code?: string }).code : 'ok'))).toEqual([
      'ok',
      '23503',
      'ok',
      '23503',
      'ok',
    ]);
    expect(log.filter((sql) => GROUP_CALL.test(sql))).toHaveLength(2);
    const stored = (await storedOf(t.db, client)).ratings.map((r) => r.external_id);
    expect(stored).toEqual(expect.arrayContaining(['s4', 's6', 's8']));
    expect(stored).not.toEqual(expect.arrayContaining(['s5']));
    expect(stored).not.toEqual(expect.arrayContaining(['s7']));
  });

  it("starts the next group with a user's second request, and stores both in order", async () => {
    const client = (await ensureClient(t.db, 'repeat')).id;
    const log: string[] = [];
    const groups = new WriteGroups(recording(t.db, log), LIKED, NO_QUOTA, uncached(t.db), { enabled: true });
    const answers = await Promise.all([
      groups.storeFeedback(client, [ev('r1', 1, 'rating', 2, 1)]),
      groups.storeFeedback(client, [ev('r2', 1, 'view', null, 1)]),
      groups.storeFeedback(client, [ev('r1', 1, 'rating', 5, 2)]),
      groups.storeFeedback(client, [ev('r1', 1, 'rating', 5, 2)]), // the same event again
    ]);
    // [r1, r2] as a group, then r1's later requests alone, each after the one before.
    expect(log.filter((sql) => GROUP_CALL.test(sql))).toHaveLength(1);
    expect(log.filter((sql) => /reco_store_feedback\(/.test(sql))).toHaveLength(2);
    expect(answers.map((a) => [a.stored, a.createdUsers, a.ratingsStored])).toEqual([
      [1, 1, 1],
      [1, 1, 1],
      [1, 0, 1],
      [0, 0, 0],
    ]);
    expect((await storedOf(t.db, client)).ratings).toEqual([
      { external_id: 'r1', movie_id: 1, rating: 5 },
      { external_id: 'r2', movie_id: 1, rating: LIKED },
    ]);
  });

  it('writes every request alone when turned off, and requests of several users alone always', async () => {
    const client = (await ensureClient(t.db, 'off')).id;
    const log: string[] = [];
    const off = new WriteGroups(recording(t.db, log), LIKED, NO_QUOTA, uncached(t.db), { enabled: false });
    await Promise.all([
      off.storeFeedback(client, [ev('o1', 1, 'rating', 4, 1)]),
      off.storeFeedback(client, [ev('o2', 1, 'rating', 4, 1)]),
      off.saveHistory(client, 'o1', [{ movieId: 2, rating: 4 }]),
      off.saveHistory(client, 'o2', [{ movieId: 2, rating: 4 }]),
    ]);
    const on = new WriteGroups(recording(t.db, log), LIKED, NO_QUOTA, uncached(t.db), { enabled: true });
    await Promise.all([
      on.storeFeedback(client, [ev('o1', 3, 'rating', 4, 1), ev('o2', 3, 'rating', 4, 1)]),
      on.storeFeedback(client, [ev('o3', 3, 'rating', 4, 1), ev('o4', 3, 'rating', 4, 1)]),
    ]);
    expect(log.filter((sql) => GROUP_CALL.test(sql))).toEqual([]);
    expect(log).toHaveLength(6);
  });
});
