import fs from 'node:fs';
import path from 'node:path';
import { createBackup } from '../../src/core/backup/index.js';
import { EXACT_COUNT_MAX_PAGES, rowCount, serverStats } from '../../src/core/db/repositories/server-stats.js';
import { createMetrics } from '../../src/core/metrics/registry.js';
import { ingest } from '../../src/core/pipeline/index.js';
import { updateStatsGauges } from '../../src/server/gauges.js';
import { createTestDatabase, ENGINES, tempDir, type TestDatabase } from '../helpers/engines.js';

/**
 * What the server exports from the database: every job failure counted (also those before the job's run is
 * recorded), job and ingest totals as counters, and the sizes of users and ratings without a full scan once large.
 */
describe.each(ENGINES)('server stats [%s]', (engine) => {
  let t: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    t = await createTestDatabase(engine);
    dir = tempDir('reco-stats-');
  });
  afterAll(async () => {
    await t.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const scrape = async () => {
    const m = createMetrics();
    updateStatsGauges(m, await serverStats(t.db));
    return m.register.metrics();
  };

  it('a fresh database: every scheduled task never succeeded, no failures, the creation time known', async () => {
    const text = await scrape();
    for (const task of ['ingest', 'train', 'backup']) {
      expect(text).toContain(`reco_job_last_success_timestamp_seconds{task="${task}"} 0\n`);
      expect(text).toContain(`reco_job_runs_total{task="${task}",status="failed"} 0\n`);
    }
    expect(text).toMatch(/^# TYPE reco_job_runs_total counter$/m);
    expect(text).toMatch(/^# TYPE reco_ingest_runs_total counter$/m);
    expect(text).toMatch(/^# TYPE reco_ingest_rows_total counter$/m);
    const created = Number(/^reco_database_created_timestamp_seconds (\S+)$/m.exec(text)![1]);
    expect(Math.abs(created - Date.now() / 1000)).toBeLessThan(600);
  });

  it('counts failures that happen before the run is recorded: an --out that cannot be created, a --from that is no folder', async () => {
    const file = path.join(dir, 'a-file');
    fs.writeFileSync(file, 'x');
    await expect(createBackup(t.db, { outDir: path.join(file, 'backups') })).rejects.toThrow(/cannot write backups/);
    await expect(ingest(t.db, { from: file, dataDir: dir })).rejects.toThrow(/not a folder/);
    const text = await scrape();
    expect(text).toContain('reco_job_runs_total{task="backup",status="failed"} 1\n');
    expect(text).toContain('reco_job_runs_total{task="ingest",status="failed"} 1\n');
    expect(text).toContain('reco_job_last_success_timestamp_seconds{task="backup"} 0\n');
    const rows = await t.db.query<{ job: string; status: string; error: string }>(
      `SELECT job, status, error FROM job_runs ORDER BY id`,
    );
    expect(rows.rows.map((r) => `${r.job} ${r.status}`)).toEqual(['backup failed', 'ingest failed']);
    expect(rows.rows[0].error).toMatch(/cannot write backups/);
  });

  it('a failure inside a recorded run is counted once', async () => {
    // No ratings: training fails inside its recorded run.
    const { trainModel } = await import('../../src/core/training/train.js');
    await expect(trainModel(t.db, { algorithm: 'popular', modelsDir: path.join(dir, 'models') })).rejects.toThrow(
      /no ratings/,
    );
    const text = await scrape();
    expect(text).toContain('reco_job_runs_total{task="train",status="failed"} 1\n');
    expect(text).toContain('reco_job_runs_in_progress{task="train"} 0\n');
  });

  describe('users and ratings sizes', () => {
    beforeAll(async () => {
      const c = await t.db.query<{ id: number }>(`INSERT INTO clients (username) VALUES ('stats') RETURNING id`);
      await t.db.query(`INSERT INTO users (client_id, external_id) SELECT $1, g FROM generate_series(1, 2000) g`, [
        c.rows[0].id,
      ]);
      await t.db.query(
        `INSERT INTO movies (movie_id, title, genres) SELECT g, 'M ' || g, '{Drama}' FROM generate_series(1, 100) g`,
      );
    });

    it('are exact while small', async () => {
      expect(await rowCount(t.db, 'users')).toBe(2000);
      await t.db.query(
        `INSERT INTO ratings (user_id, movie_id, rating, rated_at) SELECT u.id, 1, 4, now() FROM users u WHERE u.external_id::int <= 10`,
      );
      expect(await rowCount(t.db, 'ratings')).toBe(10);
      await t.db.query(`DELETE FROM ratings`);
      expect(await rowCount(t.db, 'ratings')).toBe(0);
    });

    it('are estimated from the table size once large, without counting', async () => {
      // 200,000 ratings, well above the exact-count limit.
      await t.db.query(
        `INSERT INTO ratings (user_id, movie_id, rating, rated_at)
         SELECT u.id, m.g, 3, now() FROM users u CROSS JOIN generate_series(1, 100) m(g)`,
      );
      const pages = await t.db.query<{ n: number }>(`SELECT (pg_relation_size('ratings') / 8192)::int AS n`);
      expect(pages.rows[0].n).toBeGreaterThan(EXACT_COUNT_MAX_PAGES);
      const estimate = await rowCount(t.db, 'ratings');
      expect(Math.abs(estimate - 200_000) / 200_000).toBeLessThan(0.05);
      // Deleted rows keep their space until VACUUM: a count would see 190,000, the estimate does not.
      await t.db.query(`DELETE FROM ratings WHERE movie_id <= 5`);
      const after = await rowCount(t.db, 'ratings');
      expect(after).toBeGreaterThan(190_000 * 1.03);
      expect(Math.abs(after - 200_000) / 200_000).toBeLessThan(0.05);
      const text = await scrape();
      expect(Number(/^reco_catalogue_ratings (\S+)$/m.exec(text)![1])).toBe(after);
      expect(text).toMatch(/^reco_catalogue_users 2000$/m);
    }, 120_000);
  });
});
