import type { Migration } from './types.js';

/**
 * A history write whose caller already holds the user's history (src/server/history-writes.ts) does not read it
 * back: reco_save_history and reco_save_history_users take the users whose history the caller holds (`p_known`)
 * and answer NULL for their history and exclusions, where they read the user's whole history after the change
 * (the largest step of a one-rating write: 0.28 ms of its database time for 216 ratings, more for longer
 * histories, docs/benchmarks/feedback.md). Everything else is migration 093's reco_save_history and 096's
 * reco_save_history_users unchanged. Both are new overloads: the versions without `p_known` stay, for the servers
 * of the previous release during a rolling update (the init container migrates while they still serve) and after a
 * rollback; a later migration can drop them.
 */
export const migration: Migration = {
  version: 99,
  name: 'api_known_histories',
  sql: `
CREATE FUNCTION reco_save_history(
  p_client integer, p_external_id text, p_movie_ids integer[], p_ratings real[], p_vocab text[], p_users_limit integer,
  p_ratings_limit integer, p_known boolean,
  OUT user_key bigint, OUT user_external_id text, OUT user_created boolean,
  OUT history_movie_ids integer[], OUT history_ratings real[], OUT excluded_movie_ids integer[])
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  c_movies integer[];
  c_deltas float8[];
  c_counted integer[];
BEGIN
  PERFORM set_config('reco.writer', 'api', true);
  SELECT w.user_key, w.user_external_id, w.user_created INTO user_key, user_external_id, user_created
    FROM reco_user_for_write(p_client, p_external_id) AS w;

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

  -- A user created here has no history the caller could hold.
  IF NOT coalesce(p_known, false) OR user_created THEN
    SELECT coalesce(array_agg(r.movie_id ORDER BY r.movie_id), '{}'), coalesce(array_agg(r.rating ORDER BY r.movie_id), '{}')
      INTO history_movie_ids, history_ratings
      FROM ratings r WHERE r.user_id = user_key;
    IF user_created THEN
      excluded_movie_ids := '{}';
    ELSE
      SELECT coalesce(array_agg(x.movie_id ORDER BY x.movie_id), '{}') INTO excluded_movie_ids FROM user_exclusions x WHERE x.user_id = user_key;
    END IF;
  END IF;
  PERFORM reco_charge_quota(p_client, user_created::integer, cardinality(p_movie_ids), p_users_limit, p_ratings_limit);
END
$$;

CREATE FUNCTION reco_save_history_users(
  p_client integer, p_external_ids text[], p_item_users text[], p_movie_ids integer[], p_ratings real[], p_vocab text[],
  p_users_limit integer, p_ratings_limit integer, p_known text[])
RETURNS TABLE (user_key bigint, user_external_id text, user_created boolean,
               history_movie_ids integer[], history_ratings real[], excluded_movie_ids integer[])
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
  created_ids text[];
  c_users bigint[];
  c_movies integer[];
  c_deltas float8[];
  c_counted integer[];
BEGIN
  PERFORM set_config('reco.writer', 'api', true);
  -- Unknown ids are created on first use, then the users are locked in id order, as every writer of a profile does.
  created_ids := reco_create_users(p_client, p_external_ids);
  PERFORM 1 FROM unnest(p_external_ids) AS x(e) JOIN users u ON u.client_id = p_client AND u.external_id = x.e
   ORDER BY u.id FOR UPDATE OF u;

  IF cardinality(p_movie_ids) > 0 THEN
    IF (SELECT count(*) FROM (SELECT 1 FROM movies m WHERE m.movie_id = ANY(p_movie_ids) FOR KEY SHARE) AS locked)
       <> (SELECT count(DISTINCT t) FROM unnest(p_movie_ids) AS t) THEN
      RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation', MESSAGE = 'ratings name movies that are not in the catalogue; nothing was stored';
    END IF;
    WITH items AS (
      SELECT u.id AS user_id, t.movie_id, t.rating
        FROM unnest(p_item_users, p_movie_ids, p_ratings) AS t(e, movie_id, rating)
        JOIN users u ON u.client_id = p_client AND u.external_id = t.e
    ),
    before AS (
      SELECT r.user_id, r.movie_id, r.rating FROM ratings r
       WHERE (r.user_id, r.movie_id) IN (SELECT i.user_id, i.movie_id FROM items i)
    ),
    written AS (
      INSERT INTO ratings AS r (user_id, movie_id, rating, rated_at)
      SELECT i.user_id, i.movie_id, i.rating, now() FROM items i ORDER BY i.user_id, i.movie_id
      ON CONFLICT (user_id, movie_id) DO UPDATE SET rating = EXCLUDED.rating, rated_at = EXCLUDED.rated_at
      RETURNING r.user_id, r.movie_id, r.rating
    )
    SELECT array_agg(w.user_id), array_agg(w.movie_id), array_agg(w.rating::float8 - coalesce(b.rating, 0)::float8),
           array_agg((b.user_id IS NULL)::integer)
      INTO c_users, c_movies, c_deltas, c_counted
      FROM written w LEFT JOIN before b ON b.user_id = w.user_id AND b.movie_id = w.movie_id;
    PERFORM reco_apply_rating_changes(c_users, c_movies, c_deltas, c_counted, p_vocab);
  END IF;
  PERFORM reco_charge_quota(p_client, cardinality(created_ids), cardinality(p_movie_ids), p_users_limit, p_ratings_limit);

  -- The history of a user the caller holds (and did not create here) is not read: NULL, not its rows.
  RETURN QUERY
  SELECT u.id, x.e, c.e IS NOT NULL, h.movie_ids, h.ratings, y.movie_ids
    FROM unnest(p_external_ids) WITH ORDINALITY AS x(e, i)
    JOIN users u ON u.client_id = p_client AND u.external_id = x.e
    LEFT JOIN unnest(created_ids) AS c(e) ON c.e = x.e
    CROSS JOIN LATERAL (SELECT c.e IS NULL AND coalesce(x.e = ANY(p_known), false) AS held) AS k
    LEFT JOIN LATERAL (
      SELECT coalesce(array_agg(r.movie_id ORDER BY r.movie_id), '{}') AS movie_ids,
             coalesce(array_agg(r.rating ORDER BY r.movie_id), '{}') AS ratings
        FROM ratings r WHERE r.user_id = u.id AND NOT k.held
    ) AS h ON NOT k.held
    LEFT JOIN LATERAL (
      SELECT coalesce(array_agg(z.movie_id ORDER BY z.movie_id), '{}') AS movie_ids
        FROM user_exclusions z WHERE z.user_id = u.id AND NOT k.held
    ) AS y ON NOT k.held
   ORDER BY x.i;
END
$$;
`,
};
