import { sqlText, type Database } from '../../src/core/db/types.js';
import { ENTRY_FIXED_BYTES, entryBytes, HistoryCache } from '../../src/server/history-cache.js';
import type { RecoServer } from '../../src/server/index.js';
import { describeEachEngine } from '../helpers/engines.js';
import { call, rankingModel, registerAndLogin, seedCatalogue, startTestServer, SwitchableSource } from './fixtures.js';

/** The real database, counting the history reads that go through it (the cache's misses). */
function counting(db: Database): Database & { historyReads: number } {
  const counted = Object.create(db) as Database & { historyReads: number };
  counted.historyReads = 0;
  counted.query = (sql, params) => {
    if (sqlText(sql).includes('array_agg(r.movie_id')) counted.historyReads++;
    return db.query(sql, params);
  };
  return counted;
}

const until = async (what: () => Promise<boolean> | boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await what()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return false;
};

/**
 * The in-memory history cache (src/server/history-cache.ts) is exact: the server's own writes, other writers
 * (as ingest writes, without naming users, through migration 031's triggers) and other replicas (through the
 * NOTIFY their writes send at their commit) invalidate it.
 */
describeEachEngine('history cache', (t) => {
  const source = new SwitchableSource();
  source.models.set('v1', rankingModel('v1'));
  source.active = 'v1';
  const servers: RecoServer[] = [];
  let db: ReturnType<typeof counting>;
  let a: RecoServer;
  let token: string;
  let alice: number;
  const ask = (s: RecoServer, n = 3) =>
    call(s.url!, 'POST', '/recommendations', { token, json: { user_id: alice, n } });
  const top = async (s: RecoServer) => (await ask(s)).body.recommendations.map((r: any) => r.movie_id);

  beforeAll(async () => {
    await seedCatalogue(t.db);
    db = counting(t.db);
    a = await startTestServer(db, { modelSource: source });
    servers.push(a);
    token = await registerAndLogin(a.url!, `hc-${t.engine}`);
    alice = (await call(a.url!, 'POST', '/recommendations', { token, json: { history: [{ movie_id: 1, rating: 5 }] } }))
      .body.user_id;
  });
  afterAll(async () => {
    for (const s of servers) await s.close();
  });

  it("answers a known user's repeated requests without reading the history again", async () => {
    // The NOTIFY of the server's own write (creating alice) drops her entry once more when it arrives.
    await new Promise((r) => setTimeout(r, 300));
    await ask(a);
    const reads = db.historyReads;
    for (let i = 0; i < 5; i++) expect((await ask(a)).status).toBe(200);
    expect(db.historyReads).toBe(reads);
  });

  it('sees a rating written by another writer (as ingest writes: no users named) once its NOTIFY arrives', async () => {
    expect(await top(a)).toEqual([2, 3, 4]);
    const { rows } = await t.db.query<{ id: number }>(
      'SELECT u.id FROM users u JOIN clients c ON c.id = u.client_id WHERE c.username = $1 AND u.external_id = $2',
      [`hc-${t.engine}`, alice],
    );
    const started = Date.now();
    await t.db.query('INSERT INTO ratings (user_id, movie_id, rating, rated_at) VALUES ($1, 2, 3, now())', [
      rows[0].id,
    ]);
    expect(await until(async () => (await top(a))[0] === 3)).toBe(true);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await top(a)).toEqual([3, 4, 5]);
  });

  it('sees a history stored through another replica', async () => {
    const b = await startTestServer(t.db, { modelSource: source });
    servers.push(b);
    expect(await top(b)).toEqual([3, 4, 5]);
    const stored = await call(a.url!, 'POST', '/recommendations', {
      token,
      json: { user_id: alice, history: [{ movie_id: 3, rating: 4 }], n: 3 },
    });
    expect(stored.body.recommendations.map((r: any) => r.movie_id)).toEqual([4, 5, 6]);
    // This server's own write is seen at once; the other replica's after the NOTIFY.
    expect(await top(a)).toEqual([4, 5, 6]);
    expect(await until(async () => (await top(b))[0] === 4)).toBe(true);
  });

  it('sees feedback stored through another replica: the write notifies at its commit, not the triggers', async () => {
    const b = servers[1];
    expect(await top(b)).toEqual([4, 5, 6]);
    const r = await call(a.url!, 'POST', '/feedback', {
      token,
      json: { events: [{ user_id: alice, movie_id: 4, type: 'dislike' }] },
    });
    expect(r.status).toBe(200);
    expect(await top(a)).toEqual([5, 6, 7]);
    expect(await until(async () => (await top(b))[0] === 5)).toBe(true);
  });

  it("gives a history write's answer the recommendation_id of the same list read next, on any replica", async () => {
    const b = servers[1];
    const written = await call(a.url!, 'POST', '/recommendations', {
      token,
      json: { user_id: alice, history: [{ movie_id: 9, rating: 2 }], n: 3 },
    });
    expect(written.status).toBe(200);
    const here = await ask(a);
    expect(here.body.recommendations).toEqual(written.body.recommendations);
    expect(here.body.recommendation_id).toBe(written.body.recommendation_id);
    expect(await until(async () => (await ask(b)).body.recommendation_id === written.body.recommendation_id)).toBe(
      true,
    );
  });

  describe('the cache itself', () => {
    let cache: HistoryCache;
    let client: number;
    afterEach(() => cache?.stop());

    beforeAll(async () => {
      client = Number((await t.db.query('SELECT id FROM clients WHERE username = $1', [`hc-${t.engine}`])).rows[0].id);
      for (let i = 0; i < 4; i++)
        await call(a.url!, 'POST', '/recommendations', { token, json: { history: [{ movie_id: 10 + i, rating: 4 }] } });
    });
    const internalId = async (ext: string) =>
      Number(
        (await t.db.query('SELECT id FROM users WHERE client_id = $1 AND external_id = $2', [client, ext])).rows[0].id,
      );

    it('drops only the users a writer names', async () => {
      cache = new HistoryCache(t.db, { capacityBytes: 1 << 20 });
      await cache.start();
      expect(cache.active).toBe(true);
      await cache.get(client, '2');
      await cache.get(client, '3');
      expect(cache.size).toBe(2);
      const id = await internalId('2');
      await t.db.transaction(async (tx) => {
        await tx.query(`SELECT set_config('reco.changed_users', $1, true)`, [String(id)]);
        await tx.query('UPDATE ratings SET rating = 5 WHERE user_id = $1', [id]);
      });
      expect(await until(() => cache.size === 1)).toBe(true);
      expect((await cache.get(client, '2'))!.ratings[0]).toBe(5);
    });

    it('does not keep a read that was in flight while an invalidation of its user arrived', async () => {
      cache = new HistoryCache(t.db, { capacityBytes: 1 << 20 });
      await cache.start();
      const reading = cache.get(client, '2');
      cache.invalidateAll();
      expect((await reading)!.movieIds.length).toBe(1);
      expect(cache.size).toBe(0);
      const again = cache.get(client, '2');
      cache.invalidateUser(await internalId('2'));
      await again;
      expect(cache.size).toBe(0);
      // Another user's invalidation does not matter.
      const third = cache.get(client, '2');
      cache.invalidateUser(await internalId('3'));
      await third;
      expect(cache.size).toBe(1);
    });

    /** The most bytes an entry of these users costs (users 2 to 5 have one rating each). */
    const largest = async (...users: string[]) => {
      const probe = new HistoryCache(t.db, { capacityBytes: 1 << 20 });
      const sizes = await Promise.all(users.map(async (u) => entryBytes((await probe.get(client, u))!)));
      await probe.stop();
      return Math.max(...sizes);
    };

    it('counts an entry by its ratings and its fixed cost', async () => {
      const one = await largest('2');
      expect(one).toBeGreaterThanOrEqual(ENTRY_FIXED_BYTES + 8);
      expect((await largest(String(alice))) - one).toBeGreaterThanOrEqual(2 * 8);
    });

    it('holds at most its capacity in bytes, least recently used out first', async () => {
      cache = new HistoryCache(t.db, { capacityBytes: 2 * (await largest('2', '3')) });
      await cache.start();
      await cache.get(client, '2');
      await cache.get(client, '3');
      await cache.get(client, '2');
      await cache.get(client, String(alice)); // three ratings: alone over the capacity, it evicts the others
      expect(cache.size).toBe(1);
      await cache.get(client, '2');
      expect(cache.size).toBe(1);
    });

    it('keeps a user read again over one read less recently when it must evict', async () => {
      // Users 2 to 5 have one rating each: room for three.
      cache = new HistoryCache(t.db, { capacityBytes: 3 * (await largest('2', '3', '4', '5')) });
      await cache.start();
      for (const u of ['2', '3', '4']) await cache.get(client, u);
      expect(cache.peek(client, '2')).toBeDefined();
      await cache.get(client, '5');
      expect(cache.size).toBe(3);
      expect(cache.peek(client, '3')).toBeUndefined();
      expect(cache.peek(client, '2')).toBeDefined();
      expect(cache.peek(client, '4')).toBeDefined();
      // Read many times, an entry stays; the others still leave oldest first.
      for (let i = 0; i < 10; i++) cache.peek(client, '5');
      await cache.get(client, '3');
      expect(cache.peek(client, '2')).toBeUndefined();
      expect(cache.peek(client, '5')).toBeDefined();
    });

    it('empties and bypasses itself when notifications stop arriving, and recovers', async () => {
      const warnings: string[] = [];
      const logger = { warn: (m: unknown) => warnings.push(String(m)), info() {}, error() {} } as any;
      cache = new HistoryCache(t.db, { capacityBytes: 1 << 20, heartbeatMs: 50, logger });
      await cache.start();
      await cache.get(client, '2');
      expect(cache.size).toBe(1);
      // The LISTEN connection goes away without a word (as a dropped TCP connection would).
      await (cache as any).listener.unlisten();
      expect(await until(() => warnings.some((w) => /stopped arriving/.test(w)))).toBe(true);
      expect(cache.size).toBe(0);
      expect(await until(() => cache.active)).toBe(true);
      await cache.get(client, '2');
      expect(cache.size).toBe(1);
    });

    const notifyFrom = (origin: string | null, id: number) =>
      t.db.query('SELECT reco_notify_history($1::bigint[], $2::text)', [[String(id)], origin]);

    it("drops the users of this server's writes when they commit, and ignores its own NOTIFYs", async () => {
      cache = new HistoryCache(t.db, { capacityBytes: 1 << 20 });
      await cache.start();
      const [two, three] = [await internalId('2'), await internalId('3')];
      await cache.get(client, '2');
      await cache.get(client, '3');
      const write = cache.beginWrite(client, ['2']);
      expect(cache.base(write, '2')).toBe(cache.peek(client, '2'));
      cache.endWrite(write, [{ userId: two }]);
      expect(cache.peek(client, '2')).toBeUndefined();
      expect(cache.peek(client, '3')).toBeDefined();
      // Its own writes' NOTIFYs were accounted for by endWrite; another server's drop the user.
      await notifyFrom(cache.origin, three);
      await new Promise((r) => setTimeout(r, 300));
      expect(cache.peek(client, '3')).toBeDefined();
      await notifyFrom('another server', three);
      expect(await until(() => cache.peek(client, '3') === undefined)).toBe(true);
    });

    it("keeps a write's answer only when nothing changed its user since the write was sent", async () => {
      cache = new HistoryCache(t.db, { capacityBytes: 1 << 20 });
      await cache.start();
      const [two, three] = [await internalId('2'), await internalId('3')];
      const answer = { ...(await cache.get(client, '2'))!, fingerprint: 'after the write' };
      cache.invalidateUser(two);
      const first = cache.beginWrite(client, ['2']);
      await notifyFrom(null, two);
      await new Promise((r) => setTimeout(r, 300));
      cache.endWrite(first, [{ userId: two, history: answer }]);
      expect(cache.peek(client, '2')).toBeUndefined();
      // Another user's change does not matter.
      const second = cache.beginWrite(client, ['2']);
      await notifyFrom(null, three);
      await new Promise((r) => setTimeout(r, 300));
      cache.endWrite(second, [{ userId: two, history: answer }]);
      expect(cache.peek(client, '2')).toBe(answer);
      // A write whose outcome is unknown drops its users.
      const lost = cache.beginWrite(client, ['2']);
      cache.endWrite(lost, 'failed');
      expect(cache.peek(client, '2')).toBeUndefined();
    });

    it("gives a write no base while another of this server's writes to the user is in flight", async () => {
      cache = new HistoryCache(t.db, { capacityBytes: 1 << 20 });
      await cache.start();
      const two = await internalId('2');
      const loaded = (await cache.get(client, '2'))!;
      const first = cache.beginWrite(client, ['2']);
      const second = cache.beginWrite(client, ['2', '3']);
      expect(cache.base(first, '2')).toBeUndefined();
      expect(cache.base(second, '2')).toBeUndefined();
      // Neither answer is kept while the other write may change the user under it.
      cache.endWrite(first, [{ userId: two, history: loaded }]);
      expect(cache.peek(client, '2')).toBeUndefined();
      const third = cache.beginWrite(client, ['2']);
      cache.endWrite(second, [{ userId: two, history: loaded }]);
      cache.endWrite(third, []);
      expect(cache.peek(client, '2')).toBeUndefined();
      await cache.get(client, '2');
      const alone = cache.beginWrite(client, ['2']);
      expect(cache.base(alone, '2')).toBeDefined();
      cache.endWrite(alone, []);
    });

    it('is off with a capacity of 0: every read goes to the database', async () => {
      cache = new HistoryCache(t.db, { capacityBytes: 0 });
      await cache.start();
      expect(cache.enabled).toBe(false);
      expect((await cache.get(client, '2'))!.movieIds.length).toBe(1);
      expect(cache.size).toBe(0);
    });
  });
});
