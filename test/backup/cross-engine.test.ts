import fs from 'node:fs';
import { createBackup, restoreBackup, tableDigests } from '../../src/core/backup/index.js';
import { RecoError } from '../../src/core/errors.js';
import { ExitCode } from '../../src/core/exit-codes.js';
import { createTestDatabase, tempDir, type TestDatabase } from '../helpers/engines.js';
import { addAwkwardRows, dataDigests, loadMovieLens } from './movielens.js';

/** An embedded install moved to PostgreSQL and back: the same bytes per table at every step. */
describe('backup on one engine, restore on the other', () => {
  const dir = tempDir('reco-backup-x-');
  const dbs: TestDatabase[] = [];
  afterAll(async () => {
    for (const d of dbs) await d.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('PGlite → PostgreSQL → PGlite keeps identical per-table checksums and counts', async () => {
    const [lite, pg, lite2] = await Promise.all([
      createTestDatabase('pglite'),
      createTestDatabase('postgres'),
      createTestDatabase('pglite'),
    ]);
    dbs.push(lite, pg, lite2);
    await loadMovieLens(lite.db, { maxUser: 30 });
    await addAwkwardRows(lite.db);
    const original = dataDigests(await tableDigests(lite.db));
    expect(original.ratings.rows).toBeGreaterThan(1000);

    const fromLite = await createBackup(lite.db, { outDir: dir });
    expect(fromLite.manifest.engine).toBe('pglite');
    // PostgreSQL has no size limit: the embedded engine's does not apply to it.
    await restoreBackup(pg.db, fromLite.file, { embeddedRatingLimit: 1 });
    expect(dataDigests(await tableDigests(pg.db))).toEqual(original);

    const fromPg = await createBackup(pg.db, { outDir: dir });
    expect(fromPg.manifest.engine).toBe('postgres');
    const sums = (m: typeof fromPg.manifest) =>
      Object.fromEntries(m.tables.filter((t) => t.name !== 'job_runs').map((t) => [t.name, [t.rows, t.sha256]]));
    expect(sums(fromPg.manifest)).toEqual(sums(fromLite.manifest));

    // Over the embedded engine's limit: refused (exit 4) with the advice, before anything changed, so the same
    // database then takes the restore without --force.
    const rows = original.ratings.rows;
    const refused = (await restoreBackup(lite2.db, fromPg.file, { embeddedRatingLimit: rows - 1 }).catch(
      (e: unknown) => e,
    )) as RecoError;
    expect(refused).toBeInstanceOf(RecoError);
    expect(refused.exitCode).toBe(ExitCode.DATABASE);
    expect(refused.message).toBe(
      `the backup holds ${rows.toLocaleString('en-US')} ratings, over the embedded database's limit of ${(rows - 1).toLocaleString('en-US')}; set DATABASE_URL to a PostgreSQL database to restore it. Nothing was restored`,
    );
    await restoreBackup(lite2.db, fromPg.file, { embeddedRatingLimit: rows });
    expect(dataDigests(await tableDigests(lite2.db))).toEqual(original);
    // The awkward values survived both moves as values, not only as bytes.
    const m = await lite2.db.query<{ title: string; genres: string[] }>(
      `SELECT title, genres FROM movies WHERE movie_id = 999001`,
    );
    expect(m.rows[0]).toEqual({ title: 'He said "hi",\nthen left; back\\slash', genres: ['Drama', 'Film "Noir"'] });
    const model = await lite2.db.query<{ artifact: Buffer; params: any }>(
      `SELECT artifact, params FROM models WHERE version = 'v1'`,
    );
    expect([...model.rows[0].artifact]).toEqual([0, 1, 2, 255, 10, 34, 44]);
    expect(model.rows[0].params).toEqual({ n: 10, note: 'ünïcode, "quoted"' });
  }, 180_000);
});
