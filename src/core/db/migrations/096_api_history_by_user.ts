import type { Migration } from './types.js';

/**
 * Histories of several users in one set-based call (docs/benchmarks/feedback.md, "Single writes"):
 * reco_save_history_users stores what reco_save_history (migrations 073 and 093) stores for each of its users —
 * the user locked or created, its ratings upserted, its genre profile and rating count updated, the quota charged —
 * and answers a row per user, in the order given, with the user's whole history and exclusions after the change.
 * The server's write groups (src/server/write-groups.ts) send it histories of distinct users that name their user;
 * their writes touch disjoint rows, so one statement per step stores what the requests one after the other would,
 * where migration 092's group ran reco_save_history once per request. reco_save_history stays the path of a
 * request alone and of a new user without an id, and the reference a differential test holds this one to
 * (test/db/write-groups.test.ts). reco_save_history_group is dropped.
 */
export const migration: Migration = {
  version: 96,
  name: 'api_history_by_user',
  sql: `
CREATE FUNCTION reco_save_history_users(
  p_client integer, p_external_ids text[], p_item_users text[], p_movie_ids integer[], p_ratings real[], p_vocab text[],
  p_users_limit integer, p_ratings_limit integer)
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

  RETURN QUERY
  SELECT u.id, x.e, c.e IS NOT NULL, coalesce(h.movie_ids, '{}'), coalesce(h.ratings, '{}'), coalesce(y.movie_ids, '{}')
    FROM unnest(p_external_ids) WITH ORDINALITY AS x(e, i)
    JOIN users u ON u.client_id = p_client AND u.external_id = x.e
    LEFT JOIN unnest(created_ids) AS c(e) ON c.e = x.e
    LEFT JOIN LATERAL (
      SELECT array_agg(r.movie_id ORDER BY r.movie_id) AS movie_ids, array_agg(r.rating ORDER BY r.movie_id) AS ratings
        FROM ratings r WHERE r.user_id = u.id
    ) AS h ON true
    LEFT JOIN LATERAL (
      SELECT array_agg(z.movie_id ORDER BY z.movie_id) AS movie_ids FROM user_exclusions z WHERE z.user_id = u.id
    ) AS y ON true
   ORDER BY x.i;
END
$$;

DROP FUNCTION reco_save_history_group(integer, integer[], text[], integer[], real[], text[], integer, integer);
`,
};
