import { PostgresDatabase } from '../../src/core/db/engines/postgres.js';
import { openDatabase } from '../../src/core/db/open.js';
import { prepared, sqlText } from '../../src/core/db/types.js';
import { loadConfig } from '../../src/core/config.js';
import { createPgDatabase, describeEachEngine, tempDir } from '../helpers/engines.js';

const DOUBLED = prepared('SELECT $1::int * 2 AS doubled, $2::text AS label');

describeEachEngine('prepared statements', (t) => {
  it('answer as the same text sent plainly, on both engines', async () => {
    const plain = await t.db.query(sqlText(DOUBLED), [21, 'x']);
    const named = await t.db.query(DOUBLED, [21, 'x']);
    const again = await t.db.query(DOUBLED, [4, 'y']);
    expect(named.rows).toEqual(plain.rows);
    expect(named.rows).toEqual([{ doubled: 42, label: 'x' }]);
    expect(again.rows).toEqual([{ doubled: 8, label: 'y' }]);
    const inTransaction = await t.db.transaction((tx) => tx.query(DOUBLED, [5, 'z']));
    expect(inTransaction.rows).toEqual([{ doubled: 10, label: 'z' }]);
  });

  it('are named by their text: one name for one text, another for another', () => {
    expect(prepared(sqlText(DOUBLED)).name).toBe(DOUBLED.name);
    expect(prepared('SELECT 1').name).not.toBe(DOUBLED.name);
    expect(DOUBLED.name).toMatch(/^reco_[0-9a-f]{24}$/);
  });
});

describe('prepared statements on PostgreSQL', () => {
  let pgDb: Awaited<ReturnType<typeof createPgDatabase>>;
  beforeAll(async () => {
    pgDb = await createPgDatabase();
  });
  afterAll(() => pgDb.drop());

  /** Whether the connection that runs the transaction has the statement prepared after running it. */
  const preparedOnConnection = (db: PostgresDatabase) =>
    db.transaction(async (tx) => {
      await tx.query(DOUBLED, [1, 'a']);
      const r = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_prepared_statements WHERE name = $1', [
        DOUBLED.name,
      ]);
      return r.rows[0].n;
    });

  it('are prepared once on the connection that runs them, and not at all when switched off', async () => {
    const on = await PostgresDatabase.connect(pgDb.url, { max: 1 });
    const off = await PostgresDatabase.connect(pgDb.url, { max: 1, preparedStatements: false });
    try {
      expect(await preparedOnConnection(on)).toBe(1);
      expect(await preparedOnConnection(on)).toBe(1);
      expect(await preparedOnConnection(off)).toBe(0);
    } finally {
      await on.close();
      await off.close();
    }
  });

  it('follow RECO_DB_PREPARED_STATEMENTS (default on) through openDatabase', async () => {
    const dataDir = tempDir();
    expect(loadConfig({}).dbPreparedStatements).toBe(true);
    expect(() => loadConfig({ RECO_DB_PREPARED_STATEMENTS: 'no' })).toThrow(/RECO_DB_PREPARED_STATEMENTS/);
    for (const [setting, expected] of [
      ['on', 1],
      ['off', 0],
    ] as const) {
      const config = {
        ...loadConfig({ RECO_DB_PREPARED_STATEMENTS: setting, RECO_DATA_DIR: dataDir }),
        databaseUrl: pgDb.url,
      };
      const db = await openDatabase(config, { migrate: false, poolSize: 1 });
      try {
        expect(await preparedOnConnection(db as PostgresDatabase)).toBe(expected);
      } finally {
        await db.close();
      }
    }
  });

  it("opens a server's whole pool at once and keeps it (keepOpen), where another pool opens one connection", async () => {
    const connections = async (applicationName: string) => {
      const probe = await PostgresDatabase.connect(pgDb.url, { max: 1, applicationName: 'probe' });
      try {
        const r = await probe.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1',
          [applicationName],
        );
        return r.rows[0].n;
      } finally {
        await probe.close();
      }
    };
    const server = await PostgresDatabase.connect(pgDb.url, { max: 4, keepOpen: true, applicationName: 'kept' });
    const command = await PostgresDatabase.connect(pgDb.url, { max: 4, applicationName: 'not-kept' });
    try {
      expect(await connections('kept')).toBe(4);
      expect(await connections('not-kept')).toBe(1);
    } finally {
      await server.close();
      await command.close();
    }
  });

  it('keeps a connection and its prepared statements after a statement fails on the server', async () => {
    // A quota's RAISE, a constraint: the server answers with an error and the connection stays usable. Closing it
    // instead made every refused request open a new backend and prepare every statement again.
    const db = await PostgresDatabase.connect(pgDb.url, { max: 1 });
    const BACKEND = prepared('SELECT pg_backend_pid() AS pid');
    try {
      const before = (await db.query<{ pid: number }>(BACKEND)).rows[0].pid;
      const DIVIDE = prepared('SELECT 1 / $1::int AS x');
      await expect(db.query(DIVIDE, [0])).rejects.toThrow(/division by zero/);
      expect((await db.query(DIVIDE, [1])).rows).toEqual([{ x: 1 }]);
      await expect(db.query("DO $$ BEGIN RAISE EXCEPTION 'refused'; END $$")).rejects.toThrow(/refused/);
      await expect(db.transaction((tx) => tx.query('SELECT 1 / 0'))).rejects.toThrow(/division by zero/);
      const after = (await db.query<{ pid: number }>(BACKEND)).rows[0].pid;
      expect(after).toBe(before);
      const prepares = await db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM pg_prepared_statements WHERE name = $1',
        [BACKEND.name],
      );
      expect(prepares.rows[0].n).toBe(1);
    } finally {
      await db.close();
    }
  });

  it('replaces a connection that its server ended', async () => {
    const db = await PostgresDatabase.connect(pgDb.url, { max: 1 });
    const admin = await PostgresDatabase.connect(pgDb.url, { max: 1, applicationName: 'admin' });
    try {
      const first = (await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
      await admin.query('SELECT pg_terminate_backend($1)', [first]);
      // The ended connection's next statement fails or it was already discarded; after that a new one answers.
      await db.query('SELECT 1').catch(() => undefined);
      const next = (await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
      expect(next).not.toBe(first);
    } finally {
      await db.close();
      await admin.close();
    }
  });
});
