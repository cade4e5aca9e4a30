import { saveHistory, saveStatedTastes, HISTORY_CHANNEL } from '../../src/core/db/repositories/api-users.js';
import { ensureClient } from '../../src/core/db/repositories/clients.js';
import { storeFeedback, type FeedbackRow } from '../../src/core/db/repositories/feedback.js';
import { saveHistoryGroup, storeFeedbackGroup } from '../../src/core/db/repositories/write-groups.js';
import { QuotaExceededError } from '../../src/core/db/repositories/quotas.js';
import { genreProfile, genreVocabulary, recomputeProfilesSql } from '../../src/core/features/genre-profile.js';
import { sqlText } from '../../src/core/db/types.js';
import { describeEachEngine } from '../helpers/engines.js';
import { MOVIES, seedCatalogue } from '../server/fixtures.js';

const T = Date.UTC(2026, 0, 1);
const event = (
  externalId: string,
  movieId: number,
  type: FeedbackRow['type'],
  rating: number | null,
  second: number,
): FeedbackRow => ({
  externalId,
  movieId,
  type,
  rating,
  occurredAt: new Date(T + second * 1000).toISOString(),
  recommendationId: null,
});

/**
 * The API's writes as single statements (migration 073): the genre profile they keep from sums equals the one
 * computed from all of the user's ratings, each sends its users' history NOTIFY at its commit (migration 098) and
 * nothing when it fails, while other writers still notify from the triggers, and the sharded quota count holds its limit near it even for concurrent writes.
 */
describeEachEngine('API write functions', (t) => {
  let client: number;
  beforeAll(async () => {
    await seedCatalogue(t.db);
    client = (await ensureClient(t.db, 'writes')).id;
  });

  const profileOf = async (externalId: string) => {
    const u = await t.db.query<{
      id: number;
      characteristic: number[];
      rating_count: number;
      genre_sums: number[] | null;
    }>('SELECT id, characteristic, rating_count, genre_sums FROM users WHERE client_id = $1 AND external_id = $2', [
      client,
      externalId,
    ]);
    const r = await t.db.query<{ rating: number; genres: string[] }>(
      'SELECT r.rating, m.genres FROM ratings r JOIN movies m ON m.movie_id = r.movie_id WHERE r.user_id = $1',
      [u.rows[0].id],
    );
    return {
      stored: {
        characteristic: u.rows[0].characteristic.map((x) => Math.fround(Number(x))),
        rating_count: Number(u.rows[0].rating_count),
      },
      expected: {
        characteristic: Array.from(genreProfile(r.rows.map((x) => ({ genres: x.genres, rating: Number(x.rating) })))),
        rating_count: r.rows.length,
      },
      sumsKnown: u.rows[0].genre_sums !== null,
    };
  };

  it('keeps the genre profile from sums equal to the one computed from all ratings, through every kind of write', async () => {
    const steps: (() => Promise<unknown>)[] = [
      () =>
        storeFeedback(t.db, client, [
          event('p1', 1, 'rating', 4.5, 1),
          event('p1', 2, 'view', null, 2),
          event('p1', 3, 'like', null, 3),
        ]),
      // A newer rating of a rated movie, an older one arriving late (ignored), a view of a rated movie (ignored).
      () =>
        storeFeedback(t.db, client, [
          event('p1', 1, 'rating', 1, 10),
          event('p1', 3, 'rating', 0.5, 0),
          event('p1', 1, 'view', null, 11),
        ]),
      () =>
        storeFeedback(t.db, client, [
          event('p1', 4, 'dislike', null, 12),
          event('p1', 5, 'rating', 3, 13),
          event('p1', 5, 'rating', 2, 14),
        ]),
      () =>
        saveHistory(t.db, client, 'p1', [
          { movieId: 2, rating: 5 },
          { movieId: 6, rating: 2.5 },
        ]),
      // The same batch again: nothing new.
      () => storeFeedback(t.db, client, [event('p1', 1, 'rating', 4.5, 1), event('p1', 2, 'view', null, 2)]),
    ];
    for (const step of steps) {
      await step();
      const p = await profileOf('p1');
      expect(p.stored).toEqual(p.expected);
      expect(p.sumsKnown).toBe(true);
    }
    expect((await profileOf('p1')).stored.rating_count).toBe(5);
  });

  it('keeps every profile exact under concurrent batches that share users and movies, without deadlocks', async () => {
    // Eight batches in flight over six users and five movies: each user's ratings are rewritten by several batches
    // at once (the users' locks are taken after the events are stored, migration 095).
    const users = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6'];
    const types: FeedbackRow['type'][] = ['rating', 'rating', 'view', 'like', 'dislike', 'skip'];
    const batches = Array.from({ length: 8 }, (_, b) =>
      Array.from({ length: 30 }, (_, i) => {
        const type = types[(b + i) % types.length];
        return event(
          users[(b + 2 * i + (i >> 2)) % users.length],
          MOVIES[(b + i * 3) % 5].id,
          type,
          type === 'rating' ? 0.5 * (1 + ((b * 31 + i) % 10)) : null,
          1000 + b * 100 + i,
        );
      }),
    );
    const outcomes = await Promise.allSettled(batches.map((rows) => storeFeedback(t.db, client, rows)));
    expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
    const stored = outcomes.reduce((n, o) => n + (o.status === 'fulfilled' ? o.value.stored : 0), 0);
    expect(stored).toBe(8 * 30);
    for (const user of users) {
      const p = await profileOf(user);
      expect(p.stored).toEqual(p.expected);
      expect(p.sumsKnown).toBe(true);
    }
  });

  it('computes the sums from all ratings when another writer set the profile, then keeps them', async () => {
    await saveHistory(t.db, client, 'p2', [
      { movieId: 7, rating: 4 },
      { movieId: 8, rating: 3 },
    ]);
    const { rows } = await t.db.query<{ id: number }>(
      'SELECT id FROM users WHERE client_id = $1 AND external_id = $2',
      [client, 'p2'],
    );
    // As ingest writes: ratings straight into the table, then the profile recomputed in SQL.
    await t.db.query(
      'INSERT INTO ratings (user_id, movie_id, rating, rated_at) VALUES ($1, 9, 2, now()), ($1, 10, 5, now())',
      [rows[0].id],
    );
    await t.db.query(recomputeProfilesSql('SELECT $2::bigint AS user_id'), [genreVocabulary(), rows[0].id]);
    expect((await profileOf('p2')).sumsKnown).toBe(false);
    await storeFeedback(t.db, client, [event('p2', 11, 'like', null, 1)]);
    let p = await profileOf('p2');
    expect(p.stored).toEqual(p.expected);
    expect(p.stored.rating_count).toBe(5);
    expect(p.sumsKnown).toBe(true);
    await saveHistory(t.db, client, 'p2', [{ movieId: 9, rating: 4.5 }]);
    p = await profileOf('p2');
    expect(p.stored).toEqual(p.expected);
  });

  it('keeps both kinds of profile exact in one batch: users with known sums and a user whose sums are unknown', async () => {
    await storeFeedback(t.db, client, [event('p3', 1, 'rating', 2.5, 1), event('p4', 2, 'rating', 4, 1)]);
    const { rows } = await t.db.query<{ id: number }>(
      'SELECT id FROM users WHERE client_id = $1 AND external_id = $2',
      [client, 'p4'],
    );
    await t.db.query(recomputeProfilesSql('SELECT $2::bigint AS user_id'), [genreVocabulary(), rows[0].id]);
    expect((await profileOf('p4')).sumsKnown).toBe(false);
    await storeFeedback(t.db, client, [
      event('p3', 3, 'rating', 5, 2),
      event('p4', 3, 'like', null, 2),
      event('p3', 1, 'rating', 0.5, 3),
      event('p4', 4, 'rating', 1.5, 3),
    ]);
    for (const user of ['p3', 'p4']) {
      const p = await profileOf(user);
      expect(p.stored).toEqual(p.expected);
      expect(p.sumsKnown).toBe(true);
    }
  });

  it('updates a profile by its key even where the statistics say no user has sums (as after an ingest)', async () => {
    // An ingest leaves its users' sums NULL and analyzes `users`; the generic plan then took "users with sums" for
    // one row and scanned every user once per changed user, until the next ANALYZE.
    const other = (await ensureClient(t.db, 'statistics')).id;
    await t.db.query(
      "INSERT INTO users (client_id, external_id) SELECT $1, 'bulk-' || g FROM generate_series(1, 3000) AS g",
      [other],
    );
    await t.db.exec('ANALYZE users');
    await saveHistory(t.db, other, 'bulk-1', [{ movieId: 2, rating: 4 }]);
    const user = await t.db.query<{ id: number }>('SELECT id FROM users WHERE client_id = $1 AND external_id = $2', [
      other,
      'bulk-1',
    ]);
    // Rows read by sequential scans of `users`: the backend's counts not yet reported, so taken before and after.
    const scanned = await t.db.transaction(async (tx) => {
      const seqRead = async () =>
        (
          await tx.query<{ n: number }>(
            "SELECT seq_tup_read AS n FROM pg_stat_xact_user_tables WHERE relname = 'users' AND schemaname = 'public'",
          )
        ).rows[0].n;
      await tx.query("SELECT set_config('reco.writer', 'api', true)");
      const before = await seqRead();
      await tx.query('SELECT reco_apply_rating_changes($1::bigint[], $2::int[], $3::float8[], $4::int[], $5::text[])', [
        [user.rows[0].id],
        [3],
        [5],
        [1],
        genreVocabulary(),
      ]);
      return (await seqRead()) - before;
    });
    expect(scanned).toBe(0);
    const sums = await t.db.query<{ genre_sums: number[] }>('SELECT genre_sums FROM users WHERE id = $1', [
      user.rows[0].id,
    ]);
    expect(sums.rows[0].genre_sums.slice(0, 2).map(Number)).toEqual([2, 9]);
  });

  it('runs the write functions with generic plans (PL/pgSQL would plan a one-event write again on every call)', async () => {
    const { rows } = await t.db.query<{ proname: string; proconfig: string[] | null }>(
      `SELECT proname, proconfig FROM pg_proc
        WHERE proname IN ('reco_store_feedback_users', 'reco_save_history', 'reco_save_history_users',
                          'reco_apply_rating_changes', 'reco_charge_quota', 'reco_save_tastes', 'reco_user_for_write',
                          'reco_generate_user')
        ORDER BY proname, pronargs`,
    );
    expect(rows.map((r) => [r.proname, r.proconfig])).toEqual(
      [
        'reco_apply_rating_changes',
        'reco_charge_quota',
        'reco_generate_user',
        // Migration 093's version and 099's (with p_known), kept for the servers of the previous release.
        'reco_save_history',
        'reco_save_history',
        'reco_save_history_users',
        'reco_save_history_users',
        // Migration 093's version and 101's (with the quota's limits).
        'reco_save_tastes',
        'reco_save_tastes',
        'reco_store_feedback_users',
        'reco_user_for_write',
      ].map((f) => [f, ['plan_cache_mode=force_generic_plan']]),
    );
  });

  it("keeps the previous release's history writes working, as its servers call them during a rolling update", async () => {
    const vocab = genreVocabulary();
    const one = await t.db.query<{ user_external_id: string; history_movie_ids: number[] }>(
      `SELECT user_external_id, history_movie_ids
         FROM reco_save_history($1::int, $2::text, $3::int[], $4::real[], $5::text[], $6::int, $7::int)`,
      [client, 'old-1', [1, 2], [4, 3], vocab, 0, 0],
    );
    expect(one.rows.map((r) => [r.user_external_id, r.history_movie_ids.map(Number)])).toEqual([['old-1', [1, 2]]]);
    const group = await t.db.query<{ user_external_id: string; history_movie_ids: number[] }>(
      `SELECT user_external_id, history_movie_ids
         FROM reco_save_history_users($1::int, $2::text[], $3::text[], $4::int[], $5::real[], $6::text[], $7::int, $8::int)`,
      [client, ['old-1', 'old-2'], ['old-1', 'old-2'], [3, 3], [5, 1], vocab, 0, 0],
    );
    expect(group.rows.map((r) => [r.user_external_id, r.history_movie_ids.map(Number)])).toEqual([
      ['old-1', [1, 2, 3]],
      ['old-2', [3]],
    ]);
  });

  it('stores stated tastes in one statement: the user created or found, its vector kept once it has ratings', async () => {
    const statements: string[] = [];
    const counted = Object.create(t.db) as typeof t.db;
    counted.query = (sql, params) => {
      statements.push(sqlText(sql));
      return t.db.query(sql, params);
    };
    counted.transaction = () => {
      throw new Error('a transaction of several statements');
    };
    const tastes = Array.from({ length: genreVocabulary().length }, (_, i) => (i === 0 ? 1 : i === 1 ? -1 : 0));
    const made = await saveStatedTastes(counted, client, 'cold-1', tastes);
    expect(made).toMatchObject({ externalId: 'cold-1', created: true, stored: true });
    expect(statements).toHaveLength(1);
    const again = await saveStatedTastes(
      counted,
      client,
      'cold-1',
      tastes.map((x) => x / 2),
    );
    expect(again).toMatchObject({ userId: made.userId, created: false, stored: true });
    const generated = await saveStatedTastes(counted, client, undefined, tastes);
    expect(generated.created).toBe(true);
    expect(generated.externalId).toMatch(/^[1-9][0-9]*$/);
    const stored = await t.db.query<{ characteristic: number[] }>('SELECT characteristic FROM users WHERE id = $1', [
      made.userId,
    ]);
    expect(stored.rows[0].characteristic.slice(0, 2).map(Number)).toEqual([0.5, -0.5]);
    // A user with ratings keeps the vector computed from them.
    await saveHistory(t.db, client, 'cold-1', [{ movieId: MOVIES[0].id, rating: 4 }]);
    const before = await profileOf('cold-1');
    expect(await saveStatedTastes(counted, client, 'cold-1', tastes)).toMatchObject({ stored: false });
    expect((await profileOf('cold-1')).stored).toEqual(before.stored);
    expect(statements).toHaveLength(4);
  });

  it('gives concurrent new users of one client distinct generated ids, the largest + 1 when alone', async () => {
    const before = await t.db.query<{ n: string }>(
      `SELECT coalesce(max(external_id::bigint), 0) AS n FROM users WHERE client_id = $1 AND external_id ~ '^[1-9][0-9]*$'`,
      [client],
    );
    const alone = await saveHistory(t.db, client, undefined, [{ movieId: MOVIES[1].id, rating: 3 }]);
    expect(alone.externalId).toBe(String(Number(before.rows[0].n) + 1));
    const made = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        i % 3 === 2
          ? saveStatedTastes(t.db, client, undefined, new Array(genreVocabulary().length).fill(0.5))
          : saveHistory(t.db, client, undefined, [{ movieId: MOVIES[i].id, rating: 4 }]),
      ),
    );
    const ids = made.map((m) => Number(m.externalId));
    expect(new Set(ids).size).toBe(12);
    expect(Math.min(...ids)).toBeGreaterThan(Number(alone.externalId));
    expect(made.every((m) => m.created)).toBe(true);
  });

  it('does not make a new user wait for another new user of the same client to commit', async () => {
    if (t.engine === 'pglite') return; // one connection: nothing runs concurrently to wait on
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let firstId = '';
    const first = t.db.transaction(async (tx) => {
      const r = await tx.query<{ user_external_id: string }>(
        'SELECT user_external_id FROM reco_save_tastes($1::int, NULL, $2::real[])',
        [client, new Array(genreVocabulary().length).fill(0)],
      );
      firstId = r.rows[0].user_external_id;
      await held; // uncommitted until the second new user is stored
    });
    while (!firstId) await new Promise((r) => setTimeout(r, 5));
    const second = await Promise.race([
      saveHistory(t.db, client, undefined, [{ movieId: MOVIES[2].id, rating: 5 }]),
      new Promise<'waited'>((r) => setTimeout(() => r('waited'), 3000)),
    ]);
    release();
    await first;
    expect(second).not.toBe('waited');
    expect((second as { externalId: string }).externalId).not.toBe(firstId);
    const both = await t.db.query('SELECT 1 FROM users WHERE client_id = $1 AND external_id = ANY($2)', [
      client,
      [firstId, (second as { externalId: string }).externalId],
    ]);
    expect(both.rows).toHaveLength(2);
  });

  it('sends the users it wrote on the history channel at its commit, nothing when it fails; other writers notify from the triggers', async () => {
    const heard: string[] = [];
    const stop = await t.db.listen(HISTORY_CHANNEL, (p) => heard.push(p));
    const settle = () => new Promise((r) => setTimeout(r, 300));
    const idOf = async (externalId: string) =>
      String(
        (
          await t.db.query<{ id: number }>('SELECT id FROM users WHERE client_id = $1 AND external_id = $2', [
            client,
            externalId,
          ])
        ).rows[0].id,
      );
    const next = async () => {
      await settle();
      return heard.splice(0);
    };
    try {
      await storeFeedback(t.db, client, [event('n1', 1, 'rating', 4, 1), event('n2', 2, 'skip', null, 2)]);
      const [n1, n2] = [await idOf('n1'), await idOf('n2')];
      expect(await next()).toEqual([`${n1},${n2}`]);
      await saveHistory(t.db, client, 'n1', [{ movieId: 3, rating: 2 }]);
      expect(await next()).toEqual([n1]);
      const tastes = await saveStatedTastes(
        t.db,
        client,
        'n3',
        genreVocabulary().map(() => 0.5),
      );
      expect(await next()).toEqual([String(tastes.userId)]);
      await storeFeedbackGroup(t.db, client, [[event('n1', 4, 'like', null, 3)], [event('n2', 5, 'view', null, 4)]], 4);
      expect((await next())[0].split(',').sort()).toEqual([n1, n2].sort());
      const saved = await saveHistoryGroup(t.db, client, [
        { externalId: 'n2', items: [{ movieId: 6, rating: 3 }] },
        { externalId: 'n1', items: [{ movieId: 7, rating: 5 }] },
      ]);
      // The rows in the requests' order, the NOTIFY naming both.
      expect(saved.map((h) => h.externalId)).toEqual(['n2', 'n1']);
      expect((await next())[0].split(',').sort()).toEqual([n1, n2].sort());

      // A write that fails stores nothing and tells no one.
      await expect(saveHistory(t.db, client, 'n1', [{ movieId: 999_999, rating: 2 }])).rejects.toMatchObject({
        code: '23503',
      });
      await expect(
        storeFeedbackGroup(
          t.db,
          client,
          [[event('n1', 8, 'like', null, 5)], [event('n2', 999_999, 'view', null, 6)]],
          4,
        ),
      ).rejects.toMatchObject({ code: '23503' });
      expect(await next()).toEqual([]);

      await t.db.query('DELETE FROM ratings WHERE user_id = $1 AND movie_id = 3', [n1]);
      expect(await next()).toEqual(['*']);
    } finally {
      await stop();
    }
  });

  it('reco_notify_history sends at the commit, in payloads under the 8,000-byte limit, after the origin, and nothing on rollback', async () => {
    const heard: string[] = [];
    const stop = await t.db.listen(HISTORY_CHANNEL, (p) => heard.push(p));
    const settle = () => new Promise((r) => setTimeout(r, 300));
    try {
      const ids = Array.from({ length: 3000 }, (_, i) => 9_000_000_000_000_000_000n + BigInt(i));
      await t.db.transaction(async (tx) => {
        const r = await tx.query<{ sent: number }>('SELECT reco_notify_history($1::bigint[], NULL) AS sent', [
          ids.map(String),
        ]);
        expect(r.rows[0].sent).toBe(Math.ceil(3000 / 350));
        await settle();
        expect(heard).toEqual([]);
      });
      await settle();
      expect(heard).toHaveLength(Math.ceil(3000 / 350));
      for (const p of heard) expect(Buffer.byteLength(p)).toBeLessThan(8000);
      expect(heard.flatMap((p) => p.split(','))).toEqual(ids.map(String));
      heard.length = 0;

      await expect(
        t.db.transaction(async (tx) => {
          await tx.query('SELECT reco_notify_history($1::bigint[], NULL)', [['42']]);
          throw new Error('rolled back');
        }),
      ).rejects.toThrow('rolled back');
      expect((await t.db.query<{ sent: number }>("SELECT reco_notify_history('{}', NULL) AS sent")).rows[0].sent).toBe(
        0,
      );
      await settle();
      expect(heard).toEqual([]);
      // The writer's origin, when given, comes first.
      await t.db.query("SELECT reco_notify_history('{7,8}', 'server-a')");
      await settle();
      expect(heard).toEqual(['server-a;7,8']);
    } finally {
      await stop();
    }
  });

  it('refuses a write over the quota before it stores ratings or updates profiles (histories, groups, feedback)', async () => {
    // The client's ratings quota is 1 and each write below stores 2: refused in any case. What matters is the work
    // done first, which the rollback throws away: the rows the refused call inserted into `ratings` and updated in
    // `users` (the profile sums), read from the transaction's own counters around a savepoint.
    const quota = { usersPerHour: 0, ratingsPerHour: 1 };
    const touched = (write: (tx: Parameters<Parameters<typeof t.db.transaction>[0]>[0]) => Promise<unknown>) =>
      t.db.transaction(async (tx) => {
        const counts = async () => {
          const r = await tx.query<{ relname: string; ins: number; upd: number }>(
            `SELECT relname, n_tup_ins::int AS ins, n_tup_upd::int AS upd FROM pg_stat_xact_user_tables
              WHERE schemaname = 'public' AND relname IN ('ratings', 'users')`,
          );
          const of = (name: string) => r.rows.find((x) => x.relname === name) ?? { ins: 0, upd: 0 };
          return { ratings: of('ratings').ins + of('ratings').upd, users: of('users').upd };
        };
        const before = await counts();
        await tx.query('SAVEPOINT refused');
        const err = await write(tx).catch((e: unknown) => e);
        await tx.query('ROLLBACK TO SAVEPOINT refused');
        expect(err).toBeInstanceOf(QuotaExceededError);
        const after = await counts();
        return { ratings: after.ratings - before.ratings, profiles: after.users - before.users };
      });
    const two = [
      { movieId: MOVIES[0].id, rating: 4 },
      { movieId: MOVIES[1].id, rating: 3 },
    ];
    await saveHistory(t.db, client, 'over-1', []);
    expect(await touched((tx) => saveHistory(tx, client, 'over-1', two, quota))).toEqual({ ratings: 0, profiles: 0 });
    expect(await touched((tx) => saveHistoryGroup(tx, client, [{ externalId: 'over-1', items: two }], quota))).toEqual({
      ratings: 0,
      profiles: 0,
    });
    const events = [event('over-1', MOVIES[0].id, 'rating', 4, 1), event('over-1', MOVIES[1].id, 'like', null, 2)];
    // Feedback charges what it stored, so its ratings come first; the profile update does not.
    expect((await touched((tx) => storeFeedback(tx, client, events, 4, quota))).profiles).toBe(0);
  });

  it('holds a quota exactly once the count is past 90 % of it, also for concurrent writes, and stores nothing of a write over it', async () => {
    const quota = { usersPerHour: 0, ratingsPerHour: 10 };
    for (let i = 0; i < 9; i++)
      await storeFeedback(t.db, client, [event('q1', MOVIES[i].id, 'rating', 4, i)], 4, quota);
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) =>
        storeFeedback(t.db, client, [event(`q${i + 2}`, 20 + i, 'view', null, 100)], 4, quota),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(refused).toHaveLength(5);
    for (const r of refused) expect(r.reason).toBeInstanceOf(QuotaExceededError);
    expect(refused[0].reason).toMatchObject({ what: 'ratings', limit: 10 });
    expect(refused[0].reason.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    // Each refused write stored nothing: not its event, nor its user, nor its rating.
    const counts = await t.db.query<{ ratings: number; events: number; users: number }>(
      `SELECT (SELECT count(*) FROM ratings r JOIN users u ON u.id = r.user_id WHERE u.client_id = $1 AND u.external_id LIKE 'q%')::int AS ratings,
              (SELECT count(*) FROM feedback_events f JOIN users u ON u.id = f.user_id WHERE u.client_id = $1 AND u.external_id LIKE 'q%')::int AS events,
              (SELECT count(*) FROM users u WHERE u.client_id = $1 AND u.external_id LIKE 'q%')::int AS users`,
      [client],
    );
    expect(counts.rows[0]).toEqual({ ratings: 10, events: 10, users: 2 });
    const used = await t.db.query<{ n: number }>(
      'SELECT sum(ratings_stored)::int AS n FROM client_quota_usage WHERE client_id = $1',
      [client],
    );
    expect(used.rows[0].n).toBe(10);
  });
});
