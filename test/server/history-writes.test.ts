import { findUserHistory, writeHistory, type HistoryItem } from '../../src/core/db/repositories/api-users.js';
import { ensureClient } from '../../src/core/db/repositories/clients.js';
import { storeFeedback } from '../../src/core/db/repositories/feedback.js';
import { writeHistoryGroup } from '../../src/core/db/repositories/write-groups.js';
import { sqlText, type Database, type PreparedStatement } from '../../src/core/db/types.js';
import { cached, HistoryCache, type CachedHistory } from '../../src/server/history-cache.js';
import { withRatings } from '../../src/server/history-writes.js';
import { WriteGroups } from '../../src/server/write-groups.js';
import { describeEachEngine } from '../helpers/engines.js';
import { MOVIES, seedCatalogue } from './fixtures.js';

/** A small deterministic generator (mulberry32), so that a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** 1–`most` distinct movies of the catalogue, each with a rating of 0.5–5 in 0.5 steps. */
function someRatings(next: () => number, most: number): HistoryItem[] {
  const n = 1 + Math.floor(next() * most);
  const movies = new Set<number>();
  while (movies.size < n) movies.add(MOVIES[Math.floor(next() * MOVIES.length)].id);
  return [...movies].map((movieId) => ({ movieId, rating: (1 + Math.floor(next() * 10)) / 2 }));
}

const whole = (h: CachedHistory) => ({
  userId: h.userId,
  externalId: h.externalId,
  movieIds: Array.from(h.movieIds),
  ratings: Array.from(h.ratings),
  excluded: Array.from(h.excluded),
  tastes: h.tastes && Array.from(h.tastes),
  fingerprint: h.fingerprint,
});

/** A database that records each statement's parameters. */
function recording(db: Database, log: unknown[][]): Database {
  return new Proxy(db, {
    get(target, prop) {
      if (prop === 'query')
        return (sql: string | PreparedStatement, params?: unknown[]) => (
          log.push(params ?? []),
          target.query(sql, params)
        );
      const v = Reflect.get(target, prop);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

/** The plain merge withRatings must equal: every rating in a map, the items' last, sorted by movie. */
function mergedByMap(base: CachedHistory, items: readonly HistoryItem[]) {
  const all = new Map<number, number>();
  base.movieIds.forEach((id, k) => all.set(id, base.ratings[k]));
  for (const item of items) all.set(item.movieId, item.rating);
  const ids = [...all.keys()].sort((a, b) => a - b);
  return { movieIds: ids, ratings: ids.map((id) => Math.fround(all.get(id)!)) };
}

describe('withRatings', () => {
  it('merges like a map of all ratings, sorted (differential, 2,000 random cases)', () => {
    const next = random(3);
    for (let c = 0; c < 2000; c++) {
      const size = c % 50 === 0 ? 0 : Math.floor(next() * 60);
      const ids = new Set<number>();
      while (ids.size < size) ids.add(1 + Math.floor(next() * 100));
      const movieIds = Int32Array.from([...ids].sort((a, b) => a - b));
      const base = cached({
        userId: 1,
        externalId: 'u',
        movieIds,
        ratings: Float32Array.from(movieIds, () => (1 + Math.floor(next() * 10)) / 2),
        excluded: Int32Array.of(7),
        tastes: size === 0 ? Float32Array.of(0.5) : undefined,
      });
      const wanted = new Set<number>();
      const count = 1 + Math.floor(next() * 5);
      while (wanted.size < count)
        wanted.add(next() < 0.5 && size > 0 ? movieIds[Math.floor(next() * size)] : Math.floor(next() * 102));
      const items = [...wanted].map((movieId) => ({ movieId, rating: (1 + Math.floor(next() * 10)) / 2 }));
      const out = withRatings(base, items);
      const expected = mergedByMap(base, items);
      expect({ movieIds: Array.from(out.movieIds), ratings: Array.from(out.ratings) }).toEqual(expected);
      expect(out.excluded).toBe(base.excluded);
      expect(out.tastes).toBeUndefined();
      expect(out.fingerprint).toBe(cached(out).fingerprint);
    }
  });
});

/**
 * A history write that starts from the server's cached history is not read back (migration 099): the server
 * merges the write into the cached history (withRatings). The database's read-back is the reference: after every
 * such write, the merged history must equal the user's history read from the database, fingerprint included.
 */
describeEachEngine('history writes through the cache', (t) => {
  let client: number;
  beforeAll(async () => {
    await seedCatalogue(t.db);
    client = (await ensureClient(t.db, 'history-writes')).id;
  });
  const fresh = async (externalId: string) => cached((await findUserHistory(t.db, client, externalId))!);

  it('merges a write into the cached history exactly as the database stores it (differential, 60 writes)', async () => {
    const next = random(42);
    await writeHistory(t.db, client, 'w1', someRatings(next, 5), undefined, { known: false });
    // Exclusions stay as they were: a dislike before the writes.
    await storeFeedback(t.db, client, [
      {
        externalId: 'w1',
        movieId: 40,
        type: 'dislike',
        rating: null,
        occurredAt: new Date().toISOString(),
        recommendationId: null,
      },
    ]);
    for (let i = 0; i < 60; i++) {
      const base = await fresh('w1');
      const items = someRatings(next, i % 10 === 0 ? 12 : 3);
      const out = await writeHistory(t.db, client, 'w1', items, undefined, { known: true });
      expect(out).toEqual({ userId: base.userId, externalId: 'w1', created: false, held: true });
      expect(whole(withRatings(base, items))).toEqual(whole(await fresh('w1')));
    }
    expect((await fresh('w1')).excluded).toEqual(Int32Array.of(40));
  });

  it('reads back the history of a user it creates even when told it is held, and of every user not held', async () => {
    const created = await writeHistory(t.db, client, 'w-new', [{ movieId: 1, rating: 4 }], undefined, {
      known: true,
    });
    expect(created).toMatchObject({ created: true, movieIds: Int32Array.of(1), ratings: Float32Array.of(4) });
    await writeHistory(t.db, client, 'g1', [{ movieId: 2, rating: 3 }], undefined, { known: false });
    const before = await fresh('g1');
    const items = [{ movieId: 5, rating: 2.5 }];
    const group = await writeHistoryGroup(
      t.db,
      client,
      [
        { externalId: 'g1', items, known: true },
        { externalId: 'g2', items: [{ movieId: 3, rating: 1 }], known: true },
        { externalId: 'w1', items: [{ movieId: 4, rating: 5 }], known: false },
      ],
      undefined,
      {},
    );
    expect(group[0]).toEqual({ userId: before.userId, externalId: 'g1', created: false, held: true });
    expect(group[1]).toMatchObject({ externalId: 'g2', created: true, movieIds: Int32Array.of(3) });
    expect(cached(group[2] as never)).toEqual(await fresh('w1'));
    expect(whole(withRatings(before, items))).toEqual(whole(await fresh('g1')));
  });

  it('keeps the cache as it was when the database refuses a write, and drops the user when the outcome is unknown', async () => {
    const cache = new HistoryCache(t.db, { capacityBytes: 1 << 20 });
    await cache.start();
    let loseAnswers = false;
    // A database whose write commits but whose answer is lost (a connection dropped after the commit).
    const flaky = new Proxy(t.db, {
      get(target, prop) {
        if (prop === 'query')
          return async (sql: string | PreparedStatement, params?: unknown[]) => {
            const out = await target.query(sql, params);
            if (loseAnswers && sqlText(sql).includes('reco_save_history')) throw new Error('connection lost');
            return out;
          };
        const v = Reflect.get(target, prop);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    const writes = new WriteGroups(flaky, 4, { usersPerHour: 0, ratingsPerHour: 0 }, cache, { enabled: true });
    try {
      await writes.saveHistory(client, 'r1', [{ movieId: 1, rating: 4 }]);
      const kept = cache.peek(client, 'r1');
      expect(kept && Array.from(kept.movieIds)).toEqual([1]);
      await expect(writes.saveHistory(client, 'r1', [{ movieId: 999_999, rating: 4 }])).rejects.toMatchObject({
        code: '23503',
      });
      expect(cache.peek(client, 'r1')).toBe(kept);
      loseAnswers = true;
      await expect(writes.saveHistory(client, 'r1', [{ movieId: 2, rating: 5 }])).rejects.toThrow('connection lost');
      expect(cache.peek(client, 'r1')).toBeUndefined();
      expect(Array.from((await cache.get(client, 'r1'))!.movieIds)).toEqual([1, 2]);
    } finally {
      await cache.stop();
    }
  });

  it('keeps the history of a user created under an id the database generated, and no unnamed user it did not create', async () => {
    const cache = new HistoryCache(t.db, { capacityBytes: 1 << 20 });
    await cache.start();
    const writes = new WriteGroups(t.db, 4, { usersPerHour: 0, ratingsPerHour: 0 }, cache, { enabled: true });
    try {
      const made = await writes.saveHistory(client, undefined, [{ movieId: 1, rating: 4 }]);
      expect(made.created).toBe(true);
      const kept = cache.peek(client, made.externalId);
      expect(kept).toBeDefined();
      expect(whole(kept!)).toEqual(whole(await fresh(made.externalId)));
      // Its next write starts from the kept history, as a named user's would.
      const next = await writes.saveHistory(client, made.externalId, [{ movieId: 2, rating: 3 }]);
      expect(whole(next)).toEqual(whole(await fresh(made.externalId)));
      // A user the write names neither in its ticket nor as created by it is not kept.
      const other = await fresh('w1');
      cache.invalidateUser(other.userId);
      const unnamed = cache.beginWrite(client, []);
      cache.endWrite(unnamed, [{ userId: other.userId, history: other, created: false }]);
      expect(cache.peek(client, 'w1')).toBeUndefined();
    } finally {
      await cache.stop();
    }
  });

  it("keeps the server's cache equal to the database through concurrent history and feedback writes", async () => {
    const cache = new HistoryCache(t.db, { capacityBytes: 1 << 20 });
    await cache.start();
    const log: unknown[][] = [];
    const writes = new WriteGroups(recording(t.db, log), 4, { usersPerHour: 0, ratingsPerHour: 0 }, cache, {
      enabled: true,
    });
    try {
      const next = random(7);
      const users = ['c1', 'c2', 'c3'];
      for (const u of users) await writes.saveHistory(client, u, someRatings(next, 3));
      let answered = 0;
      for (let round = 0; round < 15; round++) {
        await Promise.all(
          users.flatMap((u) => [
            writes.saveHistory(client, u, someRatings(next, 3)).then(async (h) => {
              answered++;
              // Each answer is a whole history: the user's rows as the database held them after this write.
              expect(h.movieIds.length).toBe(h.ratings.length);
              expect(Array.from(h.movieIds)).toEqual([...h.movieIds].sort((a, b) => a - b));
            }),
            ...(round % 3 === 0
              ? [
                  writes.storeFeedback(client, [
                    {
                      externalId: u,
                      movieId: MOVIES[Math.floor(next() * MOVIES.length)].id,
                      type: next() < 0.5 ? 'like' : 'skip',
                      rating: null,
                      occurredAt: new Date(Date.UTC(2026, 0, 1, 0, round)).toISOString(),
                      recommendationId: null,
                    },
                  ]),
                ]
              : []),
          ]),
        );
        for (const u of users) {
          const kept = cache.peek(client, u);
          if (kept) expect(whole(kept)).toEqual(whole(await fresh(u)));
        }
      }
      expect(answered).toBe(45);
      // Some writes did start from the cached history (not read back): reco_save_history's p_known, or
      // reco_save_history_users' list of held users.
      const held = log.filter((p) => p[7] === true || (Array.isArray(p[8]) && p[8].length > 0));
      expect(held.length).toBeGreaterThan(5);
      // After the last write, the cache holds what the database holds.
      for (const u of users) expect(whole((await cache.get(client, u))!)).toEqual(whole(await fresh(u)));
    } finally {
      await cache.stop();
    }
  });
});
