import path from 'node:path';
import { z } from 'zod';
import { RecoError } from './errors.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Everything reco reads from the environment, in one place. Secrets come only from here, never from files in git. */
export interface RecoConfig {
  /** PostgreSQL connection string; unset means the embedded engine (PGlite) under `dataDir/db`. */
  databaseUrl?: string;
  /** Root of data/ (initial_data, simulation_data, raw, processed, no_injected_data, backups, db). */
  dataDir: string;
  /** Where trained model artifacts are written. */
  modelsDir: string;
  /** HS256 secret for API tokens; required in production, otherwise generated and kept in the data directory. */
  jwtSecret?: string;
  /** When set, POST /create-client requires the header X-Admin-Token with this value. */
  adminToken?: string;
  /** HMAC-SHA-256 key for backup archives: backups are signed with it, and verify/restore accept only archives it signed. */
  backupKey?: string;
  /** Per-client write quotas of the API, per clock hour (0 = no limit); counted in the database. */
  quotas: QuotaLimits;
  /** Lifetime of API tokens in seconds. */
  tokenTtlSeconds: number;
  /** Group commit of the API's single writes (src/server/write-groups.ts); RECO_WRITE_GROUPS=off writes each alone. */
  writeGroups?: boolean;
  /**
   * Connections of `reco serve`'s (and quickstart's) PostgreSQL pool, per server process (RECO_DB_POOL_SIZE, default
   * 10): replicas × this must stay within the server's max_connections, less what ingest, training and backups use.
   */
  dbPoolSize: number;
  /**
   * The API's statements as named (prepared) statements on PostgreSQL (RECO_DB_PREPARED_STATEMENTS, default on);
   * off for a connection pooler in transaction mode that does not keep them (PgBouncer before 1.21).
   */
  dbPreparedStatements?: boolean;
  production: boolean;
  logLevel: LogLevel;
}

export interface QuotaLimits {
  /** Users a client may create per hour through POST /recommendations. */
  usersPerHour: number;
  /** Ratings a client may store per hour (new or changed) through POST /recommendations. */
  ratingsPerHour: number;
}

/** Enough for a platform onboarding its users steadily; a flood of invented users or histories hits them. */
export const DEFAULT_QUOTAS: QuotaLimits = { usersPerHour: 5000, ratingsPerHour: 100_000 };

const envSchema = z.object({
  DATABASE_URL: z.string().trim().min(1).optional(),
  RECO_DATA_DIR: z.string().trim().min(1).optional(),
  RECO_MODELS_DIR: z.string().trim().min(1).optional(),
  RECO_JWT_SECRET: z.string().min(1).optional(),
  RECO_ADMIN_TOKEN: z.string().min(1).optional(),
  RECO_BACKUP_KEY: z.string().min(32, 'use at least 32 characters (e.g. openssl rand -hex 32)').optional(),
  RECO_QUOTA_USERS_PER_HOUR: z.coerce
    .number()
    .int()
    .nonnegative()
    .max(2 ** 31 - 1)
    .optional(),
  RECO_QUOTA_RATINGS_PER_HOUR: z.coerce
    .number()
    .int()
    .nonnegative()
    .max(2 ** 31 - 1)
    .optional(),
  RECO_TOKEN_TTL: z.coerce
    .number()
    .int()
    .positive()
    .max(7 * 24 * 3600)
    .optional(),
  RECO_WRITE_GROUPS: z.enum(['on', 'off']).optional(),
  RECO_DB_POOL_SIZE: z.coerce.number().int().min(1).max(500).optional(),
  RECO_DB_PREPARED_STATEMENTS: z.enum(['on', 'off']).optional(),
  NODE_ENV: z.string().optional(),
  LOG_LEVEL: z.enum(LOG_LEVELS).optional(),
});

export function loadConfig(env: NodeJS.ProcessEnv = process.env): RecoConfig {
  // Empty strings count as unset: `DATABASE_URL= reco db status` means "embedded".
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new RecoError(`invalid environment variable ${issue.path.join('.')}: ${issue.message}`);
  }
  const e = parsed.data;
  const production = e.NODE_ENV === 'production';
  return {
    databaseUrl: e.DATABASE_URL,
    dataDir: path.resolve(e.RECO_DATA_DIR ?? 'data'),
    modelsDir: path.resolve(e.RECO_MODELS_DIR ?? 'models'),
    jwtSecret: e.RECO_JWT_SECRET,
    adminToken: e.RECO_ADMIN_TOKEN,
    backupKey: e.RECO_BACKUP_KEY,
    quotas: {
      usersPerHour: e.RECO_QUOTA_USERS_PER_HOUR ?? DEFAULT_QUOTAS.usersPerHour,
      ratingsPerHour: e.RECO_QUOTA_RATINGS_PER_HOUR ?? DEFAULT_QUOTAS.ratingsPerHour,
    },
    tokenTtlSeconds: e.RECO_TOKEN_TTL ?? 3600,
    writeGroups: e.RECO_WRITE_GROUPS !== 'off',
    dbPoolSize: e.RECO_DB_POOL_SIZE ?? 10,
    dbPreparedStatements: e.RECO_DB_PREPARED_STATEMENTS !== 'off',
    production,
    logLevel: e.LOG_LEVEL ?? 'info',
  };
}

/** The well-known sub-folders of the data directory (docs/ingest.md, "Stages"). */
export function dataPaths(dataDir: string) {
  return {
    root: dataDir,
    initialData: path.join(dataDir, 'initial_data'),
    simulationData: path.join(dataDir, 'simulation_data'),
    raw: path.join(dataDir, 'raw'),
    processed: path.join(dataDir, 'processed'),
    rejected: path.join(dataDir, 'no_injected_data'),
    backups: path.join(dataDir, 'backups'),
    external: path.join(dataDir, 'external'),
    embeddedDb: path.join(dataDir, 'db'),
  };
}
