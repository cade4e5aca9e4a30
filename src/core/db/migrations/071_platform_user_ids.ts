import type { Migration } from './types.js';

/**
 * A platform's own user ids (docs/api.md, "Your user ids"): `users.external_id` becomes text, 1–128 characters
 * of [A-Za-z0-9._:@-]. Integer ids — the daily files' userId, the ids the API generated — keep their decimal
 * form, so every existing id is still the same id. The collation is "C": ids compare byte by byte, as the index
 * of (client_id, external_id) should, whatever the database's locale.
 *
 * The API generates the next id of a client as its largest integer id + 1: the expression index keeps that an
 * index lookup instead of a scan of the client's users.
 *
 * The history trigger of migration 031 names external_id in its column list, which PostgreSQL does not let a type
 * change through: it is dropped and created again, unchanged.
 */
export const migration: Migration = {
  version: 71,
  name: 'platform_user_ids',
  sql: `
DROP TRIGGER users_notify_history_changed ON users;
ALTER TABLE users ALTER COLUMN external_id TYPE text COLLATE "C" USING external_id::text;
ALTER TABLE users ADD CONSTRAINT users_external_id_format CHECK (external_id ~ '^[A-Za-z0-9._:@-]{1,128}$');
CREATE INDEX users_integer_external_id_idx ON users (client_id, (CASE WHEN external_id ~ '^[1-9][0-9]{0,17}$' THEN external_id::bigint END));
CREATE TRIGGER users_notify_history_changed
  AFTER DELETE OR UPDATE OF id, client_id, external_id ON users
  FOR EACH STATEMENT EXECUTE FUNCTION reco_notify_history_changed();
`,
};
