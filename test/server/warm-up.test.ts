import pino from 'pino';
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

/**
 * The requests of the mix that read a structure built on first use: a cold start (the model's list for an empty
 * history), a filtered list (the catalogue in columns and the filter's set) and /similar's genre fallback (the
 * test model has no item–item weights). Each answer without what differs between two servers (new user ids).
 */
async function firstRequests(url: string, token: string) {
  const cold = await call(url, 'POST', '/recommendations', {
    token,
    json: { genres: { Comedy: 1, Drama: -0.5 }, n: 5 },
  });
  const filtered = await call(url, 'POST', '/recommendations', {
    token,
    json: { history: [{ movie_id: 3, rating: 5 }], n: 5, filter: { genres_none: ['Comedy'] } },
  });
  const similar = await call(url, 'GET', '/movies/6/similar?n=5&genres_none=Drama', { token });
  for (const r of [cold, filtered, similar]) expect(r.status).toBe(200);
  return {
    model: cold.body.model.version,
    cold: cold.body.recommendations,
    filtered: filtered.body.recommendations,
    similar: [similar.body.basis, similar.body.similar],
  };
}

describeEachEngine('the warm-up', (t) => {
  // A source each: what is kept per model (the cold-start list) must not be shared between the two servers.
  const sources = [new SwitchableSource(), new SwitchableSource()];
  let warm: RecoServer;
  let cold: RecoServer;
  let warmToken: string;
  let coldToken: string;

  beforeAll(async () => {
    await seedCatalogue(t.db);
    for (const source of sources) {
      source.models.set('v1', rankingModel('v1'));
      source.models.set('v2', rankingModel('v2', [...MOVIES.map((m) => m.id)].reverse()));
      source.models.set('v3', rankingModel('v3', [41, ...MOVIES.map((m) => m.id)]));
      source.active = 'v1';
    }
    warm = await startTestServer(t.db, { modelSource: sources[0] });
    cold = await startTestServer(t.db, { modelSource: sources[1], warmUp: false });
    warmToken = await registerAndLogin(warm.url!, 'warm');
    coldToken = await registerAndLogin(cold.url!, 'cold');
  }, 120_000);
  afterAll(async () => {
    await warm?.close();
    await cold?.close();
  });

  async function swapTo(version: string) {
    for (const source of sources) source.active = version;
    await Promise.all([warm.models.refresh(), cold.models.refresh()]);
    expect(warm.models.current?.version).toBe(version);
    expect(cold.models.current?.version).toBe(version);
  }

  /**
   * The first requests on the warmed server build nothing; on the other they build (`built`: what is new since the
   * last call), and both answer the same.
   */
  async function compare(version: string, built: (keyof ReturnType<typeof builds>)[]) {
    const before = builds();
    const answered = await firstRequests(warm.url!, warmToken);
    expect(builds()).toEqual(before);
    expect(answered.model).toBe(version);

    const onDemand = await firstRequests(cold.url!, coldToken);
    const after = builds();
    for (const k of built) expect(after[k]).toBeGreaterThan(before[k]);
    expect(onDemand).toEqual(answered);
    return answered;
  }

  it('builds at start what the first requests would', async () => {
    const answered = await compare('v1', ['catalogueIndexes', 'filterSets', 'genreLists', 'coldStartLists']);
    expect(answered.cold.length).toBeGreaterThan(0);
    expect(answered.filtered.length).toBeGreaterThan(0);
    expect(answered.similar[0]).toBe('genres');
  });

  it('builds for a model before it is swapped in', async () => {
    await swapTo('v2');
    // The catalogue is unchanged: only the new model's list is new.
    await compare('v2', ['coldStartLists']);
  });

  it('builds for a catalogue refreshed with a swap', async () => {
    await t.db.query('INSERT INTO movies (movie_id, title, genres, year) VALUES ($1, $2, $3, $4)', [
      41,
      'Movie 41 (2021)',
      ['Comedy', 'Western'],
      2021,
    ]);
    await swapTo('v3');
    const answered = await compare('v3', ['catalogueIndexes', 'filterSets', 'genreLists', 'coldStartLists']);
    expect(answered.cold.map((r: { movie_id: number }) => r.movie_id)).toContain(41);
  });

  it('exports how long the last warm-up took', async () => {
    const metrics: string = (await call(warm.url!, 'GET', '/metrics')).body;
    expect(metrics).toMatch(/reco_warm_up_seconds\{reason="start"\} \d/);
    expect(metrics).toMatch(/reco_warm_up_seconds\{reason="model"\} \d/);
    expect(metrics).toMatch(/reco_warm_up_seconds\{reason="catalogue"\} \d/);
  });

  it('logs a failing part and serves anyway', async () => {
    const source = new SwitchableSource();
    const broken = rankingModel('broken');
    const recommend = broken.model.recommend.bind(broken.model);
    broken.model.recommend = (history, n, options) => {
      if (history.movieIds.length === 0) throw new Error('no list for an empty history');
      return recommend(history, n, options);
    };
    source.models.set('broken', broken);
    source.active = 'broken';
    const lines: { level: number; msg: string; ms?: number }[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const server = await startTestServer(t.db, { modelSource: source, logger });
    try {
      expect(lines.find((l) => l.msg.startsWith('warm-up: cold-start list failed'))?.level).toBe(40);
      const done = lines.find((l) => /^warm-up: \d+ ms$/.test(l.msg));
      expect(done?.ms).toBeGreaterThanOrEqual(0);
      const token = await registerAndLogin(server.url!, 'broken');
      const r = await call(server.url!, 'POST', '/recommendations', {
        token,
        json: { history: [{ movie_id: 3, rating: 5 }], n: 5, filter: { genres_none: ['Comedy'] } },
      });
      expect(r.status).toBe(200);
      expect(r.body.recommendations.length).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
  });
});
