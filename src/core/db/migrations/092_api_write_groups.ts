import type { Migration } from './types.js';

/**
 * Group commit of the API's single writes (src/server/write-groups.ts, docs/api.md "Durability"): the writes of one
 * client that reach a server together go to the database as one call and one transaction. Each request of a group
 * runs migration 073's function on its own slice of the arrays (`p_starts`: where each request's items begin), in
 * the order given, so the group stores what the same requests one after the other would. The quota is charged
 * once for the group, after its writes: the group passes exactly when each of its requests one after the other
 * would, and the quota shard's row is locked after the users' rows, as by a single write, so groups and single
 * writes lock in one order. Any error rolls the whole group back; the server then writes each request alone.
 */
export const migration: Migration = {
  version: 92,
  name: 'api_write_groups',
  sql: `
CREATE FUNCTION reco_store_feedback_group(
  p_client integer, p_starts integer[], p_external_ids text[], p_movie_ids integer[], p_types text[], p_occurred_at timestamptz[],
  p_ratings real[], p_recommendation_ids text[], p_liked real, p_vocab text[], p_users_limit integer, p_ratings_limit integer)
RETURNS TABLE (stored_types text[], user_ids bigint[], created_users integer, ratings_stored integer)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  n integer := cardinality(p_starts);
  a integer;
  b integer;
  users_total integer := 0;
  ratings_total integer := 0;
BEGIN
  FOR i IN 1 .. n LOOP
    a := p_starts[i];
    b := CASE WHEN i < n THEN p_starts[i + 1] - 1 ELSE cardinality(p_external_ids) END;
    SELECT f.stored_types, f.user_ids, f.created_users, f.ratings_stored
      INTO stored_types, user_ids, created_users, ratings_stored
      FROM reco_store_feedback(p_client, p_external_ids[a:b], p_movie_ids[a:b], p_types[a:b], p_occurred_at[a:b],
                               p_ratings[a:b], p_recommendation_ids[a:b], p_liked, p_vocab, 0, 0) AS f;
    users_total := users_total + created_users;
    ratings_total := ratings_total + ratings_stored;
    RETURN NEXT;
  END LOOP;
  PERFORM reco_charge_quota(p_client, users_total, ratings_total, p_users_limit, p_ratings_limit);
END
$$;

CREATE FUNCTION reco_save_history_group(
  p_client integer, p_starts integer[], p_external_ids text[], p_movie_ids integer[], p_ratings real[], p_vocab text[],
  p_users_limit integer, p_ratings_limit integer)
RETURNS TABLE (user_key bigint, user_external_id text, user_created boolean,
               history_movie_ids integer[], history_ratings real[], excluded_movie_ids integer[])
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  n integer := cardinality(p_starts);
  a integer;
  b integer;
  users_total integer := 0;
BEGIN
  FOR i IN 1 .. n LOOP
    a := p_starts[i];
    b := CASE WHEN i < n THEN p_starts[i + 1] - 1 ELSE cardinality(p_movie_ids) END;
    SELECT h.user_key, h.user_external_id, h.user_created, h.history_movie_ids, h.history_ratings, h.excluded_movie_ids
      INTO user_key, user_external_id, user_created, history_movie_ids, history_ratings, excluded_movie_ids
      FROM reco_save_history(p_client, p_external_ids[i], p_movie_ids[a:b], p_ratings[a:b], p_vocab, 0, 0) AS h;
    users_total := users_total + user_created::integer;
    RETURN NEXT;
  END LOOP;
  PERFORM reco_charge_quota(p_client, users_total, cardinality(p_movie_ids), p_users_limit, p_ratings_limit);
END
$$;
`,
};
