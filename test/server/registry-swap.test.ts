import path from 'node:path';
import { trainModel } from '../../src/core/training/train.js';
import type { RecoServer } from '../../src/server/index.js';
import { describeEachEngine, tempDir } from '../helpers/engines.js';
import { call, registerAndLogin, seedCatalogue, startTestServer } from './fixtures.js';

/**
 * The server with the real model registry: the popularity fallback before any training, then the model that
 * `trainModel` activates, swapped in by LISTEN/NOTIFY while requests run.
 */
describeEachEngine('the server with the model registry', (t) => {
  let server: RecoServer;
  let token: string;
  const modelsDir = path.join(tempDir(), 'models');

  beforeAll(async () => {
    await seedCatalogue(t.db);
    // 30 users of a seed platform: everyone rated movie 1, most rated 2, … (a clear popularity order).
    const c = await t.db.query<{ id: number }>(
      `INSERT INTO clients (username, trusted) VALUES ('seed', true) RETURNING id`,
    );
    for (let u = 1; u <= 30; u++) {
      const r = await t.db.query<{ id: number }>(
        'INSERT INTO users (client_id, external_id) VALUES ($1, $2) RETURNING id',
        [c.rows[0].id, u],
      );
      for (let m = 1; m <= 20; m++) {
        if (u % m === 0 || m <= 3 || (u + m) % 7 === 0) {
          await t.db.query(
            `INSERT INTO ratings (user_id, movie_id, rating, rated_at) VALUES ($1, $2, $3, now() - ($4 || ' days')::interval)`,
            [r.rows[0].id, m, ((u + m) % 9) / 2 + 0.5, String(u + m)],
          );
        }
      }
    }
    server = await startTestServer(t.db, { modelPollMs: 0 });
    token = await registerAndLogin(server.url!, 'viewer');
  }, 120_000);
  afterAll(() => server?.close());

  it('serves the popularity fallback before any model is trained', async () => {
    const r = await call(server.url!, 'POST', '/recommendations', {
      token,
      json: { history: [{ movie_id: 2, rating: 5 }], n: 3 },
    });
    expect(r.status).toBe(200);
    expect(r.body.model.version).toBe('fallback');
    expect(r.body.recommendations.map((x: any) => x.movie_id)).not.toContain(2);
    expect(r.body.recommendations[0].movie_id).toBe(1);
  });

  it('swaps in the model that training activates, with no failed request during the swap', async () => {
    let stop = false;
    const statuses: number[] = [];
    const versions = new Set<string>();
    const load = (async () => {
      while (!stop) {
        const batch = await Promise.all(
          Array.from({ length: 3 }, () =>
            call(server.url!, 'POST', '/recommendations', { token, json: { user_id: 1, n: 5 } }),
          ),
        );
        for (const r of batch) {
          statuses.push(r.status);
          versions.add(r.body.model?.version);
        }
      }
    })();
    const trained = await trainModel(t.db, { algorithm: 'popular', modelsDir });
    const deadline = Date.now() + 20_000;
    while (server.models.current?.version === 'fallback' && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 25));
    await new Promise((r) => setTimeout(r, 100));
    stop = true;
    await load;
    expect(server.models.current?.version).not.toBe('fallback');
    expect(trained.activated).toBe(true);
    expect(server.models.current?.version).toBe(trained.version);
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(versions.has(server.models.current!.version)).toBe(true);
    const metrics: string = (await call(server.url!, 'GET', '/metrics')).body;
    expect(metrics).toContain(`reco_model_info{algorithm="popular",version="${server.models.current!.version}"} 1`);
    expect(metrics).toMatch(/reco_model_loads_total\{outcome="success"\} [2-9]/);
  }, 120_000);
});
