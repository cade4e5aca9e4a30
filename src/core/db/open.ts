import { dataPaths, type RecoConfig } from '../config.js';
import { PGliteDatabase } from './engines/pglite.js';
import { PostgresDatabase } from './engines/postgres.js';
import { migrate } from './migrate.js';
import type { Database } from './types.js';

export interface OpenOptions {
  /** Apply pending migrations first (default true: every command gets an up-to-date schema). */
  migrate?: boolean;
  /** Shown to a second process that finds the embedded database locked, e.g. "reco serve". */
  command?: string;
  /** Pool size for PostgreSQL. */
  poolSize?: number;
}

/** The engine the configuration selects: PostgreSQL when DATABASE_URL is set, else PGlite under data/db. */
export async function openDatabase(config: Pick<RecoConfig, 'databaseUrl' | 'dataDir'>, options: OpenOptions = {}): Promise<Database> {
  const db: Database = config.databaseUrl
    ? await PostgresDatabase.connect(config.databaseUrl, { max: options.poolSize, applicationName: options.command })
    : await PGliteDatabase.open(dataPaths(config.dataDir).embeddedDb, { command: options.command });
  if (options.migrate !== false) {
    try {
      await migrate(db);
    } catch (err) {
      await db.close().catch(() => {});
      throw err;
    }
  }
  return db;
}

/** Opens, runs `fn`, and always closes (releasing the embedded engine's lock). */
export async function withDatabase<T>(config: Pick<RecoConfig, 'databaseUrl' | 'dataDir'>, fn: (db: Database) => Promise<T>, options: OpenOptions = {}): Promise<T> {
  const db = await openDatabase(config, options);
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}
