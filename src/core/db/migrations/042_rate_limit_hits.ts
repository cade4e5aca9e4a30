import type { Migration } from './types.js';

/**
 * Login and registration attempts per address, shared by every replica of `reco serve` on one PostgreSQL
 * (src/server/rate-limit-store.ts). One row per limiter and address, counted in a fixed window that restarts once
 * `reset_at` has passed. Counters are not data: the table is UNLOGGED (a crash empties it, which only forgives some
 * attempts) and lives in its own schema, so backups of the current schema neither carry it nor count it as data.
 */
export const migration: Migration = {
  version: 42,
  name: 'rate_limit_hits',
  sql: `
CREATE SCHEMA IF NOT EXISTS reco_transient;
CREATE UNLOGGED TABLE reco_transient.rate_limit_hits (
  key      text PRIMARY KEY,
  hits     integer NOT NULL,
  reset_at timestamptz NOT NULL
);
CREATE INDEX rate_limit_hits_reset_at ON reco_transient.rate_limit_hits (reset_at);
`,
};
