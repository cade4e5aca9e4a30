import type { RecoServer } from '../../src/server/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/engines.js';
import { rankingModel, seedCatalogue, startTestServer, SwitchableSource } from '../server/fixtures.js';
import { databaseName, sleep, terminateBackends } from './support.js';

const until = async (what: () => boolean, ms: number) => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (what()) return true;
    await sleep(10);
  }
  return false;
};

/**
 * The server's LISTEN connections (model activations, history changes) on PostgreSQL are terminated; each
 * LISTENs again by itself, and an activation made right then reaches the server within seconds, with polling
 * off (it would otherwise wait for the next poll, 30 s by default).
 */
describe('LISTEN after terminated backends [postgres]', () => {
  let t: TestDatabase;
  let server: RecoServer;
  const source = new SwitchableSource();
  for (const v of ['v1', 'v2', 'v3']) source.models.set(v, rankingModel(v));
  source.active = 'v1';

  beforeAll(async () => {
    t = await createTestDatabase('postgres');
    await seedCatalogue(t.db);
    server = await startTestServer(t.db, { modelSource: source, modelPollMs: 0 });
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    await t?.drop();
  });

  const activate = async (version: string) => {
    source.active = version;
    await t.db.query('SELECT pg_notify($1, $2)', [source.channel, version]);
  };

  it('swaps in a model activated right after the LISTEN connection was terminated, twice', async () => {
    expect(server.models.current?.version).toBe('v1');
    for (const version of ['v2', 'v3']) {
      expect(await terminateBackends(databaseName(t.url!), 'reco-listen')).toBeGreaterThanOrEqual(2);
      const started = Date.now();
      // The NOTIFY goes out while the server has no LISTEN connection: the reconnection has to catch up.
      await activate(version);
      expect(await until(() => server.models.current?.version === version, 5000)).toBe(true);
      expect(Date.now() - started).toBeLessThan(5000);
      // Then notifications flow again on the new connection.
      await sleep(300);
    }
  }, 30_000);
});
