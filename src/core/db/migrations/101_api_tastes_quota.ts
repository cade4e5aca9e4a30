import type { Migration } from './types.js';

/**
 * A cold start (POST /recommendations with `genres`) that creates its user counts against the client's users
 * quota, as every other write that creates a user does (docs/api.md): reco_save_tastes of migration 093 created
 * users without charging them. This overload takes the quota's limits and charges the user it created
 * (reco_charge_quota, migration 073), raising RQ001 over the limit; otherwise it is 093's function. 093's version
 * stays, for the servers of the previous release during a rolling update; a later migration can drop it.
 */
export const migration: Migration = {
  version: 101,
  name: 'api_tastes_quota',
  sql: `
CREATE FUNCTION reco_save_tastes(p_client integer, p_external_id text, p_tastes real[], p_users_limit integer,
  p_ratings_limit integer, OUT user_key bigint, OUT user_external_id text, OUT user_created boolean, OUT stored boolean)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
  SELECT w.user_key, w.user_external_id, w.user_created INTO user_key, user_external_id, user_created
    FROM reco_user_for_write(p_client, p_external_id) AS w;
  UPDATE users SET characteristic = p_tastes, updated_at = now() WHERE id = user_key AND rating_count = 0;
  stored := FOUND;
  PERFORM reco_charge_quota(p_client, user_created::integer, 0, p_users_limit, p_ratings_limit);
END
$$;
`,
};
