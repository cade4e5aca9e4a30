import fs from 'node:fs';
import path from 'node:path';
import { createBackup, restoreBackup, tableDigests, verifyArchive } from '../../src/core/backup/index.js';
import { ContainerWriter, readContainer } from '../../src/core/backup/container.js';
import { createTestDatabase, describeEachEngine, tempDir } from '../helpers/engines.js';
import { addAwkwardRows, dataDigests, loadMovieLens } from './movielens.js';

function corruptCopy(file: string, mutate: (b: Buffer) => Buffer): string {
  const out = path.join(path.dirname(file), `bad-${Math.random().toString(36).slice(2)}.reco.gz`);
  fs.writeFileSync(out, mutate(fs.readFileSync(file)));
  return out;
}

describeEachEngine('backup and restore', (t) => {
  const dir = tempDir('reco-backup-');
  let archive: string;
  let before: Record<string, { rows: number; sha256: string }>;
  const ctx = t;

  beforeAll(async () => {
    await loadMovieLens(ctx.db, { maxUser: 40 });
    await addAwkwardRows(ctx.db);
    before = await tableDigests(ctx.db);
    const r = await createBackup(ctx.db, { outDir: dir });
    archive = r.file;
  }, 120_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes an archive whose manifest has every table, its rows and SHA-256, and records the run', async () => {
    expect(path.basename(archive)).toMatch(/^reco-backup-\d{8}T\d{9}Z\.reco\.gz$/);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const { manifest } = await verifyArchive(archive);
    expect(manifest.engine).toBe(ctx.engine);
    expect(manifest.schema.version).toBeGreaterThanOrEqual(1);
    const names = manifest.tables.map((x) => x.name);
    expect(names).not.toContain('schema_migrations');
    for (const [name, d] of Object.entries(dataDigests(before))) {
      const m = manifest.tables.find((x) => x.name === name)!;
      expect({ name, rows: m.rows, sha256: m.sha256 }).toEqual({ name, ...d });
    }
    // Parents before children: ratings after users and movies, users after clients.
    expect(names.indexOf('users')).toBeGreaterThan(names.indexOf('clients'));
    expect(names.indexOf('ratings')).toBeGreaterThan(names.indexOf('users'));
    expect(names.indexOf('ratings')).toBeGreaterThan(names.indexOf('movies'));
    const jobs = await ctx.db.query(`SELECT status, details FROM job_runs WHERE job = 'backup'`);
    expect(jobs.rows).toHaveLength(1);
    expect(jobs.rows[0]).toMatchObject({ status: 'succeeded', details: { file: archive } });
  });

  it('restores into an empty database: identical checksums and counts, sequences past the restored ids', async () => {
    const target = await createTestDatabase(ctx.engine);
    try {
      const r = await restoreBackup(target.db, archive);
      expect(r.replaced).toBe(false);
      expect(dataDigests(await tableDigests(target.db))).toEqual(dataDigests(before));
      // The planner knows the restored tables' sizes (planner-stats.ts): reltuples is -1 until an ANALYZE.
      const estimate = await target.db.query<{ n: number }>(
        `SELECT reltuples::float8 AS n FROM pg_class WHERE oid = 'ratings'::regclass`,
      );
      const stored = await target.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ratings`);
      expect(Number(estimate.rows[0].n)).toBe(stored.rows[0].n);
      const next = await target.db.query<{ id: number }>(
        `INSERT INTO users (client_id, external_id) VALUES (1, 123456) RETURNING id`,
      );
      const maxUser = await ctx.db.query<{ m: number }>(`SELECT max(id)::int AS m FROM users`);
      expect(next.rows[0].id).toBe(maxUser.rows[0].m + 1);
      // The backup's job log is there, plus this restore's own record.
      const jobs = await target.db.query<{ job: string; status: string }>(
        `SELECT job, status FROM job_runs ORDER BY id`,
      );
      expect(jobs.rows.map((j) => `${j.job}:${j.status}`)).toEqual(['backup:running', 'restore:succeeded']);
      // The restore's record has its real duration, not the zero of now() inside one transaction.
      const run = await target.db.query<{ ms: number; details: any }>(
        `SELECT extract(epoch FROM finished_at - started_at) * 1000 AS ms, details FROM job_runs WHERE job = 'restore'`,
      );
      expect(Number(run.rows[0].ms)).toBeGreaterThan(0);
      expect(run.rows[0].details).toMatchObject({ file: archive, rows: r.rows, replaced: false });
    } finally {
      await target.drop();
    }
  });

  it('refuses a non-empty database without --force and leaves it untouched', async () => {
    await expect(restoreBackup(ctx.db, archive)).rejects.toThrow(/not empty .*--force/);
    expect(dataDigests(await tableDigests(ctx.db))).toEqual(dataDigests(before));
  });

  it('refuses a corrupted archive and a truncated one with a clear message; the database is untouched', async () => {
    const jobsBefore = (await tableDigests(ctx.db)).job_runs;
    const flipAt = (at: (n: number) => number) =>
      corruptCopy(archive, (b) => {
        const c = Buffer.from(b);
        c[at(c.length)] ^= 0xff;
        return c;
      });
    const flipped = flipAt((n) => Math.floor(n / 2));
    // Anywhere in the file: the gzip header, the deflate data, the CRC-32 and the length trailer.
    for (const at of [
      () => 3,
      (n: number) => Math.floor(n / 4),
      (n: number) => Math.floor((n * 3) / 4),
      (n: number) => n - 6,
      (n: number) => n - 2,
    ]) {
      await expect(verifyArchive(flipAt(at))).rejects.toThrow(/cannot be used|is not a reco backup archive/);
    }
    const truncated = corruptCopy(archive, (b) => b.subarray(0, Math.floor(b.length * 0.7)));
    const garbage = corruptCopy(archive, () => Buffer.from('movieId,title\n1,Toy Story\n'));
    await expect(verifyArchive(flipped)).rejects.toThrow(/is corrupted|is truncated/);
    await expect(verifyArchive(truncated)).rejects.toThrow(/is truncated/);
    await expect(verifyArchive(garbage)).rejects.toThrow(/is not a reco backup archive/);
    await expect(restoreBackup(ctx.db, flipped, { force: true })).rejects.toThrow(/cannot be used/);
    await expect(restoreBackup(ctx.db, truncated, { force: true })).rejects.toThrow(/truncated/);
    const after = await tableDigests(ctx.db);
    expect(dataDigests(after)).toEqual(dataDigests(before));
    expect(after.job_runs).toEqual(jobsBefore);
  });

  it('refuses an archive whose checksum does not match its manifest (intact gzip, tampered manifest)', async () => {
    const tampered = path.join(dir, 'tampered.reco.gz');
    const w = new ContainerWriter(tampered);
    for await (const rec of readContainer(archive)) {
      if (rec.type === 'M') {
        const m = JSON.parse(rec.payload.toString());
        m.tables.find((x: any) => x.name === 'ratings').sha256 = '0'.repeat(64);
        await w.json('M', m);
      } else await w.record(rec.type, rec.payload);
    }
    await w.finish();
    await expect(verifyArchive(tampered)).rejects.toThrow(/SHA-256 of table ratings does not match/);
  });

  it('refuses a backup from a newer schema than this reco knows', async () => {
    const newer = path.join(dir, 'newer.reco.gz');
    const w = new ContainerWriter(newer);
    for await (const rec of readContainer(archive)) {
      if (rec.type === 'M') {
        const m = JSON.parse(rec.payload.toString());
        m.schema.version = 9999;
        m.schema.migrations.push({ version: 9999, name: 'future', checksum: 'x' });
        await w.json('M', m);
      } else await w.record(rec.type, rec.payload);
    }
    await w.finish();
    await expect(restoreBackup(ctx.db, newer, { force: true })).rejects.toThrow(
      /schema version 9999 is newer than this reco knows/,
    );
    expect(dataDigests(await tableDigests(ctx.db))).toEqual(dataDigests(before));
  });

  it('restores into a database that was never migrated: migrates it to the backup version first', async () => {
    const target = await createTestDatabase(ctx.engine, { migrate: false });
    try {
      await restoreBackup(target.db, archive);
      expect(dataDigests(await tableDigests(target.db))).toEqual(dataDigests(before));
      const versions = await target.db.query<{ version: number }>(
        `SELECT version FROM schema_migrations ORDER BY version`,
      );
      const { manifest } = await verifyArchive(archive);
      expect(versions.rows.map((v) => v.version)).toEqual(manifest.schema.migrations.map((m) => m.version));
    } finally {
      await target.drop();
    }
  });

  it('all or nothing: a table that fails to load rolls back the whole restore, which is recorded as failed', async () => {
    // A well-formed archive (checksums recomputed) whose ratings name a movie that does not exist.
    const broken = path.join(dir, 'broken.reco.gz');
    const w = new ContainerWriter(broken);
    let current = '';
    const extra = Buffer.from('1,424242,4,2020-01-01 00:00:00+00\n');
    for await (const rec of readContainer(archive)) {
      if (rec.type === 'T') current = JSON.parse(rec.payload.toString()).name;
      if (rec.type === 'E' && current === 'ratings') await w.record('D', extra);
      if (rec.type === 'M') {
        const m = JSON.parse(rec.payload.toString());
        const r = m.tables.find((x: any) => x.name === 'ratings');
        const { createHash } = await import('node:crypto');
        const data: Buffer[] = [];
        let inRatings = false;
        for await (const x of readContainer(archive)) {
          if (x.type === 'T') inRatings = JSON.parse(x.payload.toString()).name === 'ratings';
          else if (x.type === 'D' && inRatings) data.push(x.payload);
        }
        data.push(extra);
        const all = Buffer.concat(data);
        Object.assign(r, {
          rows: r.rows + 1,
          bytes: all.length,
          sha256: createHash('sha256').update(all).digest('hex'),
        });
        await w.json('M', m);
        continue;
      }
      await w.record(rec.type, rec.payload);
    }
    await w.finish();
    await verifyArchive(broken);
    const failedBefore = (
      await ctx.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM job_runs WHERE job = 'restore' AND status = 'failed'`,
      )
    ).rows[0].n;
    await expect(restoreBackup(ctx.db, broken, { force: true })).rejects.toThrow(
      /restoring table ratings failed, so nothing was restored: .*foreign key/,
    );
    expect(dataDigests(await tableDigests(ctx.db))).toEqual(dataDigests(before));
    const failed = await ctx.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM job_runs WHERE job = 'restore' AND status = 'failed'`,
    );
    expect(failed.rows[0].n).toBe(failedBefore + 1);
  });

  it('with --force replaces the data in one transaction: changes made since the backup are gone, the job log is kept', async () => {
    await ctx.db.query(`DELETE FROM ratings WHERE user_id = 2`);
    await ctx.db.query(`INSERT INTO movies (movie_id, title) VALUES (999002, 'Added later')`);
    const jobsBefore = await ctx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM job_runs`);
    const r = await restoreBackup(ctx.db, archive, { force: true });
    expect(r.replaced).toBe(true);
    expect(dataDigests(await tableDigests(ctx.db))).toEqual(dataDigests(before));
    const jobs = await ctx.db.query<{ job: string; status: string }>(`SELECT job, status FROM job_runs ORDER BY id`);
    // backup's own row (as in the snapshot) + the target's rows (kept) + this restore
    expect(jobs.rows).toHaveLength(1 + jobsBefore.rows[0].n + 1);
    expect(jobs.rows.at(-1)).toEqual({ job: 'restore', status: 'succeeded' });
  });

  it('--keep N prunes the oldest archives beyond N, never the one just written', async () => {
    const keepDir = path.join(dir, 'keep');
    fs.mkdirSync(keepDir);
    // Older archives (and one pg_dump file) by name, plus an unrelated file that must survive.
    for (const stamp of ['20200101T000000000Z', '20200102T000000000Z', '20200103T000000000Z'])
      fs.writeFileSync(path.join(keepDir, `reco-backup-${stamp}.reco.gz`), 'x');
    fs.writeFileSync(path.join(keepDir, 'reco-backup-20200101T000000000Z.sql'), 'x');
    fs.writeFileSync(path.join(keepDir, 'notes.txt'), 'keep me');
    const r = await createBackup(ctx.db, { outDir: keepDir, keep: 2 });
    expect(r.pruned.map((f) => path.basename(f)).sort()).toEqual([
      'reco-backup-20200101T000000000Z.reco.gz',
      'reco-backup-20200102T000000000Z.reco.gz',
    ]);
    expect(fs.readdirSync(keepDir).sort()).toEqual(
      ['notes.txt', 'reco-backup-20200103T000000000Z.reco.gz', path.basename(r.file)].sort(),
    );
    const r1 = await createBackup(ctx.db, { outDir: keepDir, keep: 1 });
    expect(fs.readdirSync(keepDir).sort()).toEqual(['notes.txt', path.basename(r1.file)].sort());
    await verifyArchive(r1.file);
  });
});

describe('backup while a writer inserts users and ratings', () => {
  for (const engine of ['postgres', 'pglite'] as const) {
    it(`restores to one point in time [${engine}]`, async () => {
      const source = await createTestDatabase(engine);
      const target = await createTestDatabase(engine);
      const dir = tempDir('reco-backup-conc-');
      try {
        await loadMovieLens(source.db, { maxUser: 20 });
        const movies = (
          await source.db.query<{ movie_id: number }>(`SELECT movie_id FROM movies ORDER BY movie_id LIMIT 50`)
        ).rows.map((m) => m.movie_id);
        let external = 1_000_000;
        // One transaction per new user: the user, its ratings, and its rating_count, all or nothing.
        const writeOne = () =>
          source.db.transaction(async (tx) => {
            const u = await tx.query<{ id: number }>(
              `INSERT INTO users (client_id, external_id) VALUES (1, $1) RETURNING id`,
              [external++],
            );
            const n = 3 + (external % 5);
            for (let i = 0; i < n; i++)
              await tx.query(`INSERT INTO ratings (user_id, movie_id, rating, rated_at) VALUES ($1, $2, 4, now())`, [
                u.rows[0].id,
                movies[i],
              ]);
            await tx.query(`UPDATE users SET rating_count = $2 WHERE id = $1`, [u.rows[0].id, n]);
          });
        let stop = false;
        let written = 0;
        const writer = (async () => {
          while (!stop) {
            await writeOne();
            written++;
            // A pause between transactions, as a real writer has; PGlite's queue would otherwise starve the backup.
            await new Promise((r) => setTimeout(r, 2));
          }
        })();
        while (written < 3) await new Promise((r) => setTimeout(r, 5));
        let duringSnapshot: Promise<void> | undefined;
        const r = await createBackup(source.db, {
          outDir: dir,
          // PostgreSQL: commit more users while the snapshot is being copied (they must not appear in it).
          // PGlite serialises transactions, so its writer simply waits for the snapshot.
          // Between users and ratings: a snapshot that is not one point in time would hold ratings of users it lacks.
          afterTable: async (table) => {
            if (table !== 'users') return;
            duringSnapshot = (async () => {
              for (let i = 0; i < 3; i++) await writeOne();
            })();
            if (engine === 'postgres') await duringSnapshot;
          },
        });
        stop = true;
        await writer;
        await duringSnapshot;
        await restoreBackup(target.db, r.file);
        const bad = await target.db.query(
          `SELECT u.id, u.rating_count, count(r.user_id)::int AS n FROM users u LEFT JOIN ratings r ON r.user_id = u.id GROUP BY u.id HAVING u.rating_count <> count(r.user_id)`,
        );
        expect(bad.rows).toEqual([]);
        const restoredUsers = (await target.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM users`)).rows[0].n;
        const sourceUsers = (await source.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM users`)).rows[0].n;
        const manifestUsers = r.manifest.tables.find((x) => x.name === 'users')!.rows;
        expect(restoredUsers).toBe(manifestUsers);
        expect(restoredUsers).toBeGreaterThan(20);
        if (engine === 'postgres') expect(restoredUsers).toBeLessThanOrEqual(sourceUsers - 3);
      } finally {
        await source.drop();
        await target.drop();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }, 120_000);
  }
});
