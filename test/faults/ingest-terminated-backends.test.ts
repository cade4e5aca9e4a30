import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PostgresDatabase } from '../../src/core/db/engines/postgres.js';
import type { Database } from '../../src/core/db/types.js';
import { cliCommand, ROOT, runCli } from '../helpers/cli.js';
import { createPgDatabase, tempDir } from '../helpers/engines.js';
import { CATALOGUE, T0, writeBatch } from '../pipeline/fixtures.js';
import { childEnv } from '../helpers/cli.js';
import { databaseName, terminateBackends } from './support.js';

async function contents(db: Database) {
  const r = await db.query(
    `SELECT (SELECT count(*)::int FROM movies) AS movies, (SELECT count(*)::int FROM users) AS users,
            (SELECT count(*)::int FROM ratings) AS ratings, (SELECT count(*)::int FROM ingest_files) AS files,
            (SELECT coalesce(sum(rating), 0)::float8 FROM ratings) AS rating_sum`,
  );
  return r.rows[0];
}

/**
 * Runs `reco ingest` with the test pause inside its load transaction and terminates its PostgreSQL backends
 * there (`during`); resolves with the exit code and stderr.
 */
function ingestTerminatedDuringLoad(
  args: string[],
  env: Record<string, string>,
  during: () => Promise<unknown>,
): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...cliCommand(), ...args], {
      cwd: ROOT,
      env: childEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let stdout = '';
    let fired = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      if (!fired && stderr.includes('paused inside the load transaction')) {
        fired = true;
        during().catch(reject);
      }
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, stdout });
    });
  });
}

describe('reco ingest when PostgreSQL terminates its connection during the load', () => {
  it('exits 4 with one line, no stack trace, and leaves the database as it was', async () => {
    const dataDir = tempDir('reco-faults-ingest-');
    const pg = await createPgDatabase();
    const env = { RECO_DATA_DIR: dataDir, DATABASE_URL: pg.url };
    try {
      const src = path.join(dataDir, 'simulation_data');
      writeBatch(src, '2021-03-01', {
        movies: CATALOGUE,
        ratings: Array.from({ length: 500 }, (_, i) => `${i + 1},${(i % 4) + 1},3.0,${T0 + i}`),
      });
      expect((await runCli(['ingest', '--date', '2021-03-01', '--from', src], { env })).code).toBe(0);
      const db = await PostgresDatabase.connect(pg.url, { max: 1 });
      let before;
      try {
        before = await contents(db);
      } finally {
        await db.close();
      }

      writeBatch(src, '2021-03-02', {
        movies: ['5,Brand New (2021),Drama'],
        ratings: Array.from({ length: 3000 }, (_, i) => `${i + 1},${(i % 5) + 1},4.5,${T0 + 10_000 + i}`),
      });
      let terminated = 0;
      const r = await ingestTerminatedDuringLoad(
        ['ingest', '--from', src],
        { ...env, RECO_INGEST_TEST_PAUSE_MS: '1500' },
        async () => {
          terminated = await terminateBackends(databaseName(pg.url));
        },
      );
      expect(terminated).toBeGreaterThan(0);
      expect(r.code).toBe(4);
      const lines = r.stderr.split('\n').filter((l) => l && !l.startsWith('reco-ingest-test:'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^Error: loading 2021-03-02 into the database failed, nothing of it was kept: /);
      expect(r.stderr).not.toMatch(/\n\s+at /);

      const after = await PostgresDatabase.connect(pg.url, { max: 1 });
      try {
        expect(await contents(after)).toEqual(before);
      } finally {
        await after.close();
      }
    } finally {
      await pg.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
