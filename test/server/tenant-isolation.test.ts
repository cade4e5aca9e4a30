import path from 'node:path';
import { trainModel, type TrainResult } from '../../src/core/training/train.js';
import type { RecoServer } from '../../src/server/index.js';
import { describeEachEngine, tempDir } from '../helpers/engines.js';
import { loadByCopy, syntheticRatings } from '../models/fixtures.js';
import { call, registerAndLogin, startTestServer } from './fixtures.js';

/** The movie of the attack: one rating in the operator's data. */
const RARE = 1008;

async function waitForVersion(server: RecoServer, version: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (server.models.current?.version !== version && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 25));
  expect(server.models.current?.version).toBe(version);
}

/**
 * One tenant floods POST /recommendations with histories built around a movie almost nobody rated, hoping the
 * next training ranks it first for everyone and that its easy-to-predict histories inflate the holdout figure
 * that decides activation. Only trusted clients' ratings train and form the holdout, so neither happens.
 */
describeEachEngine('a tenant cannot steer training or the activation gate', (t) => {
  const syn = syntheticRatings({ users: 80, movies: 100, perUser: 20 });
  const modelsDir = path.join(tempDir(), 'models');
  let server: RecoServer;
  let first: TrainResult;
  let tokenA: string;
  let tokenB: string;
  let userB: number;
  let listB: number[];
  // Three popular movies of one taste group: B's user rated them, the attacker pairs the rare movie with them.
  const bait = [syn.movies[0].movieId, syn.movies[4].movieId, syn.movies[8].movieId];

  beforeAll(async () => {
    await loadByCopy(t.db, syn, 'ingest');
    await t.db.query(`INSERT INTO movies (movie_id, title, genres) VALUES ($1, 'Rare Movie (2001)', '{Drama}')`, [
      RARE,
    ]);
    await t.db.query(`INSERT INTO ratings (user_id, movie_id, rating, rated_at) VALUES (1001, $1, 3, now())`, [RARE]);
    first = await trainModel(t.db, { modelsDir });
    expect(first.activated).toBe(true);
    server = await startTestServer(t.db, { modelPollMs: 0 });
    await waitForVersion(server, first.version);
    tokenA = await registerAndLogin(server.url!, 'tenant_a');
    tokenB = await registerAndLogin(server.url!, 'tenant_b');
    const b = await call(server.url!, 'POST', '/recommendations', {
      token: tokenB,
      json: { history: bait.map((m) => ({ movie_id: m, rating: 5 })), n: 10 },
    });
    expect(b.status).toBe(200);
    userB = b.body.user_id;
    listB = b.body.recommendations.map((r: any) => r.movie_id);
    expect(listB).not.toContain(RARE);
  }, 180_000);
  afterAll(() => server?.close());

  it('300 poisoned histories change neither the training data, the holdout figure, nor client B’s list', async () => {
    for (let i = 0; i < 300; i += 25) {
      const batch = await Promise.all(
        Array.from({ length: 25 }, () =>
          call(server.url!, 'POST', '/recommendations', {
            token: tokenA,
            json: { history: [RARE, ...bait].map((m) => ({ movie_id: m, rating: 5 })), n: 10 },
          }),
        ),
      );
      expect(batch.map((r) => r.status)).toEqual(Array(25).fill(200));
    }
    const stored = await t.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ratings r JOIN users u ON u.id = r.user_id JOIN clients c ON c.id = u.client_id WHERE c.username = 'tenant_a'`,
    );
    expect(stored.rows[0].n).toBe(1200);

    const second = await trainModel(t.db, { modelsDir });
    // Trained on exactly the operator's ratings again: the attacker's 1,200 (and B's 3) were left out.
    expect(second.dataCounts.ratings).toBe(first.dataCounts.ratings);
    expect(second.dataCounts.untrusted_ratings).toBe(1203);
    // The holdout the gate reads is the same data, so the figure is the same, not inflated.
    expect(second.metrics.ndcg_at_10).toBeCloseTo(first.metrics.ndcg_at_10, 10);
    expect(second.algorithm).toBe(first.algorithm);
    if (second.activated) await waitForVersion(server, second.version);

    const again = await call(server.url!, 'POST', '/recommendations', {
      token: tokenB,
      json: { user_id: userB, n: 10 },
    });
    expect(again.status).toBe(200);
    expect(again.body.recommendations.map((r: any) => r.movie_id)).toEqual(listB);
    expect(again.body.recommendations.map((r: any) => r.movie_id)).not.toContain(RARE);
  }, 180_000);

  it('a client trusted by the operator does train the models', async () => {
    const { setClientTrusted } = await import('../../src/core/db/repositories/clients.js');
    expect(await setClientTrusted(t.db, 'tenant_a', true)).toBe(true);
    try {
      const third = await trainModel(t.db, { modelsDir, algorithm: 'item-knn', force: true });
      expect(third.dataCounts.ratings).toBe(first.dataCounts.ratings + 1200);
      expect(third.dataCounts.untrusted_ratings).toBe(3);
    } finally {
      await setClientTrusted(t.db, 'tenant_a', false);
    }
  }, 180_000);
});
