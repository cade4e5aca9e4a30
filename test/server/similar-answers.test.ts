import type { LoadedModel } from '../../src/server/model-holder.js';
import type { RecoServer } from '../../src/server/index.js';
import { SimilarAnswers } from '../../src/server/similar-answers.js';
import { describeEachEngine } from '../helpers/engines.js';
import {
  MOVIES,
  SwitchableSource,
  call,
  rankingModel,
  registerAndLogin,
  seedCatalogue,
  startTestServer,
} from './fixtures.js';

describe('SimilarAnswers', () => {
  it('keys every component apart', () => {
    const base = SimilarAnswers.key('v1', '3.0', 7, { n: 10 });
    const others = [
      SimilarAnswers.key('v2', '3.0', 7, { n: 10 }),
      SimilarAnswers.key('v1', '4.0', 7, { n: 10 }),
      SimilarAnswers.key('v1', '3.1', 7, { n: 10 }),
      SimilarAnswers.key('v1', '3.0', 8, { n: 10 }),
      SimilarAnswers.key('v1', '3.0', 7, { n: 11 }),
      SimilarAnswers.key('v1', '3.0', 7, { n: 10, genres_any: ['Comedy'] }),
    ];
    expect(new Set([base, ...others]).size).toBe(others.length + 1);
    expect(SimilarAnswers.key('v1', '3.0', 7, { n: 10 })).toBe(base);
  });

  it('gives back what it holds, holds nothing at 0 bytes, and stays within its bytes', () => {
    const off = new SimilarAnswers(0);
    off.set('k', '{}');
    expect(off.get('k')).toBeUndefined();

    const small = new SimilarAnswers(10_000);
    small.set('a', '{"a":1}');
    expect(small.get('a')).toBe('{"a":1}');
    for (let i = 0; i < 100; i++) small.set(`k${i}`, 'x'.repeat(200));
    // Each entry counts 2 × (200 + key) + 64 bytes: about 20 fit in 10,000.
    expect(small.size).toBeGreaterThan(10);
    expect(small.size).toBeLessThan(25);
    expect(small.get('a')).toBeUndefined();
    expect(small.get('k99')).toBe('x'.repeat(200));
  });
});

/** rankingModel with item–item weights: the movies after `movieId` in the ranking, in order. */
function similarModel(version: string, ranking = MOVIES.map((m) => m.id)): LoadedModel {
  const m = rankingModel(version, ranking);
  m.model.similar = (movieId, n, options) => {
    if (movieId > 20) return undefined; // the model has no weights for these: the genre fallback answers
    return ranking
      .filter((id) => id !== movieId && !options?.exclude?.has(id))
      .slice(0, n)
      .map((id, i) => ({ movieId: id, score: 1 / (i + 1) }));
  };
  return m;
}

/**
 * GET /movies/{movie_id}/similar answered from memory (similar-answers.ts) against a server without it
 * (`recommendationCacheSize: 0`), on one database: the same bytes for every request asked again, and never an
 * answer of an earlier model or catalogue.
 */
describeEachEngine('GET /movies/{movie_id}/similar answers kept in memory', (t) => {
  let kept: RecoServer;
  let fresh: RecoServer;
  let token: string;
  const sources = [new SwitchableSource(), new SwitchableSource()];
  const versions = {
    v1: () => similarModel('v1'),
    v2: () => similarModel('v2', [...MOVIES.map((m) => m.id)].reverse()),
    v3: () => similarModel('v3'),
  };
  for (const s of sources) {
    for (const [v, make] of Object.entries(versions)) s.models.set(v, make());
    s.active = 'v1';
  }

  const swapTo = async (version: string) => {
    for (const s of sources) s.active = version;
    await Promise.all([kept.models.refresh(), fresh.models.refresh()]);
    expect(kept.models.current?.version).toBe(version);
  };
  const hits = async () => {
    const text = (await call(kept.url!, 'GET', '/metrics')).body as string;
    return Number(/^reco_similar_cache_hits_total (\d+)/m.exec(text)?.[1] ?? NaN);
  };
  /** The answer of both servers (the same, or the test fails), from the kept server twice. */
  const both = async (path: string) => {
    const first = await call(kept.url!, 'GET', path, { token });
    const again = await call(kept.url!, 'GET', path, { token });
    const other = await call(fresh.url!, 'GET', path, { token });
    expect(again).toEqual({ ...first, headers: again.headers });
    expect({ status: again.status, body: again.body }).toEqual({ status: other.status, body: other.body });
    return again;
  };

  beforeAll(async () => {
    await seedCatalogue(t.db);
    kept = await startTestServer(t.db, { modelSource: sources[0] });
    fresh = await startTestServer(t.db, { modelSource: sources[1], recommendationCacheSize: 0 });
    token = await registerAndLogin(kept.url!, `similar-kept-${t.engine}`);
  });
  afterAll(async () => {
    await kept?.close();
    await fresh?.close();
  });

  it('answers a request asked again from memory, as a server without the cache answers it', async () => {
    const before = await hits();
    const paths = [
      '/movies/1/similar?n=4',
      '/movies/1/similar',
      '/movies/2/similar?n=5&genres_any=Comedy',
      '/movies/2/similar?n=5&genres_any=Comedy&year_min=1990',
      '/movies/30/similar?n=6',
      '/movies/30/similar?n=6&genres_none=Drama',
    ];
    for (const path of paths) {
      const r = await both(path);
      expect(r.status).toBe(200);
      expect(r.body.basis).toBe(path.startsWith('/movies/30/') ? 'genres' : 'model');
    }
    expect((await both('/movies/1/similar?n=4')).body.similar.map((m: { movie_id: number }) => m.movie_id)).toEqual([
      2, 3, 4, 5,
    ]);
    // Each path's second request and the last two were hits; errors are never kept.
    expect((await hits()) - before).toBe(paths.length + 2);
    expect((await both('/movies/999/similar')).status).toBe(404);
    expect((await both('/movies/1/similar?n=0')).status).toBe(422);
    expect((await hits()) - before).toBe(paths.length + 2);
  });

  it('answers with the new model after a swap', async () => {
    expect((await both('/movies/3/similar?n=3')).body.model.version).toBe('v1');
    await swapTo('v2');
    const r = await both('/movies/3/similar?n=3');
    expect(r.body.model.version).toBe('v2');
    expect(r.body.similar.map((m: { movie_id: number }) => m.movie_id)).toEqual([40, 39, 38]);
  });

  it('answers with the catalogue as refreshed: a new title', async () => {
    const before = await both('/movies/3/similar?n=3');
    expect(before.body.similar[0]).toMatchObject({ movie_id: 40, title: 'Movie 40 (2019)' });
    // As an ingest changes a title: updated_at moves, which the catalogue's refresh looks for.
    await t.db.query(`UPDATE movies SET title = 'Renamed (2019)', updated_at = now() WHERE movie_id = 40`);
    await swapTo('v3'); // a swap refreshes the catalogue first
    await swapTo('v2');
    expect((await both('/movies/3/similar?n=3')).body.similar[0]).toMatchObject({
      movie_id: 40,
      title: 'Renamed (2019)',
    });
  });

  it('answers with a movie that a lookup added to the catalogue since', async () => {
    // Movie 32 (Animation, Children, Comedy) has no weights: genres answer, from the catalogue itself.
    const path = '/movies/32/similar?n=50&genres_any=Western';
    expect((await both(path)).body.similar).toEqual([]);
    await t.db.query(
      `INSERT INTO movies (movie_id, title, genres, year) VALUES (77, 'New (2021)', '{Comedy,Western}', 2021)`,
    );
    // Asked for by id, the new movie is looked up in the database and joins both servers' catalogues.
    for (const s of [kept, fresh])
      expect((await call(s.url!, 'GET', '/movies/77/similar', { token })).status).toBe(200);
    expect((await both(path)).body.similar.map((m: { movie_id: number }) => m.movie_id)).toEqual([77]);
  });
});
