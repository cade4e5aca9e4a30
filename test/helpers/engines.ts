import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { migrate } from '../../src/core/db/migrate.js';
import { PGliteDatabase } from '../../src/core/db/engines/pglite.js';
import { PostgresDatabase } from '../../src/core/db/engines/postgres.js';
import type { Database, EngineName } from '../../src/core/db/types.js';

/**
 * Real databases for tests: the embedded engine (PGlite) and the local PostgreSQL server. Every call makes a
 * fresh, empty database of its own, so test files run in parallel without seeing each other.
 * RECO_TEST_PG_URL names the server's database to connect through (.ci/run makes a throwaway one per run).
 */
export const ENGINES: readonly EngineName[] = ['pglite', 'postgres'];

export const ADMIN_URL = process.env.RECO_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  engine: EngineName;
  db: Database;
  /** PostgreSQL: the connection string of this database (for child processes via DATABASE_URL). */
  url?: string;
  /** PGlite with `persist`: the data directory whose `db/` holds the database (for RECO_DATA_DIR). */
  dataDir?: string;
  /** Closes and deletes the database. */
  drop(): Promise<void>;
}

export interface CreateOptions {
  /** Apply the migrations (default true). */
  migrate?: boolean;
  /** PGlite: persist to a temp data directory instead of memory. */
  persist?: boolean;
}

export function tempDir(prefix = 'reco-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A new empty PostgreSQL database on the test server; returns its URL. */
export async function createPgDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `reco_t_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const a = new pg.Client({ connectionString: ADMIN_URL });
      await a.connect();
      try {
        await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await a.end();
      }
    },
  };
}

export async function createTestDatabase(engine: EngineName, options: CreateOptions = {}): Promise<TestDatabase> {
  if (engine === 'pglite') {
    const dataDir = options.persist ? tempDir() : undefined;
    const db = await PGliteDatabase.open(dataDir ? path.join(dataDir, 'db') : undefined, { command: 'jest' });
    if (options.migrate !== false) await migrate(db);
    return {
      engine,
      db,
      dataDir,
      async drop() {
        await db.close();
        if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }
  const made = await createPgDatabase();
  const db = await PostgresDatabase.connect(made.url, { max: 5 });
  if (options.migrate !== false) await migrate(db);
  return {
    engine,
    db,
    url: made.url,
    async drop() {
      await db.close();
      await made.drop();
    },
  };
}

/**
 * Runs the same suite once per engine with one database per engine for the whole describe block (a PGlite
 * start costs 2–4 s, so it is shared by the tests of a file). Tests must not assume an empty database
 * unless they clean up themselves.
 */
export function describeEachEngine(
  title: string,
  body: (t: { readonly db: Database; readonly engine: EngineName; readonly test: TestDatabase }) => void,
  options: CreateOptions = {},
): void {
  for (const engine of ENGINES) {
    describe(`${title} [${engine}]`, () => {
      let current: TestDatabase | undefined;
      const ctx = {
        get db() {
          if (!current) throw new Error('database not ready');
          return current.db;
        },
        engine,
        get test() {
          if (!current) throw new Error('database not ready');
          return current;
        },
      };
      beforeAll(async () => {
        current = await createTestDatabase(engine, options);
      }, 60_000);
      afterAll(async () => {
        await current?.drop();
      });
      body(ctx);
    });
  }
}
