import fs from 'node:fs';
import path from 'node:path';
import { PGliteDatabase } from '../../src/core/db/engines/pglite.js';
import { PostgresDatabase } from '../../src/core/db/engines/postgres.js';
import { migrate } from '../../src/core/db/migrate.js';
import { runCli } from '../helpers/cli.js';
import { createPgDatabase, tempDir } from '../helpers/engines.js';
import { loadMovieLens } from './movielens.js';

/** reco backup-db / restore-db as an operator runs them: child processes, no TTY, real databases. */
describe('reco backup-db / restore-db on the embedded engine', () => {
  const dataDir = tempDir('reco-backup-cli-');
  const env = { RECO_DATA_DIR: dataDir };
  let archive: string;
  let loaded: { movies: number; users: number; ratings: number };
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  beforeAll(async () => {
    const db = await PGliteDatabase.open(path.join(dataDir, 'db'));
    try {
      await migrate(db);
      loaded = await loadMovieLens(db, { maxUser: 15 });
    } finally {
      await db.close();
    }
  }, 60_000);

  it('explains itself in --help, with examples', async () => {
    const r = await runCli(['backup-db', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--keep/);
    expect(r.stdout).toMatch(/--verify/);
    expect(r.stdout).toMatch(/EXAMPLES/);
  });

  it('backs up into data/backups by default and prints the result as JSON', async () => {
    const r = await runCli(['backup-db', '--json', '--keep', '3'], { env });
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    archive = out.file;
    expect(path.dirname(archive)).toBe(path.join(dataDir, 'backups'));
    expect(fs.existsSync(archive)).toBe(true);
    expect(out.engine).toBe('pglite');
    expect(out.tables.find((t: any) => t.name === 'ratings').rows).toBe(loaded.ratings);
    expect(out.tables.find((t: any) => t.name === 'movies').rows).toBe(loaded.movies);
  });

  it('--verify checks an archive without a database; a truncated one fails with one line', async () => {
    const ok = await runCli(['backup-db', '--verify', archive, '--json'], {
      env: { RECO_DATA_DIR: '/nonexistent/never-created' },
    });
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, engine: 'pglite' });
    const cut = path.join(dataDir, 'cut.reco.gz');
    const bytes = fs.readFileSync(archive);
    fs.writeFileSync(cut, bytes.subarray(0, bytes.length - 100));
    const bad = await runCli(['backup-db', '--verify', cut], { env });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/^Error: the backup archive .*cut\.reco\.gz is truncated/);
  });

  it('restore-db refuses the non-empty database without --force, then replaces it with --force', async () => {
    const refused = await runCli(['restore-db', archive], { env });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr.trim()).toMatch(/^Error: the database is not empty \(.*\); pass --force/);
    const r = await runCli(['restore-db', archive, '--force', '--json'], { env });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ replaced: true, engine: 'pglite', backup_engine: 'pglite' });
    expect(out.tables.find((t: any) => t.name === 'ratings').rows).toBe(loaded.ratings);
  });

  it('restores into a fresh data directory, which then reports the same counts', async () => {
    const fresh = tempDir('reco-backup-cli-fresh-');
    try {
      const r = await runCli(['restore-db', archive], { env: { RECO_DATA_DIR: fresh } });
      expect(r.stderr).not.toMatch(/Error/);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^Restored \d+ tables \(\d+ rows\)/);
      const status = JSON.parse((await runCli(['db', 'status', '--json'], { env: { RECO_DATA_DIR: fresh } })).stdout);
      expect(status.row_counts).toMatchObject({
        ratings: loaded.ratings,
        users: loaded.users,
        movies: loaded.movies,
        clients: 1,
      });
    } finally {
      fs.rmSync(fresh, { recursive: true, force: true });
    }
  });

  it('--format sql on the embedded engine writes the archive and says why there is no SQL dump', async () => {
    const out = tempDir('reco-backup-cli-out-');
    try {
      const r = await runCli(['backup-db', '--format', 'sql', '--out', out], { env });
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/No SQL dump: the embedded engine has no pg_dump/);
      expect(fs.readdirSync(out).filter((f) => f.endsWith('.reco.gz'))).toHaveLength(1);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});

describe('reco backup-db --format sql on PostgreSQL', () => {
  it('writes a pg_dump file beside the archive', async () => {
    const made = await createPgDatabase();
    const out = tempDir('reco-backup-cli-pg-');
    try {
      const db = await PostgresDatabase.connect(made.url);
      try {
        await migrate(db);
        await loadMovieLens(db, { maxUser: 5 });
      } finally {
        await db.close();
      }
      const r = await runCli(['backup-db', '--format', 'sql', '--out', out, '--json'], {
        env: { DATABASE_URL: made.url },
      });
      expect(r.stderr).not.toMatch(/Error/);
      expect(r.code).toBe(0);
      const res = JSON.parse(r.stdout);
      expect(res.engine).toBe('postgres');
      expect(res.sql_dump.file).toBe(res.file.replace(/\.reco\.gz$/, '.sql'));
      const sql = fs.readFileSync(res.sql_dump.file, 'utf8');
      expect(sql).toMatch(/CREATE TABLE public\.ratings/);
      expect(sql).toMatch(/COPY public\.ratings/);
    } finally {
      await made.drop();
      fs.rmSync(out, { recursive: true, force: true });
    }
  }, 60_000);
});
