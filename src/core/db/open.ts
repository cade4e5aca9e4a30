import { setTimeout as sleep } from 'node:timers/promises';
import { dataPaths, type RecoConfig } from '../config.js';
import { isDatabaseUnavailable } from './errors.js';
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
  /** PostgreSQL: open the whole pool at once and keep idle connections (a server's pool: PostgresDatabase.connect). */
  keepOpen?: boolean;
  /**
   * PostgreSQL: keep trying to connect this long while the server is unreachable (refused, not resolvable, starting
   * up), waiting 0.5 s, 1 s, 2 s … (at most 5 s) between attempts; 0 (the default) fails at once. A refused login
   * or a missing database is not retried.
   */
  connectWaitMs?: number;
  /** Told about each failed attempt that will be retried (the one-line reason, the delay before the next). */
  onConnectRetry?: (reason: string, delayMs: number, attempt: number) => void;
}

const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 5000;

async function connectPostgres(url: string, preparedStatements: boolean, options: OpenOptions): Promise<Database> {
  const deadline = Date.now() + (options.connectWaitMs ?? 0);
  for (let attempt = 1; ; attempt++) {
    try {
      return await PostgresDatabase.connect(url, {
        max: options.poolSize,
        applicationName: options.command,
        keepOpen: options.keepOpen,
        preparedStatements,
      });
    } catch (err) {
      const delay = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (attempt - 1), deadline - Date.now());
      if (!isDatabaseUnavailable(err) || delay <= 0) throw err;
      options.onConnectRetry?.((err as Error).message, delay, attempt);
      await sleep(delay);
    }
  }
}

/** The engine the configuration selects: PostgreSQL when DATABASE_URL is set, else PGlite under data/db. */
export async function openDatabase(
  config: Pick<RecoConfig, 'databaseUrl' | 'dataDir' | 'dbPreparedStatements'>,
  options: OpenOptions = {},
): Promise<Database> {
  const db: Database = config.databaseUrl
    ? await connectPostgres(config.databaseUrl, config.dbPreparedStatements ?? true, options)
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
export async function withDatabase<T>(
  config: Pick<RecoConfig, 'databaseUrl' | 'dataDir' | 'dbPreparedStatements'>,
  fn: (db: Database) => Promise<T>,
  options: OpenOptions = {},
): Promise<T> {
  const db = await openDatabase(config, options);
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}
