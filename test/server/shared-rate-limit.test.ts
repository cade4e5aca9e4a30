import { PostgresDatabase } from '../../src/core/db/engines/postgres.js';
import type { Database } from '../../src/core/db/types.js';
import type { RecoServer } from '../../src/server/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/engines.js';
import { call, seedCatalogue, startTestServer, SwitchableSource } from './fixtures.js';

/**
 * Two replicas of `reco serve` on one PostgreSQL database, each with its own connection pool: login and
 * registration attempts are counted once for both (migration 042), not per process.
 */
describe('rate limits shared by replicas on PostgreSQL', () => {
  let test: TestDatabase;
  let second: Database;
  const servers: RecoServer[] = [];
  const replicas = async (rateLimit: { windowMs?: number; token?: number; createClient?: number }) => {
    const a = await startTestServer(test.db, { modelSource: new SwitchableSource(), rateLimit });
    const b = await startTestServer(second, { modelSource: new SwitchableSource(), rateLimit });
    servers.push(a, b);
    return [a.url!, b.url!];
  };
  beforeAll(async () => {
    test = await createTestDatabase('postgres');
    second = await PostgresDatabase.connect(test.url!, { max: 5 });
    await seedCatalogue(test.db);
  });
  afterAll(async () => {
    for (const s of servers) await s.close();
    await second.close();
    await test.drop();
  });

  const login = (url: string) =>
    call(url, 'POST', '/token', { json: { username: 'nobody', password: 'wrong password' } });
  /** An attempt the limiter counts (it runs before the body is checked) that costs no password hash: a 422. */
  const quick = (url: string) => call(url, 'POST', '/token', { json: { username: 'nobody' } });

  it('allows an address the configured number of logins across both replicas, then 429 on either', async () => {
    const [a, b] = await replicas({ token: 4, createClient: 3 });
    const statuses = [];
    for (const url of [a, b, a, b, a, b]) statuses.push((await login(url)).status);
    expect(statuses).toEqual([401, 401, 401, 401, 429, 429]);
    const limited = await login(a);
    expect(limited.body).toEqual({
      error: 'too_many_requests',
      message: expect.stringMatching(/too many login attempts/),
    });
    expect(limited.headers.get('ratelimit')).toMatch(/limit=4, remaining=0/);

    const reg = (url: string, i: number) =>
      call(url, 'POST', '/create-client', { json: { username: `shared-${i}`, password: 'long enough pw' } });
    expect([
      (await reg(b, 1)).status,
      (await reg(a, 2)).status,
      (await reg(b, 3)).status,
      (await reg(a, 4)).status,
    ]).toEqual([201, 201, 201, 429]);

    const rows = await test.db.query<{ key: string; hits: number }>(
      'SELECT key, hits FROM reco_transient.rate_limit_hits ORDER BY key',
    );
    expect(rows.rows.map((r) => [r.key.replace(/:.*$/, ''), r.hits])).toEqual([
      ['create-client/3/60000', 4],
      ['token/4/60000', 7],
    ]);
  });

  it('counts concurrent attempts on both replicas exactly once each', async () => {
    const [a, b] = await replicas({ token: 10, windowMs: 60_001 });
    const all = await Promise.all(Array.from({ length: 30 }, (_, i) => quick(i % 2 ? a : b)));
    const counts = {
      allowed: all.filter((r) => r.status === 422).length,
      limited: all.filter((r) => r.status === 429).length,
    };
    expect(counts).toEqual({ allowed: 10, limited: 20 });
  });

  it('starts a new window once the old one has ended, on both replicas', async () => {
    const [a, b] = await replicas({ token: 2, windowMs: 1500 });
    expect([(await quick(a)).status, (await quick(b)).status, (await quick(a)).status]).toEqual([422, 422, 429]);
    await new Promise((r) => setTimeout(r, 1600));
    expect([(await quick(b)).status, (await quick(a)).status, (await quick(b)).status]).toEqual([422, 422, 429]);
  });
});
