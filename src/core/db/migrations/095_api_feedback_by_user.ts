import type { Migration } from './types.js';

/**
 * POST /feedback's write per user (docs/benchmarks/feedback.md, "Single writes"): `reco_store_feedback_users` is
 * migration 073's reco_store_feedback with one answer row per user of the batch — its external id, users.id,
 * whether the batch created it, the types of its events new to the database and its rating rows written — and
 * reco_store_feedback is now the sum of those rows, so there is one implementation of the write.
 *
 * The server's write groups (src/server/write-groups.ts) send one-user requests of distinct users as one batch to
 * this function: the users' writes do not touch each other's rows, so one set-based statement per step stores and
 * answers what the requests one after the other would (migration 092's group ran the whole function once per
 * request). reco_store_feedback_group is dropped.
 *
 * Two changes to the write itself: users are inserted only when some ids are unknown, and only those; and the
 * users' row locks are taken after the events are stored, not before, so that concurrent batches that share users
 * (with 500-event batches, nearly every pair) queue only for the ratings, exclusions and profile sums, not for the
 * whole write.
 */
export const migration: Migration = {
  version: 95,
  name: 'api_feedback_by_user',
  sql: `
-- The ids of a client that it does not have yet, as new users (only those: an INSERT … ON CONFLICT of a known id
-- costs as much as a new row); returns the ids it created (a concurrent writer may create some first).
CREATE FUNCTION reco_create_users(p_client integer, p_external_ids text[]) RETURNS text[]
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  created text[];
BEGIN
  WITH made AS (
    INSERT INTO users (client_id, external_id)
    SELECT p_client, x.e FROM (SELECT DISTINCT e FROM unnest(p_external_ids) AS e) AS x
     WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.client_id = p_client AND u.external_id = x.e)
     ORDER BY x.e
    ON CONFLICT (client_id, external_id) DO NOTHING
    RETURNING users.external_id
  )
  SELECT coalesce(array_agg(m.external_id), '{}') INTO created FROM made m;
  RETURN created;
END
$$;

CREATE FUNCTION reco_store_feedback_users(
  p_client integer, p_external_ids text[], p_movie_ids integer[], p_types text[], p_occurred_at timestamptz[],
  p_ratings real[], p_recommendation_ids text[], p_liked real, p_vocab text[], p_users_limit integer, p_ratings_limit integer)
RETURNS TABLE (external_id text, user_id bigint, created boolean, stored_types text[], ratings_stored integer)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
  created_ids text[];
  user_keys bigint[];
  user_external text[];
  event_users bigint[];
  positives integer[];
  fresh_users bigint[];
  fresh_movies integer[];
  fresh_types text[];
  fresh_ratings real[];
  fresh_times timestamptz[];
  stored_users bigint[];
  c_users bigint[];
  c_movies integer[];
  c_deltas float8[];
  c_counted integer[];
BEGIN
  PERFORM set_config('reco.writer', 'api', true);
  -- The batch's users; unknown ids are created on first use (reco_create_users, only when some are unknown). A join
  -- with the ids, not external_id = ANY(…): the generic plan of a function's statement would scan all of the
  -- client's users for the latter.
  SELECT array_agg(u.id ORDER BY u.id), array_agg(u.external_id ORDER BY u.id) INTO user_keys, user_external
    FROM (SELECT DISTINCT e FROM unnest(p_external_ids) AS e) AS x JOIN users u ON u.client_id = p_client AND u.external_id = x.e;
  created_ids := '{}';
  IF coalesce(cardinality(user_keys), 0) < (SELECT count(DISTINCT e) FROM unnest(p_external_ids) AS e) THEN
    created_ids := reco_create_users(p_client, p_external_ids);
    -- Again, with the users just created here or by a concurrent writer.
    SELECT array_agg(u.id ORDER BY u.id), array_agg(u.external_id ORDER BY u.id) INTO user_keys, user_external
      FROM (SELECT DISTINCT e FROM unnest(p_external_ids) AS e) AS x JOIN users u ON u.client_id = p_client AND u.external_id = x.e;
  END IF;
  SELECT array_agg(k.id ORDER BY x.i) INTO event_users
    FROM unnest(p_external_ids) WITH ORDINALITY AS x(e, i) JOIN unnest(user_external, user_keys) AS k(e, id) ON k.e = x.e;

  -- ratings has no foreign keys (migration 011): the rated movies are checked and locked as one would.
  positives := ARRAY(SELECT DISTINCT t.m FROM unnest(p_movie_ids, p_types) AS t(m, ty) WHERE t.ty IN ('rating', 'view', 'like'));
  IF cardinality(positives) > 0
     AND (SELECT count(*) FROM (SELECT 1 FROM movies m WHERE m.movie_id = ANY(positives) FOR KEY SHARE) AS locked) <> cardinality(positives) THEN
    RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation', MESSAGE = 'ratings name movies that are not in the catalogue; nothing was stored';
  END IF;

  -- The events new to the database, stored before the users' locks: their unique index is what makes an event
  -- stored once, whoever writes it.
  WITH stored AS (
    INSERT INTO feedback_events (user_id, movie_id, type, occurred_at, rating, recommendation_id)
    SELECT * FROM unnest(event_users, p_movie_ids, p_types, p_occurred_at, p_ratings, p_recommendation_ids)
    ON CONFLICT DO NOTHING
    RETURNING user_id, movie_id, type, rating, occurred_at
  )
  SELECT coalesce(array_agg(f.user_id), '{}'), array_agg(f.movie_id), coalesce(array_agg(f.type), '{}'),
         array_agg(f.rating), array_agg(f.occurred_at)
    INTO fresh_users, fresh_movies, fresh_types, fresh_ratings, fresh_times
    FROM stored f;

  -- Then the users are locked, in id order as every writer of a profile does, for what reads and writes their
  -- ratings and profile sums: one transaction at a time per user, so that each change is counted against the rating
  -- it replaces. A batch holds these locks only from here to its commit, so batches that share users queue for that
  -- part alone.
  PERFORM 1 FROM users u WHERE u.id = ANY(user_keys) ORDER BY u.id FOR UPDATE;

  -- The effect of the new events, one row per user and movie: the latest rating wins, else a view or like (a liked
  -- movie, which never overwrites a stored rating); dislikes and skips are exclusions.
  WITH fresh AS (
    SELECT * FROM unnest(fresh_users, fresh_movies, fresh_types, fresh_ratings, fresh_times) AS f(user_id, movie_id, type, rating, occurred_at)
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
  SELECT coalesce((SELECT array_agg(s.user_id) FROM (SELECT a.user_id FROM rated a UNION ALL SELECT l.user_id FROM liked l) AS s), '{}'),
         (SELECT array_agg(c.user_id) FROM changes c), (SELECT array_agg(c.movie_id) FROM changes c),
         (SELECT array_agg(c.delta) FROM changes c), (SELECT array_agg(c.counted) FROM changes c)
    INTO stored_users, c_users, c_movies, c_deltas, c_counted;

  IF c_users IS NOT NULL THEN
    PERFORM reco_apply_rating_changes(c_users, c_movies, c_deltas, c_counted, p_vocab);
  END IF;
  PERFORM reco_charge_quota(p_client, cardinality(created_ids), cardinality(stored_users), p_users_limit, p_ratings_limit);

  RETURN QUERY
  SELECT k.e, k.id, c.e IS NOT NULL, coalesce(ft.types, '{}'), coalesce(st.n, 0)
    FROM unnest(user_external, user_keys) AS k(e, id)
    LEFT JOIN unnest(created_ids) AS c(e) ON c.e = k.e
    LEFT JOIN (SELECT t.u, array_agg(t.ty) AS types FROM unnest(fresh_users, fresh_types) AS t(u, ty) GROUP BY t.u) AS ft ON ft.u = k.id
    LEFT JOIN (SELECT s.u, count(*)::integer AS n FROM unnest(stored_users) AS s(u) GROUP BY s.u) AS st ON st.u = k.id
   ORDER BY k.id;
END
$$;

-- The whole batch's answer, as before: the sum of its users' rows.
CREATE OR REPLACE FUNCTION reco_store_feedback(
  p_client integer, p_external_ids text[], p_movie_ids integer[], p_types text[], p_occurred_at timestamptz[],
  p_ratings real[], p_recommendation_ids text[], p_liked real, p_vocab text[], p_users_limit integer, p_ratings_limit integer,
  OUT stored_types text[], OUT user_ids bigint[], OUT created_users integer, OUT ratings_stored integer)
LANGUAGE sql AS $$
  WITH s AS MATERIALIZED (
    SELECT * FROM reco_store_feedback_users(p_client, p_external_ids, p_movie_ids, p_types, p_occurred_at, p_ratings,
                                            p_recommendation_ids, p_liked, p_vocab, p_users_limit, p_ratings_limit)
  )
  SELECT coalesce((SELECT array_agg(t) FROM s, unnest(s.stored_types) AS t), '{}'),
         (SELECT array_agg(s.user_id ORDER BY s.user_id) FROM s),
         (SELECT count(*) FROM s WHERE s.created)::integer,
         (SELECT coalesce(sum(s.ratings_stored), 0) FROM s)::integer
$$;

DROP FUNCTION reco_store_feedback_group(integer, integer[], text[], integer[], text[], timestamptz[], real[], text[], real, text[], integer, integer);
`,
};
