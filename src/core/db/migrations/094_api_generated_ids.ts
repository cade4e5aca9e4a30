import type { Migration } from './types.js';

/**
 * New users without a user_id no longer wait for each other. Migration 093's reco_generate_user took the client's
 * advisory lock and held it through the commit, so the new users of one client were written one commit at a time.
 * Now each claims an id with a lock nobody waits for: the candidates from the client's largest integer id + 1
 * (concurrent creators see the same largest id, their rows being uncommitted), each taken by
 * pg_try_advisory_xact_lock on the (client, candidate) pair; a candidate another creator holds is skipped for the
 * next. The ids keep their format (the decimal form of an integer, unique per client, the largest + 1 when alone);
 * a creator that rolls back leaves its id to the next one. A platform sending the very id being generated at the
 * same moment still makes the insert wait for its commit, and then the next id is taken.
 */
export const migration: Migration = {
  version: 94,
  name: 'api_generated_ids',
  sql: `
CREATE OR REPLACE FUNCTION reco_generate_user(p_client integer, OUT user_key bigint, OUT user_external_id text)
LANGUAGE plpgsql AS $$
DECLARE
  candidate bigint;
BEGIN
  -- The expression is migration 071's index: max() is one index lookup.
  SELECT coalesce(max(CASE WHEN u.external_id ~ '^[1-9][0-9]{0,17}$' THEN u.external_id::bigint END), 0) + 1
    INTO candidate FROM users u WHERE u.client_id = p_client;
  LOOP
    -- One bigint key (not the two-integer keys of the other locks): a hash collision only skips a candidate.
    IF pg_try_advisory_xact_lock(hashtextextended(p_client::text || ':' || candidate::text, 30)) THEN
      INSERT INTO users (client_id, external_id) VALUES (p_client, candidate::text)
      ON CONFLICT (client_id, external_id) DO NOTHING RETURNING id INTO user_key;
      IF user_key IS NOT NULL THEN
        user_external_id := candidate::text;
        RETURN;
      END IF;
    END IF;
    candidate := candidate + 1;
  END LOOP;
END
$$;
ALTER FUNCTION reco_generate_user(integer) SET plan_cache_mode = force_generic_plan;
`,
};
