import { EaseRecommender } from '../../src/core/models/ease.js';
import { buildInteractions } from '../../src/core/data/interactions.js';
import { ItemKnnRecommender } from '../../src/core/models/item-knn.js';
import type { Recommender } from '../../src/core/models/types.js';
import type { RecoServer } from '../../src/server/index.js';
import type { LoadedModel } from '../../src/server/model-holder.js';
import { describeEachEngine } from '../helpers/engines.js';
import {
  call,
  MOVIES,
  rankingModel,
  registerAndLogin,
  seedCatalogue,
  startTestServer,
  SwitchableSource,
} from './fixtures.js';

/** Movies 41–52: Horror (every third also Comedy), 2001–2012; movie 53 is new (nobody rated it), Action|Sci-Fi. */
const HORROR = Array.from({ length: 12 }, (_, i) => ({
  id: 41 + i,
  title: `Scary ${i} (${2001 + i})`,
  genres: i % 3 === 0 ? ['Horror', 'Comedy'] : ['Horror'],
  year: 2001 + i,
}));
const NEW_MOVIE = { id: 53, title: 'Brand New (2026)', genres: ['Action', 'Sci-Fi'], year: 2026 };
const GENRES_OF = new Map<number, string[]>([...MOVIES, ...HORROR, NEW_MOVIE].map((m) => [m.id, m.genres]));

/** Two taste groups: users 1–15 rate movies 1, 5, 9, 13 (and some of 17); users 16–30 rate 2, 6, 10, 14. */
function groupInteractions() {
  const u: number[] = [];
  const m: number[] = [];
  for (let user = 1; user <= 30; user++) {
    const group = user <= 15 ? [1, 5, 9, 13] : [2, 6, 10, 14];
    for (const movie of group)
      if (!(movie === 13 && user % 3 === 0)) {
        u.push(user);
        m.push(movie);
      }
    if (user <= 5) {
      u.push(user);
      m.push(17);
    }
  }
  return buildInteractions({
    userIds: Float64Array.from(u),
    movieIds: Int32Array.from(m),
    ratings: new Float32Array(u.length).fill(4),
  });
}

function loaded(version: string, model: Recommender): LoadedModel {
  return { version, algorithm: model.algorithm, model, metrics: {}, createdAt: new Date(), activatedAt: new Date() };
}

/** The platform API over real HTTP on both engines: own user ids, feedback, similar movies, filters. */
describeEachEngine('the platform API', (t) => {
  let server: RecoServer;
  let base: string;
  let tokenA: string;
  let tokenB: string;
  const source = new SwitchableSource();
  const use = async (version: string) => {
    source.active = version;
    await server.models.refresh();
    expect(server.models.current?.version).toBe(version);
  };
  const recommend = (token: string, json: unknown) => call(base, 'POST', '/recommendations', { token, json });
  const feedback = (token: string, events: unknown[]) => call(base, 'POST', '/feedback', { token, json: { events } });
  const ids = (r: { body: any }): number[] => (r.body.recommendations ?? r.body.similar).map((x: any) => x.movie_id);
  const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

  beforeAll(async () => {
    await seedCatalogue(t.db);
    for (const m of [...HORROR, NEW_MOVIE])
      await t.db.query('INSERT INTO movies (movie_id, title, genres, year) VALUES ($1, $2, $3, $4)', [
        m.id,
        m.title,
        m.genres,
        m.year,
      ]);
    // Horror first, then 1..40, then the new movie.
    source.models.set(
      'rank',
      rankingModel('rank', [...HORROR.map((h) => h.id), ...MOVIES.map((m) => m.id), NEW_MOVIE.id]),
    );
    const knn = new ItemKnnRecommender({ shrink: 0 });
    await knn.fit(groupInteractions());
    source.models.set('knn', loaded('knn', knn));
    const ease = new EaseRecommender({ lambda: 1, minRatings: 1 });
    await ease.fit(groupInteractions());
    source.models.set('ease', loaded('ease', ease));
    source.active = 'rank';
    server = await startTestServer(t.db, { modelSource: source });
    base = server.url!;
    tokenA = await registerAndLogin(base, `pa-a-${t.engine}`);
    tokenB = await registerAndLogin(base, `pa-b-${t.engine}`);
  });
  afterAll(() => server?.close());

  describe('your own user ids', () => {
    it('creates a string id on its first write, answers it as a string, and reads it back', async () => {
      const first = await recommend(tokenA, {
        user_id: 'acct:42@tv.example',
        history: [{ movie_id: 41, rating: 5 }],
        n: 3,
      });
      expect(first.status).toBe(200);
      expect(first.body).toMatchObject({ user_id: 'acct:42@tv.example', created: true });
      const again = await recommend(tokenA, { user_id: 'acct:42@tv.example', n: 3 });
      expect(again.body).toMatchObject({ user_id: 'acct:42@tv.example', created: false });
      expect(ids(again)).toEqual([42, 43, 44]);
      const stored = await t.db.query(
        `SELECT u.external_id, u.rating_count FROM users u JOIN clients c ON c.id = u.client_id WHERE c.username = $1 AND u.external_id = $2`,
        [`pa-a-${t.engine}`, 'acct:42@tv.example'],
      );
      expect(stored.rows).toEqual([{ external_id: 'acct:42@tv.example', rating_count: 1 }]);
    });

    it('treats an integer and its decimal string as one user, answered as a number; "007" is another id', async () => {
      const made = await recommend(tokenA, { user_id: 7, history: [{ movie_id: 41 }], n: 2 });
      expect(made.body).toMatchObject({ user_id: 7, created: true });
      const asString = await recommend(tokenA, { user_id: '7', n: 2 });
      expect(asString.body).toMatchObject({ user_id: 7, created: false });
      expect(ids(asString)).toEqual([42, 43]);
      const padded = await recommend(tokenA, { user_id: '007', n: 2 });
      expect(padded.status).toBe(404);
      expect(padded.body).toEqual({ error: 'not_found', message: 'user 007 not found' });
    });

    it('generates the next integer id for a history without user_id, whatever string ids exist', async () => {
      const gen = await recommend(tokenA, { history: [{ movie_id: 1 }] });
      expect(gen.body).toMatchObject({ user_id: 8, created: true });
    });

    it("isolates clients: another client's string id reads as unknown, and a write creates that client's own user", async () => {
      const other = await recommend(tokenB, { user_id: 'acct:42@tv.example' });
      const unknown = await recommend(tokenB, { user_id: 'never-seen' });
      expect([other.status, unknown.status]).toEqual([404, 404]);
      expect(other.body).toEqual({ error: 'not_found', message: 'user acct:42@tv.example not found' });
      expect(unknown.body).toEqual({ error: 'not_found', message: 'user never-seen not found' });
      const own = await recommend(tokenB, { user_id: 'acct:42@tv.example', history: [{ movie_id: 2 }], n: 2 });
      expect(own.body).toMatchObject({ user_id: 'acct:42@tv.example', created: true });
      // Client A's user of the same id still has only its own rating.
      const a = await recommend(tokenA, { user_id: 'acct:42@tv.example', n: 2 });
      expect(ids(a)).toEqual([42, 43]);
    });
  });

  describe('POST /feedback', () => {
    it('stores the valid events and rejects each invalid one with its index and reason', async () => {
      const r = await feedback(tokenA, [
        { user_id: 'fb-1', movie_id: 3, type: 'rating', rating: 4.5, timestamp: 1_700_000_000 },
        { user_id: 'fb-1', movie_id: 4, type: 'view' },
        { user_id: 'fb-1', movie_id: 5, type: 'rating' },
        { user_id: 'fb-1', movie_id: 6, type: 'like', rating: 4 },
        { user_id: 'fb 1', movie_id: 6, type: 'like' },
        { user_id: 'fb-1', movie_id: 99_999, type: 'view' },
        { user_id: 'fb-1', movie_id: 7, type: 'watched' },
        { user_id: 'fb-1', movie_id: 8, type: 'rating', rating: 3.3 },
        { user_id: 'fb-1', movie_id: 9, type: 'skip', timestamp: 'yesterday' },
        { user_id: 'fb-1', movie_id: 10, type: 'dislike', recommendation_id: 'made-up' },
        { user_id: 'fb-1', movie_id: 11, type: 'like', extra: 1 },
        'not an event',
        { user_id: 'fb-1', movie_id: 41, type: 'dislike', timestamp: '2026-01-02T03:04:05Z' },
      ]);
      expect(r.status).toBe(200);
      expect(r.body.accepted).toBe(3);
      expect(r.body.duplicates).toBe(0);
      expect(r.body.rejected.map((x: any) => x.index)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
      const reason = (i: number) => r.body.rejected.find((x: any) => x.index === i).reason;
      expect(reason(2)).toMatch(/^rating: a rating event needs a rating/);
      expect(reason(3)).toMatch(/^rating: a like event has no rating/);
      expect(reason(4)).toMatch(/^user_id: /);
      expect(reason(5)).toBe('movie_id: 99999 is not in the catalogue');
      expect(reason(6)).toMatch(/^type: /);
      expect(reason(7)).toMatch(/^rating: /);
      expect(reason(8)).toMatch(/^timestamp: /);
      expect(reason(9)).toBe('recommendation_id: not an id this API gave you');
      expect(reason(10)).toMatch(/extra/);
      expect(reason(11)).toMatch(/^event: /);
      // Durable before the answer: the rows are there.
      const events = await t.db.query(
        `SELECT f.movie_id, f.type, f.rating, extract(epoch FROM f.occurred_at)::bigint AS at FROM feedback_events f JOIN users u ON u.id = f.user_id WHERE u.external_id = 'fb-1' ORDER BY f.movie_id`,
      );
      expect(events.rows.map((e: any) => [e.movie_id, e.type, e.rating])).toEqual([
        [3, 'rating', 4.5],
        [4, 'view', null],
        [41, 'dislike', null],
      ]);
      expect(Number(events.rows[0].at)).toBe(1_700_000_000);
      expect(Number(events.rows[2].at)).toBe(Date.parse('2026-01-02T03:04:05Z') / 1000);
      const ratings = await t.db.query(
        `SELECT r.movie_id, r.rating FROM ratings r JOIN users u ON u.id = r.user_id WHERE u.external_id = 'fb-1' ORDER BY r.movie_id`,
      );
      expect(ratings.rows).toEqual([
        { movie_id: 3, rating: 4.5 },
        { movie_id: 4, rating: 4 },
      ]);
      const profile = await t.db.query(`SELECT rating_count, characteristic FROM users WHERE external_id = 'fb-1'`);
      expect(profile.rows[0].rating_count).toBe(2);
      expect(profile.rows[0].characteristic).toHaveLength(19);
    });

    it('is idempotent: the same events again are duplicates and change nothing', async () => {
      const events = [
        { user_id: 'fb-2', movie_id: 3, type: 'rating', rating: 2, timestamp: 1_700_000_100 },
        { user_id: 'fb-2', movie_id: 42, type: 'skip', timestamp: 1_700_000_100 },
        { user_id: 'fb-2', movie_id: 42, type: 'skip', timestamp: 1_700_000_100 },
      ];
      const first = await feedback(tokenA, events);
      expect(first.body).toEqual({ accepted: 3, duplicates: 1, rejected: [] });
      const count = async () =>
        (
          await t.db.query(
            `SELECT count(*)::int AS n FROM feedback_events f JOIN users u ON u.id = f.user_id WHERE u.external_id = 'fb-2'`,
          )
        ).rows[0].n;
      expect(await count()).toBe(2);
      const second = await feedback(tokenA, events);
      expect(second.body).toEqual({ accepted: 3, duplicates: 3, rejected: [] });
      expect(await count()).toBe(2);
    });

    it('makes ratings, views and likes history, and dislikes and skips exclusions, in the next /recommendations', async () => {
      await recommend(tokenA, { user_id: 'fb-3', history: [{ movie_id: 1 }] });
      const before = await recommend(tokenA, { user_id: 'fb-3', n: 5 });
      expect(ids(before)).toEqual([41, 42, 43, 44, 45]);
      const again = await recommend(tokenA, { user_id: 'fb-3', n: 5 });
      expect(again.body).toEqual(before.body); // cached
      const r = await feedback(tokenA, [
        { user_id: 'fb-3', movie_id: 41, type: 'dislike' },
        { user_id: 'fb-3', movie_id: 42, type: 'skip', recommendation_id: before.body.recommendation_id },
        { user_id: 'fb-3', movie_id: 43, type: 'view' },
        { user_id: 'fb-3', movie_id: 44, type: 'like' },
        { user_id: 'fb-3', movie_id: 45, type: 'rating', rating: 1 },
      ]);
      expect(r.body).toEqual({ accepted: 5, duplicates: 0, rejected: [] });
      const after = await recommend(tokenA, { user_id: 'fb-3', n: 5 });
      expect(ids(after)).toEqual([46, 47, 48, 49, 50]);
      expect(after.body.recommendation_id).not.toBe(before.body.recommendation_id);
      // Dislikes and skips do not count as a positive: not in the history, not in the profile.
      const h = await t.db.query(
        `SELECT r.movie_id, r.rating FROM ratings r JOIN users u ON u.id = r.user_id WHERE u.external_id = 'fb-3' ORDER BY r.movie_id`,
      );
      expect(h.rows).toEqual([
        { movie_id: 1, rating: 4 },
        { movie_id: 43, rating: 4 },
        { movie_id: 44, rating: 4 },
        { movie_id: 45, rating: 1 },
      ]);
      const stored = await t.db.query(
        `SELECT f.recommendation_id FROM feedback_events f JOIN users u ON u.id = f.user_id WHERE u.external_id = 'fb-3' AND f.movie_id = 42`,
      );
      expect(stored.rows[0].recommendation_id).toBe(before.body.recommendation_id);
    });

    it('never lets a view overwrite a stated rating, nor an older rating a newer one', async () => {
      await feedback(tokenA, [{ user_id: 'fb-4', movie_id: 3, type: 'rating', rating: 1.5, timestamp: 1_700_000_500 }]);
      await feedback(tokenA, [
        { user_id: 'fb-4', movie_id: 3, type: 'view', timestamp: 1_700_000_600 },
        { user_id: 'fb-4', movie_id: 3, type: 'rating', rating: 5, timestamp: 1_700_000_400 },
      ]);
      const r = await t.db.query(
        `SELECT r.rating FROM ratings r JOIN users u ON u.id = r.user_id WHERE u.external_id = 'fb-4'`,
      );
      expect(r.rows).toEqual([{ rating: 1.5 }]);
      await feedback(tokenA, [{ user_id: 'fb-4', movie_id: 3, type: 'rating', rating: 3, timestamp: 1_700_000_700 }]);
      const later = await t.db.query(
        `SELECT r.rating FROM ratings r JOIN users u ON u.id = r.user_id WHERE u.external_id = 'fb-4'`,
      );
      expect(later.rows).toEqual([{ rating: 3 }]);
    });

    it("isolates clients: another client's user id or recommendation_id behaves exactly like an unknown one", async () => {
      await recommend(tokenA, { user_id: 'shared', history: [{ movie_id: 1 }] });
      const bList = await recommend(tokenB, { user_id: 'b-user', history: [{ movie_id: 2 }], n: 3 });
      const foreign = await feedback(tokenA, [
        { user_id: 'shared', movie_id: 41, type: 'dislike', recommendation_id: bList.body.recommendation_id },
      ]);
      const madeUp = await feedback(tokenA, [
        {
          user_id: 'shared',
          movie_id: 41,
          type: 'dislike',
          recommendation_id: bList.body.recommendation_id.replace(/^\d+/, '999'),
        },
      ]);
      expect(foreign.body).toEqual({
        accepted: 0,
        duplicates: 0,
        rejected: [{ index: 0, reason: 'recommendation_id: not an id this API gave you' }],
      });
      expect(madeUp.body).toEqual(foreign.body);
      // B's feedback for its own "shared" creates B's user and leaves A's alone.
      const b = await feedback(tokenB, [{ user_id: 'shared', movie_id: 41, type: 'dislike' }]);
      expect(b.body.accepted).toBe(1);
      const a = await recommend(tokenA, { user_id: 'shared', n: 1 });
      expect(ids(a)).toEqual([41]);
      const bShared = await recommend(tokenB, { user_id: 'shared', n: 1 });
      expect(ids(bShared)).toEqual([42]);
    });

    it("deletes a user's events and exclusions with the user", async () => {
      const count = async (table: string) =>
        (
          await t.db.query(
            `SELECT count(*)::int AS n FROM ${table} x JOIN users u ON u.id = x.user_id WHERE u.external_id = 'fb-3'`,
          )
        ).rows[0].n;
      const id = (await t.db.query(`SELECT id FROM users WHERE external_id = 'fb-3'`)).rows[0].id;
      expect(await count('feedback_events')).toBe(5);
      expect(await count('user_exclusions')).toBe(2);
      await t.db.query('DELETE FROM users WHERE id = $1', [id]);
      const left = await t.db.query(
        'SELECT (SELECT count(*) FROM feedback_events WHERE user_id = $1)::int AS e, (SELECT count(*) FROM user_exclusions WHERE user_id = $1)::int AS x',
        [id],
      );
      expect(left.rows[0]).toEqual({ e: 0, x: 0 });
    });

    it.each([
      ['no events', {}, /^events: /],
      ['an empty list', { events: [] }, /^events: /],
      [
        '1,001 events',
        { events: Array.from({ length: 1001 }, () => ({ user_id: 'x', movie_id: 1, type: 'view' })) },
        /^events: /,
      ],
      ['events not a list', { events: {} }, /^events: /],
      ['an unknown field', { events: [{ user_id: 'x', movie_id: 1, type: 'view' }], admin: true }, /admin/],
    ])('refuses an envelope with %s: 422', async (_label, json, message) => {
      const r = await call(base, 'POST', '/feedback', { token: tokenA, json });
      expect(r.status).toBe(422);
      expect(r.body.message).toMatch(message);
    });

    it('needs a token, and stores nothing when a movie left the catalogue meanwhile (one transaction)', async () => {
      expect(
        (await call(base, 'POST', '/feedback', { json: { events: [{ user_id: 'x', movie_id: 1, type: 'view' }] } }))
          .status,
      ).toBe(401);
      await t.db.query('DELETE FROM movies WHERE movie_id = 40');
      const users = async () => (await t.db.query(`SELECT count(*)::int AS n FROM users`)).rows[0].n;
      const before = await users();
      const r = await feedback(tokenA, [
        { user_id: 'fb-5', movie_id: 39, type: 'view' },
        { user_id: 'fb-5', movie_id: 40, type: 'like' },
      ]);
      expect(r.status).toBe(422);
      expect(r.body.message).toMatch(/nothing was stored/);
      expect(await users()).toBe(before);
      await t.db.query(
        `INSERT INTO movies (movie_id, title, genres, year) VALUES (40, 'Movie 40 (2019)', '{Animation,Children,Comedy}', 2019)`,
      );
    });
  });

  describe('filters', () => {
    it('never returns Horror with genres_none ["Horror"], and still returns n', async () => {
      await recommend(tokenA, { user_id: 'kid', history: [{ movie_id: 4 }] });
      const r = await recommend(tokenA, { user_id: 'kid', n: 10, filter: { genres_none: ['Horror'] } });
      expect(r.status).toBe(200);
      expect(r.body.recommendations).toHaveLength(10);
      expect(r.body.recommendations.every((m: any) => !m.genres.includes('Horror'))).toBe(true);
      expect(ids(r)).toEqual([1, 2, 3, 5, 6, 7, 8, 9, 10, 11]);
      // The same without the filter is all Horror (the ranking puts it first).
      const plain = await recommend(tokenA, { user_id: 'kid', n: 10 });
      expect(plain.body.recommendations.every((m: any) => m.genres.includes('Horror'))).toBe(true);
    });

    it('applies genres_any, years and exclude_movie_ids, also on a new history', async () => {
      const any = await recommend(tokenA, {
        history: [{ movie_id: 1 }],
        n: 4,
        filter: { genres_any: ['Comedy'], exclude_movie_ids: [41] },
      });
      expect(ids(any)).toEqual([44, 47, 50, 2]);
      const years = await recommend(tokenA, { user_id: 'kid', n: 3, filter: { year_min: 2005, year_max: 2006 } });
      expect(ids(years)).toEqual([45, 46, 26]);
      expect(years.body.recommendations.every((m: any) => GENRES_OF.has(m.movie_id))).toBe(true);
    });

    it.each([
      [
        'an unknown genre',
        { genres_none: ['Horrror'] },
        /^filter\.genres_none: unknown genre "Horrror"; known genres: Action, Adventure, .*Horror/,
      ],
      ['one unknown genre of two', { genres_any: ['Comedy', 'Sitcom'] }, /^filter\.genres_any: unknown genre "Sitcom"/],
      ['an empty year range', { year_min: 2010, year_max: 2000 }, /year_min \(2010\) is after year_max \(2000\)/],
      [
        '1,001 excluded movies',
        { exclude_movie_ids: Array.from({ length: 1001 }, (_, i) => i + 1) },
        /^filter\.exclude_movie_ids: /,
      ],
      ['a year that is not a number', { year_min: 'new' }, /^filter\.year_min: /],
      ['an unknown field', { genre: 'Comedy' }, /genre/],
    ])('refuses a filter with %s: 422', async (_label, filter, message) => {
      const r = await recommend(tokenA, { user_id: 'kid', filter });
      expect(r.status).toBe(422);
      expect(r.body.message).toMatch(message);
    });

    it('stores nothing when the filter is refused', async () => {
      const r = await recommend(tokenA, {
        user_id: 'filter-fail',
        history: [{ movie_id: 1 }],
        filter: { genres_any: ['Nope'] },
      });
      expect(r.status).toBe(422);
      expect((await recommend(tokenA, { user_id: 'filter-fail' })).status).toBe(404);
    });
  });

  describe('GET /movies/{movie_id}/similar', () => {
    const similar = (path: string, token = tokenA) => call(base, 'GET', path, { token });

    it("answers from item-kNN's neighbours: the movie's own group, best first", async () => {
      await use('knn');
      const r = await similar('/movies/1/similar?n=4');
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ movie_id: 1, basis: 'model', model: { algorithm: 'item-knn', version: 'knn' } });
      expect(sorted(ids(r).slice(0, 3))).toEqual([5, 9, 13]);
      expect(ids(r)).toContain(17);
      expect(ids(r)).not.toContain(1);
      const scores = r.body.similar.map((m: any) => m.score);
      expect(scores).toEqual([...scores].sort((a: number, b: number) => b - a));
      expect(r.body.similar[0]).toEqual({
        movie_id: expect.any(Number),
        title: expect.any(String),
        genres: expect.any(Array),
        score: expect.any(Number),
      });
    });

    it("answers from EASE's weights, with the filters applied before n is cut", async () => {
      await use('ease');
      const r = await similar('/movies/2/similar?n=3');
      expect(r.body.basis).toBe('model');
      expect(sorted(ids(r))).toEqual([6, 10, 14]);
      const filtered = await similar('/movies/2/similar?n=3&exclude_movie_ids=6,10');
      expect(ids(filtered)).toEqual([14]);
      const action = await similar('/movies/1/similar?n=5&genres_any=Action');
      expect(ids(action)).toEqual(expect.arrayContaining([5, 9]));
      expect(ids(action).every((id) => [5, 9, 13, 17].includes(id))).toBe(true);
      const none = await similar('/movies/1/similar?n=5&genres_none=Action,Sci-Fi');
      expect(none.body).toMatchObject({ basis: 'model', similar: [] });
    });

    it('falls back to shared genres for a model without item weights, reaching movies nobody rated', async () => {
      await use('rank');
      const r = await similar('/movies/5/similar?n=10');
      expect(r.body).toMatchObject({ movie_id: 5, basis: 'genres', model: { version: 'rank' } });
      expect(sorted(ids(r))).toEqual([1, 9, 13, 17, 21, 25, 29, 33, 37, 53]);
      expect(r.body.similar.every((m: any) => m.genres.includes('Action'))).toBe(true);
      const filtered = await similar('/movies/41/similar?n=20&genres_none=Comedy&year_max=2010');
      expect(sorted(ids(filtered))).toEqual([42, 43, 45, 46, 48, 49]);
    });

    it('is a 404 for an unknown movie and a 422 for bad parameters; it needs a token', async () => {
      expect(await similar('/movies/999999/similar')).toMatchObject({
        status: 404,
        body: { error: 'not_found', message: 'movie 999999 not found' },
      });
      for (const [path, message] of [
        ['/movies/abc/similar', /^movie_id: /],
        ['/movies/0/similar', /^movie_id: /],
        ['/movies/1/similar?n=0', /^n: /],
        ['/movies/1/similar?n=101', /^n: /],
        ['/movies/1/similar?genres_any=Cartoons', /unknown genre "Cartoons"; known genres: /],
        ['/movies/1/similar?colour=red', /colour/],
        ['/movies/1/similar?exclude_movie_ids=1,x', /^exclude_movie_ids/],
      ] as const) {
        const r = await similar(path);
        expect({ path, status: r.status }).toEqual({ path, status: 422 });
        expect(r.body.message).toMatch(message);
      }
      expect((await call(base, 'GET', '/movies/1/similar')).status).toBe(401);
    });

    it('counts requests under the route template', async () => {
      const text = (await call(base, 'GET', '/metrics')).body as string;
      expect(text).toMatch(
        /http_requests_total\{method="GET",route="\/movies\/:movie_id\/similar",status_code="200"\} \d+/,
      );
      expect(text).toMatch(/http_requests_total\{method="POST",route="\/feedback",status_code="200"\} \d+/);
      const feedbackCount = (type: string, outcome: string) =>
        Number(
          text.match(new RegExp(`reco_feedback_events_total\\{type="${type}",outcome="${outcome}"\\} (\\d+)`))?.[1] ??
            0,
        );
      // From the tests above: fb-2's batch twice (a rating and two identical skips), the rejected events of fb-1.
      expect(feedbackCount('skip', 'duplicate')).toBeGreaterThanOrEqual(3);
      expect(feedbackCount('rating', 'stored')).toBeGreaterThanOrEqual(4);
      expect(feedbackCount('rating', 'rejected')).toBeGreaterThanOrEqual(2);
      expect(feedbackCount('unknown', 'rejected')).toBeGreaterThanOrEqual(2);
    });
  });

  describe('explanations', () => {
    it('names the history movies that added the most to each score, for item-kNN and EASE', async () => {
      for (const version of ['knn', 'ease']) {
        await use(version);
        const r = await recommend(tokenA, {
          user_id: `why-${version}`,
          history: [
            { movie_id: 1, rating: 5 },
            { movie_id: 2, rating: 3 },
          ],
          n: 4,
          explain: true,
        });
        expect(r.status).toBe(200);
        for (const m of r.body.recommendations) {
          expect(m.because.length).toBeGreaterThan(0);
          expect(m.because.length).toBeLessThanOrEqual(3);
          for (const b of m.because) expect([1, 2]).toContain(b.movie_id);
          const weights = m.because.map((b: any) => b.weight);
          expect(weights).toEqual([...weights].sort((a: number, b: number) => b - a));
          // Each movie is explained by the history movie of its own taste group.
          expect(m.because[0].movie_id).toBe([5, 9, 13, 17].includes(m.movie_id) ? 1 : 2);
        }
        expect(r.body.recommendations[0].because[0].title).toMatch(
          /^(Toy Story \(1995\)|Star Wars: Episode IV - A New Hope \(1977\))$/,
        );
      }
      await use('knn');
      const knnAgain = await recommend(tokenA, { user_id: 'why-knn', n: 4, explain: true });
      const five = knnAgain.body.recommendations.find((m: any) => m.movie_id === 5);
      // The weight is the model's own item–item weight, the one /similar ranks by.
      const like1 = await call(base, 'GET', '/movies/1/similar?n=10', { token: tokenA });
      const weight = like1.body.similar.find((m: any) => m.movie_id === 5).score;
      expect(five.because).toEqual([{ movie_id: 1, title: 'Toy Story (1995)', weight: expect.closeTo(weight, 9) }]);
      expect(five.score).toBeCloseTo(weight, 4);
      const plain = await recommend(tokenA, { user_id: 'why-knn', n: 4 });
      expect(plain.body.recommendations.map((m: any) => Object.keys(m).sort())).toEqual(
        Array(4).fill(['genres', 'movie_id', 'score', 'title']),
      );
      expect(plain.body.recommendations.map((m: any) => m.movie_id)).toEqual(
        knnAgain.body.recommendations.map((m: any) => m.movie_id),
      );
    });

    it('answers a known user asking again with explain from memory, equal to a fresh computation, and follows history changes', async () => {
      // The EASE model with its explain calls counted (the real method, called through).
      const model = new EaseRecommender({ lambda: 1, minRatings: 1 });
      await model.fit(groupInteractions());
      let explainCalls = 0;
      const explain = model.explain.bind(model);
      model.explain = (...args) => (explainCalls++, explain(...args));
      source.models.set('ease-counted', loaded('ease-counted', model));
      await use('ease-counted');
      const ask = (where: string, explain: boolean) =>
        call(where, 'POST', '/recommendations', {
          token: tokenA,
          json: { user_id: 'why-again', n: 4, ...(explain ? { explain } : {}) },
        });
      // The reference: a new server without a recommendation cache, where the answer is scored and explained afresh.
      const reference = async () => {
        const fresh = await startTestServer(t.db, { modelSource: source, recommendationCacheSize: 0 });
        try {
          await fresh.models.refresh();
          return await ask(fresh.url!, true);
        } finally {
          await fresh.close();
        }
      };
      const created = await recommend(tokenA, {
        user_id: 'why-again',
        history: [
          { movie_id: 1, rating: 5 },
          { movie_id: 6, rating: 4 },
        ],
        n: 4,
      });
      expect(created.status).toBe(200);
      const first = await ask(base, true);
      expect(explainCalls).toBe(1);
      const plain = await ask(base, false);
      const again = await ask(base, true);
      const third = await ask(base, true);
      expect(explainCalls).toBe(1);
      const expected = await reference();
      expect(explainCalls).toBe(2);
      for (const r of [again, third]) expect(r.body).toEqual(first.body);
      expect(first.body).toEqual(expected.body);
      expect(first.body.recommendations.every((m: any) => m.because.length > 0)).toBe(true);
      expect(plain.body.recommendations).toEqual(first.body.recommendations.map(({ because: _, ...m }: any) => m));
      expect(plain.body.recommendation_id).not.toBe(first.body.recommendation_id);

      // A new rating changes the history: explained again, still equal to the fresh computation.
      expect(
        (await feedback(tokenA, [{ user_id: 'why-again', movie_id: 5, type: 'rating', rating: 5 }])).body.accepted,
      ).toBe(1);
      const after = await ask(base, true);
      expect(explainCalls).toBe(3);
      expect(after.body).not.toEqual(first.body);
      expect(after.body).toEqual((await reference()).body);
      expect(after.body.recommendations.some((m: any) => m.because.some((b: any) => b.movie_id === 5))).toBe(true);
    });

    it('gives a reason for models without item weights, and refuses a non-boolean explain', async () => {
      await use('rank');
      const r = await recommend(tokenA, { user_id: 'why-knn', n: 2, explain: true });
      expect(r.body.recommendations.map((m: any) => m.reason)).toEqual([
        'popular with viewers of Action and Sci-Fi',
        'popular with viewers of Action and Sci-Fi',
      ]);
      expect(r.body.recommendations[0].because).toBeUndefined();
      const bad = await recommend(tokenA, { user_id: 'why-knn', explain: 'yes' });
      expect(bad.status).toBe(422);
      expect(bad.body.message).toMatch(/^explain: /);
    });
  });

  describe('cold start from stated tastes', () => {
    const share = (list: any[], genre: string) =>
      list.filter((m) => (GENRES_OF.get(m.movie_id ?? m) ?? []).includes(genre)).length / list.length;

    it('ranks liked genres up and disliked ones down against the plain list, stores the tastes and uses them until the first rating', async () => {
      await use('rank');
      // The plain list for an empty history: the ranking's first ten, Horror first.
      const plain = [41, 42, 43, 44, 45, 46, 47, 48, 49, 50];
      const r = await recommend(tokenA, { user_id: 'cold-1', genres: { Comedy: 1, Horror: -1 }, n: 10 });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ user_id: 'cold-1', created: true });
      expect(share(r.body.recommendations, 'Comedy')).toBeGreaterThan(share(plain, 'Comedy'));
      expect(share(r.body.recommendations, 'Horror')).toBeLessThan(share(plain, 'Horror'));
      expect(r.body.recommendations.some((m: any) => m.genres.length === 1 && m.genres[0] === 'Horror')).toBe(false);
      const stored = await t.db.query(`SELECT characteristic, rating_count FROM users WHERE external_id = 'cold-1'`);
      expect(stored.rows[0].rating_count).toBe(0);
      expect(stored.rows[0].characteristic[4]).toBe(1); // Comedy
      expect(stored.rows[0].characteristic[10]).toBe(-1); // Horror
      // A plain read answers from the stored tastes, the same list.
      const again = await recommend(tokenA, { user_id: 'cold-1', n: 10 });
      expect(ids(again)).toEqual(ids(r));
      // After a rating, the model's own answer for the history.
      await feedback(tokenA, [{ user_id: 'cold-1', movie_id: 53, type: 'rating', rating: 4 }]);
      const rated = await recommend(tokenA, { user_id: 'cold-1', n: 3 });
      expect(ids(rated)).toEqual([41, 42, 43]);
    });

    it('creates a user without user_id, and refuses unknown genres, weights out of range and genres with a history', async () => {
      const gen = await recommend(tokenA, { genres: { Drama: 0.5 }, n: 2 });
      expect(gen.status).toBe(200);
      expect(gen.body.created).toBe(true);
      expect(typeof gen.body.user_id).toBe('number');
      const unknown = await recommend(tokenA, { user_id: 'cold-2', genres: { Cartoons: 1 } });
      expect(unknown.status).toBe(422);
      expect(unknown.body.message).toMatch(/^genres: unknown genre "Cartoons"; known genres: Action, /);
      const range = await recommend(tokenA, { user_id: 'cold-2', genres: { Comedy: 2 } });
      expect(range.status).toBe(422);
      expect(range.body.message).toMatch(/^genres\.Comedy: /);
      const both = await recommend(tokenA, { user_id: 'cold-2', genres: { Comedy: 1 }, history: [{ movie_id: 1 }] });
      expect(both.status).toBe(422);
      expect((await recommend(tokenA, { user_id: 'cold-2' })).status).toBe(404);
      // Another client's cold user reads as unknown.
      const other = await recommend(tokenB, { user_id: 'cold-1' });
      expect(other.body).toEqual({ error: 'not_found', message: 'user cold-1 not found' });
    });
  });
});
