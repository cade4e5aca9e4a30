import type { Migration } from './types.js';

/**
 * Feedback events of POST /feedback (docs/api.md, "Feedback").
 * - `feedback_events`: every accepted event, once. The primary key is the event's identity — the user, the movie,
 *   the type and the time it happened — so a retried batch stores nothing twice (INSERT … ON CONFLICT DO NOTHING).
 *   `recommendation_id` ties an event to the answer it followed (for experiments' conversions).
 * - `user_exclusions`: movies a user disliked or skipped, never recommended to that user again (one row per user
 *   and movie). Its writes notify the servers' history caches like the ratings trigger of migration 031: the
 *   users named in `reco.changed_users`, else everything.
 * Ratings, views and likes also go to `ratings` (a view or like as a liked movie), which training reads.
 * Like `ratings` (migration 011), neither table has foreign keys: the writer creates or locks the users in its own
 * transaction, and deleting or truncating users takes their events and exclusions with them (statement-level
 * triggers, nothing per inserted row), so TRUNCATE users and restores work as they did.
 */
export const migration: Migration = {
  version: 72,
  name: 'feedback',
  sql: `
CREATE TABLE feedback_events (
  user_id           bigint NOT NULL,
  movie_id          integer NOT NULL,
  type              text NOT NULL CHECK (type IN ('rating', 'view', 'like', 'dislike', 'skip')),
  occurred_at       timestamptz NOT NULL,
  rating            real CHECK (rating >= 0.5 AND rating <= 5 AND rating * 2 = floor(rating * 2)),
  recommendation_id text,
  received_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, movie_id, type, occurred_at),
  CHECK ((type = 'rating') = (rating IS NOT NULL))
);

CREATE TABLE user_exclusions (
  user_id    bigint NOT NULL,
  movie_id   integer NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, movie_id)
);

CREATE FUNCTION reco_delete_feedback_of_deleted_users() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM feedback_events f USING reco_deleted_feedback_users d WHERE f.user_id = d.id;
  DELETE FROM user_exclusions x USING reco_deleted_feedback_users d WHERE x.user_id = d.id;
  RETURN NULL;
END
$$;
CREATE TRIGGER users_delete_feedback
  AFTER DELETE ON users REFERENCING OLD TABLE AS reco_deleted_feedback_users
  FOR EACH STATEMENT EXECUTE FUNCTION reco_delete_feedback_of_deleted_users();

CREATE FUNCTION reco_truncate_feedback_of_users() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Only when there is something left: a TRUNCATE of users that names these tables too (a restore) has emptied them.
  IF EXISTS (SELECT 1 FROM feedback_events) THEN
    TRUNCATE feedback_events;
  END IF;
  IF EXISTS (SELECT 1 FROM user_exclusions) THEN
    TRUNCATE user_exclusions;
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER users_truncate_feedback
  AFTER TRUNCATE ON users
  FOR EACH STATEMENT EXECUTE FUNCTION reco_truncate_feedback_of_users();

CREATE FUNCTION reco_notify_exclusions_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  users text := CASE WHEN TG_OP <> 'TRUNCATE' THEN nullif(current_setting('reco.changed_users', true), '') END;
BEGIN
  PERFORM pg_notify('reco_history_changed', coalesce(users, '*'));
  RETURN NULL;
END
$$;
CREATE TRIGGER user_exclusions_notify_history_changed
  AFTER INSERT OR UPDATE OR DELETE ON user_exclusions
  FOR EACH STATEMENT EXECUTE FUNCTION reco_notify_exclusions_changed();
CREATE TRIGGER user_exclusions_notify_history_truncated
  AFTER TRUNCATE ON user_exclusions
  FOR EACH STATEMENT EXECUTE FUNCTION reco_notify_exclusions_changed();
`,
};
