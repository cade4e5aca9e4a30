import { genreSumsFunctionsSql } from '../../features/genre-profile.js';
import type { Migration } from './types.js';

/**
 * The API's two writes as one function call each (docs/architecture.md, "The API's writes"): POST /feedback
 * (`reco_store_feedback`) and a history of POST /recommendations (`reco_save_history`). Each is one statement
 * sent in autocommit, so a write costs one round trip and one commit, and is durable when its answer comes back.
 *
 * - The history NOTIFY after the commit. A transaction that notifies holds a cluster-wide lock through its commit,
 *   so writes that notify from their triggers cannot share a WAL flush. These functions set
 *   `reco.writer = 'api'` (transaction-local): the triggers of migrations 031 and 072 then send nothing for
 *   `ratings` and `user_exclusions`, and the server sends the users' ids itself once the write has committed,
 *   coalesced with the other writes that committed meanwhile (src/server/history-cache.ts). Every other writer
 *   (ingest, restores, SQL by hand) notifies from the triggers as before.
 * - The genre profile from sums (`users.genre_sums`, the functions of genreSumsFunctionsSql in
 *   src/core/features/genre-profile.ts, whose text is part of this migration): a write adds what it changed. A
 *   writer other than these functions that sets `characteristic` or `rating_count` (ingest's recomputation, the
 *   pipeline's vectors) makes the sums NULL, unknown (trigger `users_genre_sums_stale`).
 * - Quota counts in shards. `client_quota_usage` gets one row per client and shard (the writing connection's pid
 *   mod 32), so concurrent writes of one client do not queue on one row until their commit. A write reads the
 *   sum over the shards of the current hour; far from a limit (at most 90 % with this write) it adds to its shard
 *   without waiting for anyone, nearer it takes the client's advisory lock and counts again, so the limit is exact
 *   for writes one at a time and may be passed only by writes in flight together while the count was under 90 %.
 *   Over a limit, the function raises SQLSTATE RQ001 and the whole write is rolled back.
 */
export const migration: Migration = {
  version: 73,
  name: 'api_write_functions',
  sql: `
CREATE OR REPLACE FUNCTION reco_notify_history_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  users text;
BEGIN
  -- The API's write functions notify after their commit themselves.
  IF TG_TABLE_NAME = 'ratings' AND TG_OP <> 'TRUNCATE' AND current_setting('reco.writer', true) = 'api' THEN
    RETURN NULL;
  END IF;
  users := CASE WHEN TG_TABLE_NAME = 'ratings' AND TG_OP <> 'TRUNCATE'
                THEN nullif(current_setting('reco.changed_users', true), '') END;
  PERFORM pg_notify('reco_history_changed', coalesce(users, '*'));
  RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION reco_notify_exclusions_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  users text;
BEGIN
  IF TG_OP <> 'TRUNCATE' AND current_setting('reco.writer', true) = 'api' THEN
    RETURN NULL;
  END IF;
  users := CASE WHEN TG_OP <> 'TRUNCATE' THEN nullif(current_setting('reco.changed_users', true), '') END;
  PERFORM pg_notify('reco_history_changed', coalesce(users, '*'));
  RETURN NULL;
END
$$;

ALTER TABLE users ADD COLUMN genre_sums float8[];

CREATE FUNCTION reco_genre_sums_stale() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.genre_sums := NULL;
  RETURN NEW;
END
$$;
CREATE TRIGGER users_genre_sums_stale
  BEFORE UPDATE OF characteristic, rating_count ON users
  FOR EACH ROW
  WHEN (OLD.genre_sums IS NOT NULL AND current_setting('reco.writer', true) IS DISTINCT FROM 'api')
  EXECUTE FUNCTION reco_genre_sums_stale();

${genreSumsFunctionsSql()}
ALTER TABLE client_quota_usage ADD COLUMN shard smallint NOT NULL DEFAULT 0;
ALTER TABLE client_quota_usage DROP CONSTRAINT client_quota_usage_pkey, ADD PRIMARY KEY (client_id, shard);

CREATE FUNCTION reco_charge_quota(p_client integer, p_users integer, p_ratings integer, p_users_limit integer, p_ratings_limit integer)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  w timestamptz := date_trunc('hour', now());
  used_users bigint;
  used_ratings bigint;
  reset_in integer;
BEGIN
  IF (p_users_limit = 0 AND p_ratings_limit = 0) OR (p_users = 0 AND p_ratings = 0) THEN
    RETURN;
  END IF;
  SELECT coalesce(sum(q.users_created), 0), coalesce(sum(q.ratings_stored), 0) INTO used_users, used_ratings
    FROM client_quota_usage q WHERE q.client_id = p_client AND q.window_start = w;
  IF (p_users_limit > 0 AND (used_users + p_users) * 10 > p_users_limit * 9::bigint)
     OR (p_ratings_limit > 0 AND (used_ratings + p_ratings) * 10 > p_ratings_limit * 9::bigint) THEN
    -- Near a limit: one write of this client at a time, counting every committed one.
    PERFORM pg_advisory_xact_lock(33, p_client);
    SELECT coalesce(sum(q.users_created), 0), coalesce(sum(q.ratings_stored), 0) INTO used_users, used_ratings
      FROM client_quota_usage q WHERE q.client_id = p_client AND q.window_start = w;
    reset_in := greatest(1, ceil(extract(epoch FROM w + interval '1 hour' - clock_timestamp()))::integer);
    IF p_users_limit > 0 AND used_users + p_users > p_users_limit THEN
      RAISE EXCEPTION USING ERRCODE = 'RQ001', MESSAGE = format('quota exceeded: users %s %s', p_users_limit, reset_in);
    END IF;
    IF p_ratings_limit > 0 AND used_ratings + p_ratings > p_ratings_limit THEN
      RAISE EXCEPTION USING ERRCODE = 'RQ001', MESSAGE = format('quota exceeded: ratings %s %s', p_ratings_limit, reset_in);
    END IF;
  END IF;
  INSERT INTO client_quota_usage AS q (client_id, shard, window_start, users_created, ratings_stored)
  VALUES (p_client, pg_backend_pid() % 32, w, p_users, p_ratings)
  ON CONFLICT (client_id, shard) DO UPDATE SET
    window_start = EXCLUDED.window_start,
    users_created = CASE WHEN q.window_start = EXCLUDED.window_start THEN q.users_created ELSE 0 END + EXCLUDED.users_created,
    ratings_stored = CASE WHEN q.window_start = EXCLUDED.window_start THEN q.ratings_stored ELSE 0 END + EXCLUDED.ratings_stored;
END
$$;

-- POST /feedback (src/core/db/repositories/feedback.ts): events of one client, arrays in event order.
CREATE FUNCTION reco_store_feedback(
  p_client integer, p_external_ids text[], p_movie_ids integer[], p_types text[], p_occurred_at timestamptz[],
  p_ratings real[], p_recommendation_ids text[], p_liked real, p_vocab text[], p_users_limit integer, p_ratings_limit integer,
  OUT stored_types text[], OUT user_ids bigint[], OUT created_users integer, OUT ratings_stored integer)
LANGUAGE plpgsql AS $$
DECLARE
  event_users bigint[];
  positives integer[];
  c_users bigint[];
  c_movies integer[];
  c_deltas float8[];
  c_counted integer[];
BEGIN
  PERFORM set_config('reco.writer', 'api', true);
  -- Unknown ids are created on first use; then the users are locked in id order, as every writer of a profile
  -- does, so concurrent writes over the same users wait for each other instead of deadlocking.
  INSERT INTO users (client_id, external_id)
  SELECT p_client, d.e FROM (SELECT DISTINCT e FROM unnest(p_external_ids) AS e) AS d ORDER BY d.e
  ON CONFLICT (client_id, external_id) DO NOTHING;
  GET DIAGNOSTICS created_users = ROW_COUNT;
  -- A join with the ids, not external_id = ANY(…): the generic plan of a function's statement would scan all of the
  -- client's users for the latter.
  PERFORM 1 FROM (SELECT DISTINCT e FROM unnest(p_external_ids) AS e) AS x
    JOIN users u ON u.client_id = p_client AND u.external_id = x.e
   ORDER BY u.id FOR UPDATE OF u;
  SELECT array_agg(u.id ORDER BY x.i) INTO event_users
    FROM unnest(p_external_ids) WITH ORDINALITY AS x(e, i) JOIN users u ON u.client_id = p_client AND u.external_id = x.e;
  user_ids := ARRAY(SELECT DISTINCT e FROM unnest(event_users) AS e ORDER BY e);

  -- ratings has no foreign keys (migration 011): the rated movies are checked and locked as one would.
  positives := ARRAY(SELECT DISTINCT t.m FROM unnest(p_movie_ids, p_types) AS t(m, ty) WHERE t.ty IN ('rating', 'view', 'like'));
  IF cardinality(positives) > 0
     AND (SELECT count(*) FROM (SELECT 1 FROM movies m WHERE m.movie_id = ANY(positives) FOR KEY SHARE) AS locked) <> cardinality(positives) THEN
    RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation', MESSAGE = 'ratings name movies that are not in the catalogue; nothing was stored';
  END IF;

  -- The events new to the database, and their effect, one row per user and movie: the latest rating wins, else a
  -- view or like (a liked movie, which never overwrites a stored rating); dislikes and skips are exclusions.
  WITH fresh AS (
    INSERT INTO feedback_events (user_id, movie_id, type, occurred_at, rating, recommendation_id)
    SELECT * FROM unnest(event_users, p_movie_ids, p_types, p_occurred_at, p_ratings, p_recommendation_ids)
    ON CONFLICT DO NOTHING
    RETURNING user_id, movie_id, type, rating, occurred_at
  ),
  rated AS (
    SELECT DISTINCT ON (f.user_id, f.movie_id) f.user_id, f.movie_id, f.rating, f.occurred_at
      FROM fresh f WHERE f.type = 'rating'
     ORDER BY f.user_id, f.movie_id, f.occurred_at DESC
  ),
  liked AS (
    SELECT DISTINCT f.user_id, f.movie_id FROM fresh f
     WHERE f.type IN ('view', 'like') AND NOT EXISTS (SELECT 1 FROM rated r WHERE r.user_id = f.user_id AND r.movie_id = f.movie_id)
  ),
  before AS (
    SELECT r.user_id, r.movie_id, r.rating FROM ratings r
     WHERE (r.user_id, r.movie_id) IN (SELECT a.user_id, a.movie_id FROM rated a UNION ALL SELECT l.user_id, l.movie_id FROM liked l)
  ),
  rated_written AS (
    -- An older rating arriving late does not overwrite a newer one.
    INSERT INTO ratings AS r (user_id, movie_id, rating, rated_at)
    SELECT a.user_id, a.movie_id, a.rating, a.occurred_at FROM rated a ORDER BY a.user_id, a.movie_id
    ON CONFLICT (user_id, movie_id) DO UPDATE SET rating = EXCLUDED.rating, rated_at = EXCLUDED.rated_at
     WHERE r.rated_at <= EXCLUDED.rated_at
    RETURNING r.user_id, r.movie_id, r.rating
  ),
  liked_written AS (
    INSERT INTO ratings AS r (user_id, movie_id, rating, rated_at)
    SELECT l.user_id, l.movie_id, p_liked, now() FROM liked l ORDER BY l.user_id, l.movie_id
    ON CONFLICT (user_id, movie_id) DO NOTHING
    RETURNING r.user_id, r.movie_id, r.rating
  ),
  exclusions_written AS (
    INSERT INTO user_exclusions AS x (user_id, movie_id)
    SELECT DISTINCT f.user_id, f.movie_id FROM fresh f WHERE f.type IN ('dislike', 'skip') ORDER BY 1, 2
    ON CONFLICT (user_id, movie_id) DO NOTHING
  ),
  changes AS (
    SELECT w.user_id, w.movie_id, w.rating::float8 - coalesce(b.rating, 0)::float8 AS delta, (b.user_id IS NULL)::integer AS counted
      FROM (SELECT * FROM rated_written UNION ALL SELECT * FROM liked_written) AS w
      LEFT JOIN before b ON b.user_id = w.user_id AND b.movie_id = w.movie_id
  )
  SELECT coalesce((SELECT array_agg(f.type) FROM fresh f), '{}'),
         (SELECT count(*) FROM rated) + (SELECT count(*) FROM liked),
         (SELECT array_agg(c.user_id) FROM changes c), (SELECT array_agg(c.movie_id) FROM changes c),
         (SELECT array_agg(c.delta) FROM changes c), (SELECT array_agg(c.counted) FROM changes c)
    INTO stored_types, ratings_stored, c_users, c_movies, c_deltas, c_counted;

  IF c_users IS NOT NULL THEN
    PERFORM reco_apply_rating_changes(c_users, c_movies, c_deltas, c_counted, p_vocab);
  END IF;
  PERFORM reco_charge_quota(p_client, created_users, ratings_stored, p_users_limit, p_ratings_limit);
END
$$;

-- A history of POST /recommendations (src/core/db/repositories/api-users.ts): the user named by p_external_id,
-- created when the client does not have it (NULL: the client's largest integer id + 1), its ratings upserted
-- (distinct movies), and its whole history after the change returned.
CREATE FUNCTION reco_save_history(
  p_client integer, p_external_id text, p_movie_ids integer[], p_ratings real[], p_vocab text[], p_users_limit integer, p_ratings_limit integer,
  OUT user_key bigint, OUT user_external_id text, OUT user_created boolean,
  OUT history_movie_ids integer[], OUT history_ratings real[], OUT excluded_movie_ids integer[])
LANGUAGE plpgsql AS $$
DECLARE
  c_movies integer[];
  c_deltas float8[];
  c_counted integer[];
BEGIN
  PERFORM set_config('reco.writer', 'api', true);
  user_created := false;
  IF p_external_id IS NOT NULL THEN
    user_external_id := p_external_id;
    SELECT u.id INTO user_key FROM users u WHERE u.client_id = p_client AND u.external_id = p_external_id FOR UPDATE;
    IF user_key IS NULL THEN
      -- A concurrent request creating the same id wins the race, and this one locks its row.
      INSERT INTO users (client_id, external_id) VALUES (p_client, p_external_id)
      ON CONFLICT (client_id, external_id) DO NOTHING RETURNING id INTO user_key;
      IF user_key IS NOT NULL THEN
        user_created := true;
      ELSE
        SELECT u.id INTO user_key FROM users u WHERE u.client_id = p_client AND u.external_id = p_external_id FOR UPDATE;
      END IF;
    END IF;
  ELSE
    -- Serialised per client so concurrent creations never collide; a platform may send the very id being
    -- generated at the same moment, and then the next one is taken. The expression is migration 071's index.
    PERFORM pg_advisory_xact_lock(30, p_client);
    LOOP
      INSERT INTO users (client_id, external_id)
      SELECT p_client, (coalesce(max(CASE WHEN u.external_id ~ '^[1-9][0-9]{0,17}$' THEN u.external_id::bigint END), 0) + 1)::text
        FROM users u WHERE u.client_id = p_client
      ON CONFLICT (client_id, external_id) DO NOTHING
      RETURNING id, external_id INTO user_key, user_external_id;
      EXIT WHEN user_key IS NOT NULL;
    END LOOP;
    user_created := true;
  END IF;

  IF cardinality(p_movie_ids) > 0 THEN
    IF (SELECT count(*) FROM (SELECT 1 FROM movies m WHERE m.movie_id = ANY(p_movie_ids) FOR KEY SHARE) AS locked)
       <> (SELECT count(DISTINCT t) FROM unnest(p_movie_ids) AS t) THEN
      RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation', MESSAGE = 'ratings name movies that are not in the catalogue; nothing was stored';
    END IF;
    WITH before AS (
      SELECT r.movie_id, r.rating FROM ratings r WHERE r.user_id = user_key AND r.movie_id = ANY(p_movie_ids)
    ),
    written AS (
      INSERT INTO ratings AS r (user_id, movie_id, rating, rated_at)
      SELECT user_key, t.movie_id, t.rating, now() FROM unnest(p_movie_ids, p_ratings) AS t(movie_id, rating) ORDER BY t.movie_id
      ON CONFLICT (user_id, movie_id) DO UPDATE SET rating = EXCLUDED.rating, rated_at = EXCLUDED.rated_at
      RETURNING r.movie_id, r.rating
    )
    SELECT array_agg(w.movie_id), array_agg(w.rating::float8 - coalesce(b.rating, 0)::float8), array_agg((b.movie_id IS NULL)::integer)
      INTO c_movies, c_deltas, c_counted
      FROM written w LEFT JOIN before b ON b.movie_id = w.movie_id;
    PERFORM reco_apply_rating_changes(array_fill(user_key, ARRAY[cardinality(c_movies)]), c_movies, c_deltas, c_counted, p_vocab);
  END IF;

  SELECT coalesce(array_agg(r.movie_id ORDER BY r.movie_id), '{}'), coalesce(array_agg(r.rating ORDER BY r.movie_id), '{}')
    INTO history_movie_ids, history_ratings
    FROM ratings r WHERE r.user_id = user_key;
  IF user_created THEN
    excluded_movie_ids := '{}';
  ELSE
    SELECT coalesce(array_agg(x.movie_id ORDER BY x.movie_id), '{}') INTO excluded_movie_ids FROM user_exclusions x WHERE x.user_id = user_key;
  END IF;
  PERFORM reco_charge_quota(p_client, user_created::integer, cardinality(p_movie_ids), p_users_limit, p_ratings_limit);
END
$$;
`,
};
