import type { Migration } from './types.js';

/**
 * Which clients' ratings train the models and form the activation gate's holdout (docs/models.md, "Whose ratings
 * train"). An API client is untrusted by default: its users are served from their own histories, but what it
 * writes never shapes other tenants' recommendations. Clients without a password were made by `reco ingest`,
 * which loads the operator's daily files; they, and every client that has ingested files, start trusted.
 */
export const migration: Migration = {
  version: 51,
  name: 'trusted_clients',
  sql: `
ALTER TABLE clients ADD COLUMN trusted boolean NOT NULL DEFAULT false;
UPDATE clients SET trusted = true
 WHERE password_hash IS NULL
    OR id IN (SELECT client_id FROM ingest_files WHERE client_id IS NOT NULL)
    OR id IN (SELECT client_id FROM ingest_runs WHERE client_id IS NOT NULL);
`,
};
