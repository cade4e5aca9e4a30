import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { PGliteDatabase } from '../../src/core/db/engines/pglite.js';
import { runCli } from '../helpers/cli.js';
import { createPgDatabase, tempDir } from '../helpers/engines.js';

/** The CLI end to end, as an operator runs it: child processes, no TTY, real databases. */
describe('reco db / reco clients on the embedded engine', () => {
  const dataDir = tempDir();
  const env = { RECO_DATA_DIR: dataDir };
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('lists its commands in --help', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/db\s/);
    expect(r.stdout).toMatch(/clients\s/);
  });

  it('shows status of a fresh install with the migrations pending, then migrates', async () => {
    const before = await runCli(['db', 'status', '--json'], { env });
    expect(before.code).toBe(0);
    const s = JSON.parse(before.stdout);
    expect(s.engine).toBe('pglite');
    expect(s.location).toBe(path.join(dataDir, 'db'));
    expect(s.pending.length).toBeGreaterThan(0);
    const m = await runCli(['db', 'migrate', '--json'], { env });
    expect(m.code).toBe(0);
    expect(JSON.parse(m.stdout).applied.length).toBe(s.pending.length);
    const after = JSON.parse((await runCli(['db', 'status', '--json'], { env })).stdout);
    expect(after.pending).toEqual([]);
    expect(after.row_counts.movies).toBe(0);
  });

  it('creates a client from --password-stdin, stores only a hash, refuses a duplicate', async () => {
    const r = await runCli(['clients', 'create', 'acme', '--password-stdin', '--name', 'Acme TV', '--json'], {
      env,
      input: 'correct horse battery\n',
    });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ username: 'acme', name: 'Acme TV' });
    const dup = await runCli(['clients', 'create', 'ACME', '--password-stdin'], { env, input: 'another password' });
    expect(dup.code).not.toBe(0);
    expect(dup.stderr.trim()).toBe(
      'Error: the client username "ACME" is taken (usernames are compared without regard to letter case)',
    );
    const list = JSON.parse((await runCli(['clients', 'list', '--json'], { env })).stdout);
    expect(list.clients.map((c: any) => c.username)).toEqual(['acme']);
    expect(JSON.stringify(list)).not.toMatch(/argon2|password_hash/);
    const db = await PGliteDatabase.open(path.join(dataDir, 'db'));
    try {
      const row = await db.query<{ password_hash: string }>(
        `SELECT password_hash FROM clients WHERE username = 'acme'`,
      );
      expect(row.rows[0].password_hash).toMatch(/^\$argon2id\$/);
      expect(row.rows[0].password_hash).not.toContain('correct horse');
    } finally {
      await db.close();
    }
  });

  it('without a terminal and without --password-stdin, fails with one line instead of prompting', async () => {
    const r = await runCli(['clients', 'create', 'nopass'], { env });
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--password-stdin/);
  });

  it('creates a trusted client with --trusted; reco clients trust / --revoke flips the flag', async () => {
    const r = await runCli(['clients', 'create', 'ingestor', '--password-stdin', '--trusted', '--json'], {
      env,
      input: 'correct horse battery\n',
    });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ username: 'ingestor', trusted: true });
    const trustedOf = async () =>
      Object.fromEntries(
        JSON.parse((await runCli(['clients', 'list', '--json'], { env })).stdout).clients.map((c: any) => [
          c.username,
          c.trusted,
        ]),
      );
    expect(await trustedOf()).toMatchObject({ acme: false, ingestor: true });
    expect(JSON.parse((await runCli(['clients', 'trust', 'acme', '--json'], { env })).stdout)).toEqual({
      username: 'acme',
      trusted: true,
    });
    expect((await runCli(['clients', 'trust', 'ingestor', '--revoke'], { env })).code).toBe(0);
    expect(await trustedOf()).toMatchObject({ acme: true, ingestor: false });
    const missing = await runCli(['clients', 'trust', 'nobody'], { env });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr.trim()).toBe('Error: no client "nobody" (see reco clients list)');
  });

  it('tells a second process that the embedded database is in use, with the pid', async () => {
    const holder = await PGliteDatabase.open(path.join(dataDir, 'db'), { command: 'reco serve' });
    try {
      const r = await runCli(['db', 'status'], { env });
      expect(r.code).not.toBe(0);
      expect(r.stderr.trim()).toBe(
        `Error: the embedded database in ${path.join(dataDir, 'db')} is in use by reco serve, pid ${process.pid}; stop it or set DATABASE_URL to use a PostgreSQL server`,
      );
    } finally {
      await holder.close();
    }
    expect((await runCli(['db', 'status'], { env })).code).toBe(0);
  });

  it('refuses a data directory it cannot write, in one line', async () => {
    const file = path.join(dataDir, 'not-a-dir');
    fs.writeFileSync(file, '');
    const r = await runCli(['db', 'status'], { env: { RECO_DATA_DIR: file } });
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim()).toMatch(/^Error: the data directory .* is not writable/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('reco db on PostgreSQL (DATABASE_URL)', () => {
  let made: { url: string; drop(): Promise<void> };
  beforeAll(async () => {
    made = await createPgDatabase();
  });
  afterAll(() => made.drop());

  it('two `reco db migrate` started at once both succeed and apply each migration once', async () => {
    const env = { DATABASE_URL: made.url };
    const [a, b] = await Promise.all([
      runCli(['db', 'migrate', '--json'], { env }),
      runCli(['db', 'migrate', '--json'], { env }),
    ]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const appliedA = JSON.parse(a.stdout).applied.length;
    const appliedB = JSON.parse(b.stdout).applied.length;
    const client = new pg.Client({ connectionString: made.url });
    await client.connect();
    try {
      const r = await client.query('SELECT version, count(*)::int AS n FROM schema_migrations GROUP BY version');
      expect(r.rows.every((x) => x.n === 1)).toBe(true);
      expect(appliedA + appliedB).toBe(r.rows.length);
    } finally {
      await client.end();
    }
  });

  it('db status shows the engine and masks the password', async () => {
    const u = new URL(made.url);
    u.password = 's3cret';
    const r = await runCli(['db', 'status', '--json'], { env: { DATABASE_URL: u.toString() } });
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.engine).toBe('postgres');
    expect(s.location).not.toContain('s3cret');
    expect(s.location).toContain('****');
    expect(s.pending).toEqual([]);
  });

  it('a database at a newer schema version is refused in one line', async () => {
    const client = new pg.Client({ connectionString: made.url });
    await client.connect();
    await client.query(`INSERT INTO schema_migrations (version, name, checksum) VALUES (9999, 'future', 'x')`);
    await client.end();
    const r = await runCli(['clients', 'list'], { env: { DATABASE_URL: made.url } });
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim()).toMatch(/^Error: the database schema is at version 9999, newer than this reco knows/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it.each([
    ['not a url', 'foo', /DATABASE_URL is not a valid URL/],
    ['wrong scheme', 'mysql://root@127.0.0.1/x', /must start with postgres:\/\//],
    ['unreachable server', 'postgres://postgres@127.0.0.1:1/x', /connection refused/],
    ['missing database', 'postgres://postgres@127.0.0.1:5432/reco_no_such_db_xyz', /does not exist/],
  ])('%s: one clear line and a non-zero exit', async (_name, url, pattern) => {
    const r = await runCli(['db', 'status'], { env: { DATABASE_URL: url } });
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(pattern);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
