import type { Migration } from './types.js';

/**
 * Tells running servers which users' histories changed, so that their in-memory history caches stay exact
 * (src/server/history-cache.ts). Statement-level triggers, so a bulk ingest pays one call per statement, not one
 * per row, and writers need no change: a writer that names the users it touches
 * (`set_config('reco.changed_users', '<users.id>,…', true)`, as the API does) invalidates just those, any other
 * write to `ratings`, a deleted or renumbered user, or a TRUNCATE invalidates everything ('*'). pg_notify is
 * delivered at commit, and not at all on rollback.
 */
export const migration: Migration = {
  version: 31,
  name: 'history_notify',
  sql: `
CREATE FUNCTION reco_notify_history_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  users text := CASE WHEN TG_TABLE_NAME = 'ratings' AND TG_OP <> 'TRUNCATE'
                     THEN nullif(current_setting('reco.changed_users', true), '') END;
BEGIN
  PERFORM pg_notify('reco_history_changed', coalesce(users, '*'));
  RETURN NULL;
END
$$;

CREATE TRIGGER ratings_notify_history_changed
  AFTER INSERT OR UPDATE OR DELETE ON ratings
  FOR EACH STATEMENT EXECUTE FUNCTION reco_notify_history_changed();
CREATE TRIGGER ratings_notify_history_truncated
  AFTER TRUNCATE ON ratings
  FOR EACH STATEMENT EXECUTE FUNCTION reco_notify_history_changed();
CREATE TRIGGER users_notify_history_changed
  AFTER DELETE OR UPDATE OF id, client_id, external_id ON users
  FOR EACH STATEMENT EXECUTE FUNCTION reco_notify_history_changed();
CREATE TRIGGER users_notify_history_truncated
  AFTER TRUNCATE ON users
  FOR EACH STATEMENT EXECUTE FUNCTION reco_notify_history_changed();
`,
};
