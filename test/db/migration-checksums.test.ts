import { migrate, migrationStatus } from '../../src/core/db/migrate.js';
import { migrations } from '../../src/core/db/migrations/index.js';
import { RecoError } from '../../src/core/errors.js';
import { ExitCode } from '../../src/core/exit-codes.js';
import { createTestDatabase, ENGINES, type TestDatabase } from '../helpers/engines.js';

/** An applied migration is history: a changed file must stop reco before it touches the database. */
describe.each(ENGINES)('migration checksums [%s]', (engine) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(engine, { migrate: false });
    await migrate(t.db);
  });
  afterAll(() => t.drop());

  async function failure(known = migrations): Promise<RecoError> {
    const err = await migrate(t.db, known).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RecoError);
    return err as RecoError;
  }

  it('accepts the unchanged migrations', async () => {
    expect(await migrate(t.db)).toEqual([]);
  });

  it('refuses when the file of an applied migration has changed, naming it, with the schema-mismatch exit code', async () => {
    const first = migrations[0];
    const edited = migrations.map((m) =>
      m.version === first.version ? { ...m, sql: `${m.sql}\n-- edited after it ran` } : m,
    );
    const err = await failure(edited);
    expect(err.message).toMatch(
      new RegExp(`^migration ${first.version} \\(${first.name}\\) changed after it was applied`),
    );
    expect(err.message).toMatch(/add the change as a new migration/);
    expect(err.exitCode).toBe(ExitCode.SCHEMA_MISMATCH);
  });

  it('refuses a pending migration too while an applied one differs, and applies nothing', async () => {
    const last = migrations.at(-1)!;
    const edited = [
      ...migrations.map((m) => (m.version === last.version ? { ...m, sql: `${m.sql} ` } : m)),
      { version: 99_999, name: 'would_be_next', sql: 'CREATE TABLE would_be_next (id int)' },
    ];
    expect((await failure(edited)).message).toMatch(
      new RegExp(`^migration ${last.version} \\(${last.name}\\) changed`),
    );
    const r = await t.db.query<{ t: string | null }>(`SELECT to_regclass('would_be_next')::text AS t`);
    expect(r.rows[0].t).toBeNull();
    expect((await migrationStatus(t.db)).current).toBe(last.version);
  });

  it('refuses when the recorded checksum was altered in the database, and accepts again once it matches', async () => {
    const second = migrations[1] ?? migrations[0];
    const stored = await t.db.query<{ checksum: string }>('SELECT checksum FROM schema_migrations WHERE version = $1', [
      second.version,
    ]);
    await t.db.query(`UPDATE schema_migrations SET checksum = 'tampered' WHERE version = $1`, [second.version]);
    try {
      const err = await failure();
      expect(err.message).toMatch(new RegExp(`^migration ${second.version} \\(${second.name}\\) changed`));
    } finally {
      await t.db.query('UPDATE schema_migrations SET checksum = $1 WHERE version = $2', [
        stored.rows[0].checksum,
        second.version,
      ]);
    }
    expect(await migrate(t.db)).toEqual([]);
  });
});
