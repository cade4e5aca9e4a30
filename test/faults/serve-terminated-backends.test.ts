import fs from 'node:fs';
import { PostgresDatabase } from '../../src/core/db/engines/postgres.js';
import { migrate } from '../../src/core/db/migrate.js';
import { createPgDatabase, tempDir } from '../helpers/engines.js';
import { call, registerAndLogin, seedCatalogue } from '../server/fixtures.js';
import { databaseName, sleep, startServe, terminateBackends, type ServeProcess } from './support.js';

/**
 * `reco serve` on PostgreSQL while every backend of its database is terminated, several times, in the middle of
 * writes (POST /recommendations with a history: a transaction per request). The requests caught in it answer
 * 503 with the API's JSON error body, the process stays up, and the requests after it succeed.
 */
describe('reco serve survives terminated PostgreSQL backends during writes', () => {
  let pgdb: Awaited<ReturnType<typeof createPgDatabase>>;
  let serve: ServeProcess | undefined;
  const dataDir = tempDir('reco-faults-serve-');

  beforeAll(async () => {
    pgdb = await createPgDatabase();
    const db = await PostgresDatabase.connect(pgdb.url, { max: 2 });
    try {
      await migrate(db);
      await seedCatalogue(db);
    } finally {
      await db.close();
    }
  }, 60_000);

  afterAll(async () => {
    if (serve && !serve.exited()) {
      serve.child.kill('SIGKILL');
      await serve.exit;
    }
    await pgdb?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers 503 JSON for the writes caught in it, stays up, and serves the next requests', async () => {
    serve = startServe({ DATABASE_URL: pgdb.url, RECO_DATA_DIR: dataDir });
    const base = await serve.url;
    const token = await registerAndLogin(base, 'faults');
    const first = await call(base, 'POST', '/recommendations', {
      token,
      json: { history: [{ movie_id: 1, rating: 4 }], n: 5 },
    });
    expect(first.status).toBe(200);
    const userId = first.body.user_id;

    const outcomes: { status: number | string; body: any }[] = [];
    let stop = false;
    let k = 0;
    const worker = async () => {
      while (!stop) {
        const movie = (k++ % 40) + 1;
        try {
          const r = await call(base, 'POST', '/recommendations', {
            token,
            json: { user_id: userId, history: [{ movie_id: movie, rating: 4 }], n: 5 },
          });
          outcomes.push({ status: r.status, body: r.body });
        } catch (err: any) {
          outcomes.push({ status: `network error: ${err?.cause?.code ?? err?.message}`, body: null });
          await sleep(20);
        }
      }
    };
    const workers = Array.from({ length: 6 }, worker);
    let terminated = 0;
    for (let round = 0; round < 4; round++) {
      await sleep(250);
      terminated += await terminateBackends(databaseName(pgdb.url));
    }
    await sleep(300);
    stop = true;
    await Promise.all(workers);

    expect(terminated).toBeGreaterThan(0);
    expect(serve.exited()).toBe(false);
    const statuses = new Map<string, number>();
    for (const o of outcomes) statuses.set(String(o.status), (statuses.get(String(o.status)) ?? 0) + 1);
    // Only successes and 503s, never a reset connection or a 500.
    expect([...statuses.keys()].filter((s) => s !== '200' && s !== '503')).toEqual([]);
    for (const o of outcomes.filter((x) => x.status === 503)) {
      expect(o.body).toEqual({ error: 'unavailable', message: expect.stringMatching(/database is unavailable/) });
    }

    // PostgreSQL answers again: the next requests succeed (a dead pooled connection may still cost one 503).
    const deadline = Date.now() + 10_000;
    let consecutive = 0;
    while (consecutive < 20 && Date.now() < deadline) {
      const r = await call(base, 'POST', '/recommendations', {
        token,
        json: { user_id: userId, history: [{ movie_id: 7, rating: 5 }], n: 5 },
      });
      consecutive = r.status === 200 ? consecutive + 1 : 0;
    }
    expect(consecutive).toBe(20);
    expect((await call(base, 'GET', '/readyz')).status).toBe(200);
    expect(serve.exited()).toBe(false);

    serve.child.kill('SIGTERM');
    expect(await serve.exit).toBe(0);
  }, 120_000);
});
