import { migrate, migrationStatus } from '../../src/core/db/migrate.js';
import { migrations } from '../../src/core/db/migrations/index.js';
import { createTestDatabase, ENGINES, type TestDatabase } from '../helpers/engines.js';

const TABLES = [
  'clients',
  'movies',
  'users',
  'ratings',
  'ingest_runs',
  'ingest_files',
  'models',
  'job_runs',
  'schema_migrations',
];

describe.each(ENGINES)('migrations [%s]', (engine) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(engine, { migrate: false });
  });
  afterAll(() => t.drop());

  it('starts with every migration pending', async () => {
    const s = await migrationStatus(t.db);
    expect(s.current).toBe(0);
    expect(s.pending.map((m) => m.version)).toEqual(migrations.map((m) => m.version));
  });

  it('applies the schema once and is a no-op the second time', async () => {
    const first = await migrate(t.db);
    expect(first.map((m) => m.version)).toEqual(migrations.map((m) => m.version));
    expect(await migrate(t.db)).toEqual([]);
    const r = await t.db.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
    );
    expect(r.rows.map((x) => x.table_name)).toEqual(expect.arrayContaining(TABLES));
    const s = await migrationStatus(t.db);
    expect(s.pending).toEqual([]);
    expect(s.applied).toHaveLength(migrations.length);
  });

  it('enforces the rating domain and one rating per user and movie', async () => {
    const c = await t.db.query<{ id: number }>(`INSERT INTO clients (username) VALUES ('c1') RETURNING id`);
    const u = await t.db.query<{ id: number }>(
      'INSERT INTO users (client_id, external_id) VALUES ($1, 7) RETURNING id',
      [c.rows[0].id],
    );
    await t.db.query(`INSERT INTO movies (movie_id, title, genres) VALUES (1, 'Toy Story (1995)', '{Comedy}')`);
    const rate = (r: number) =>
      t.db.query('INSERT INTO ratings (user_id, movie_id, rating, rated_at) VALUES ($1, 1, $2, now())', [
        u.rows[0].id,
        r,
      ]);
    await expect(rate(5.5)).rejects.toThrow();
    await expect(rate(3.25)).rejects.toThrow();
    await rate(3.5);
    await expect(rate(4)).rejects.toThrow();
    await expect(
      t.db.query('INSERT INTO users (client_id, external_id) VALUES ($1, 7)', [c.rows[0].id]),
    ).rejects.toThrow();
  });

  it('rolls back a failing migration completely and records nothing', async () => {
    const broken = [
      ...migrations,
      { version: 999, name: 'broken', sql: 'CREATE TABLE half_done (id int); SELECT no_such_function();' },
    ];
    await expect(migrate(t.db, broken)).rejects.toThrow(/migration 999 \(broken\) failed/);
    const r = await t.db.query<{ t: string | null }>(`SELECT to_regclass('half_done')::text AS t`);
    expect(r.rows[0].t).toBeNull();
    expect((await migrationStatus(t.db)).current).toBe(migrations.at(-1)!.version);
  });

  it('refuses a database left at a newer schema version', async () => {
    await t.db.query(`INSERT INTO schema_migrations (version, name, checksum) VALUES (9999, 'from the future', 'x')`);
    await expect(migrate(t.db)).rejects.toThrow(/schema is at version 9999, newer than this reco knows/);
    await t.db.query('DELETE FROM schema_migrations WHERE version = 9999');
  });
});
