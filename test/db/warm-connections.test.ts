import { PostgresDatabase } from '../../src/core/db/engines/postgres.js';
import { migrate } from '../../src/core/db/migrate.js';
import { HISTORY_CHANNEL } from '../../src/core/db/repositories/api-users.js';
import { warmConnections } from '../../src/core/db/repositories/warm-connections.js';
import { DEFAULT_QUOTAS } from '../../src/core/config.js';
import type { Database } from '../../src/core/db/types.js';
import { createPgDatabase, describeEachEngine } from '../helpers/engines.js';
import { seedCatalogue } from '../server/fixtures.js';

const TABLES = ['clients', 'users', 'ratings', 'feedback_events', 'user_exclusions', 'client_quota_usage'];

async function rowCounts(db: Database): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of TABLES)
    out[table] = (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n;
  // No client id drawn: the next client gets the id it would have had.
  out.clients_id_seq = (await db.query<{ n: number }>('SELECT last_value::int AS n FROM clients_id_seq')).rows[0].n;
  return out;
}

/** What warming a connection must leave: nothing stored, nothing sent on the history channel. */
async function warmAndCompare(db: Database) {
  const before = await rowCounts(db);
  const heard: string[] = [];
  const stop = await db.listen(HISTORY_CHANNEL, (payload) => heard.push(payload));
  try {
    expect(await warmConnections(db, DEFAULT_QUOTAS)).toBe(db.connections);
    await new Promise((resolve) => setTimeout(resolve, 200));
  } finally {
    await stop();
  }
  expect(await rowCounts(db)).toEqual(before);
  expect(heard).toEqual([]);
}

describeEachEngine("warming the pool's connections", (t) => {
  it('keeps nothing of its writes and sends no notification, before any movie is loaded', async () => {
    await warmAndCompare(t.db);
  });

  it('keeps nothing of its writes and sends no notification, with a catalogue', async () => {
    await seedCatalogue(t.db);
    await warmAndCompare(t.db);
  });
});

describe("warming the pool's connections on PostgreSQL", () => {
  let pgDb: Awaited<ReturnType<typeof createPgDatabase>>;
  beforeAll(async () => {
    pgDb = await createPgDatabase();
    const db = await PostgresDatabase.connect(pgDb.url, { max: 1 });
    try {
      await migrate(db);
      await seedCatalogue(db);
    } finally {
      await db.close();
    }
  });
  afterAll(() => pgDb.drop());

  /** The statements prepared on each connection of the pool, read by holding every connection at once. */
  const preparedPerConnection = (db: PostgresDatabase) =>
    Promise.all(
      Array.from({ length: db.connections }, () =>
        db.transaction(async (tx) => {
          const r = await tx.query<{ n: number; pid: number }>(
            'SELECT count(*)::int AS n, pg_backend_pid() AS pid FROM pg_prepared_statements',
          );
          await new Promise((resolve) => setTimeout(resolve, 50));
          return r.rows[0];
        }),
      ),
    );

  it("prepares the request path's statements on every connection of the pool", async () => {
    const cold = await PostgresDatabase.connect(pgDb.url, { max: 3, keepOpen: true });
    const warmed = await PostgresDatabase.connect(pgDb.url, { max: 3, keepOpen: true });
    try {
      await warmConnections(warmed, DEFAULT_QUOTAS);
      const coldCounts = await preparedPerConnection(cold);
      const warmCounts = await preparedPerConnection(warmed);
      expect(new Set(warmCounts.map((c) => c.pid)).size).toBe(3);
      expect(coldCounts.map((c) => c.n)).toEqual([0, 0, 0]);
      // The history read and write, the known-history write, the two group writes, stated tastes and feedback.
      for (const c of warmCounts) expect(c.n).toBeGreaterThanOrEqual(6);
    } finally {
      await cold.close();
      await warmed.close();
    }
  });
});
