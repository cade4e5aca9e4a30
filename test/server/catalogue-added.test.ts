import type { RecoServer } from '../../src/server/index.js';
import { describeEachEngine } from '../helpers/engines.js';
import {
  MOVIES,
  SwitchableSource,
  builds,
  call,
  rankingModel,
  registerAndLogin,
  seedCatalogue,
  startTestServer,
} from './fixtures.js';

/** reco_recommendation_cache_hits_total of the test model. */
async function cacheHits(url: string): Promise<number> {
  const text = (await call(url, 'GET', '/metrics')).body as string;
  return Number(/^reco_recommendation_cache_hits_total\{[^}]*version="v1"\} (\d+)/m.exec(text)?.[1] ?? 0);
}

/** Ranked first by the model: answers leave it out while the database does not have it. */
const NEW_MOVIE = 41;
/** Unknown to the model: no answer asked for it. */
const UNRANKED_MOVIE = 42;

/**
 * Movies ingested after the catalogue was loaded, found by a lookup (CatalogueCache.lookup, here through
 * POST /feedback): they join the catalogue without a new generation, so the filter sets and genre lists the
 * warm-up built stay, and the filters and /similar answer with them in. A kept answer stays unless it left out
 * the added movie (its model ranked it while the database did not have it): that one is made again.
 */
describeEachEngine('a movie added to the catalogue by a lookup', (t) => {
  let server: RecoServer;
  let token: string;

  beforeAll(async () => {
    await seedCatalogue(t.db);
    const source = new SwitchableSource();
    // The model ranks the new movie first: it is left out while the database does not have it.
    source.models.set('v1', rankingModel('v1', [NEW_MOVIE, ...MOVIES.map((m) => m.id)]));
    source.active = 'v1';
    server = await startTestServer(t.db, { modelSource: source });
    token = await registerAndLogin(server.url!, `added-${t.engine}`);
  });
  afterAll(async () => {
    await server?.close();
  });

  const recommend = (json: object) => call(server.url!, 'POST', '/recommendations', { token, json });
  const similarIds = async (query: string) => {
    const r = await call(server.url!, 'GET', `/movies/4/similar?${query}`, { token });
    expect(r.status).toBe(200);
    expect(r.body.basis).toBe('genres');
    return r.body.similar.map((m: { movie_id: number }) => m.movie_id);
  };

  it('keeps the memos and the answers that did not leave the movie out, and answers with it in', async () => {
    const noComedy = { user_id: `keeper-${t.engine}`, n: 5, filter: { genres_none: ['Comedy'] } };
    expect((await recommend({ ...noComedy, history: [{ movie_id: 1, rating: 5 }] })).status).toBe(200);
    const kept = await recommend(noComedy);
    expect(kept.status).toBe(200);
    expect(await similarIds('n=50')).not.toContain(UNRANKED_MOVIE);
    // A filter that is not one genre's: its set is built on first use, here before the movie comes.
    expect((await recommend({ history: [{ movie_id: 2 }], filter: { year_max: 2020 } })).status).toBe(200);
    const before = builds();
    const hits = await cacheHits(server.url!);

    const insert = (id: number) =>
      t.db.query('INSERT INTO movies (movie_id, title, genres, year) VALUES ($1, $2, $3, $4)', [
        id,
        `New Comedy ${id} (2026)`,
        ['Comedy'],
        2026,
      ]);
    const like = async (id: number) => {
      const feedback = await call(server.url!, 'POST', '/feedback', {
        token,
        json: { events: [{ user_id: `fan-${t.engine}`, movie_id: id, type: 'like' }] },
      });
      expect(feedback.body).toEqual({ accepted: 1, duplicates: 0, rejected: [] });
    };

    // A movie no answer asked for: the kept answer is served again.
    await insert(UNRANKED_MOVIE);
    await like(UNRANKED_MOVIE);
    expect(await recommend(noComedy)).toMatchObject({ status: 200, body: kept.body });
    expect(await cacheHits(server.url!)).toBe(hits + 1);
    // The movie the kept answer left out (4 movies for n = 5): the answer is made again, now with 5.
    expect(kept.body.recommendations).toHaveLength(4);
    await insert(NEW_MOVIE);
    await like(NEW_MOVIE);
    const again = await recommend(noComedy);
    expect(await cacheHits(server.url!)).toBe(hits + 1);
    expect(again.body.recommendations.slice(0, 4)).toEqual(kept.body.recommendations);
    expect(again.body.recommendations).toHaveLength(5);
    expect(again.body.recommendations.map((m: { movie_id: number }) => m.movie_id)).not.toContain(NEW_MOVIE);
    // Filters: the new Comedy passes genres_any Comedy and is left out by genres_none Comedy and by year_max.
    const comedy = await recommend({ history: [{ movie_id: 2, rating: 4 }], n: 5, filter: { genres_any: ['Comedy'] } });
    expect(comedy.status).toBe(200);
    expect(comedy.body.recommendations[0]).toMatchObject({ movie_id: NEW_MOVIE, genres: ['Comedy'] });
    for (const filter of [{ genres_none: ['Comedy'] }, { year_max: 2020 }]) {
      const r = await recommend({ history: [{ movie_id: 2, rating: 4 }], n: 5, filter });
      expect(r.body.recommendations.map((m: { movie_id: number }) => m.movie_id)).not.toContain(NEW_MOVIE);
      expect(r.body.recommendations).toHaveLength(5);
    }
    // /similar's genre fallback: movie 4 is Animation, Children, Comedy; the new movies share Comedy, and come
    // last of their score in the order they were added (catalogue order), as a scan of the catalogue ranks them.
    const all = await similarIds('n=50');
    expect(all.slice(-2)).toEqual([UNRANKED_MOVIE, NEW_MOVIE]);
    expect(await similarIds('n=50&genres_any=Comedy')).toContain(NEW_MOVIE);
    expect(await similarIds('n=50&genres_none=Comedy')).not.toContain(NEW_MOVIE);

    expect(builds()).toEqual(before);
  });
});
