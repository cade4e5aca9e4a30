import type { Migration } from './types.js';

/**
 * Per-client write quotas of the API (users created and ratings stored per clock hour), counted here so every
 * replica of the server shares one count. One row per client: the current window's start and its counts; a
 * write in a later hour starts the window again (src/core/db/repositories/quotas.ts).
 */
export const migration: Migration = {
  version: 52,
  name: 'client_quotas',
  sql: `
CREATE TABLE client_quota_usage (
  client_id      integer PRIMARY KEY REFERENCES clients(id) ON DELETE CASCADE,
  window_start   timestamptz NOT NULL,
  users_created  integer NOT NULL DEFAULT 0,
  ratings_stored integer NOT NULL DEFAULT 0
);
`,
};
