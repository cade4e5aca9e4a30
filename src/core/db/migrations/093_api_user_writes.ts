import { migration as m073 } from './073_api_write_functions.js';
import type { Migration } from './types.js';

/** reco_save_history's own lock-or-create of its user (migration 073), now reco_user_for_write's. */
const HISTORY_USER_BLOCK =
  /\n {2}user_created := false;\n {2}IF p_external_id IS NOT NULL THEN\n[\s\S]*?\n {4}user_created := true;\n {2}END IF;\n/;

function saveHistoryCallingUserForWrite(): string {
  const start = m073.sql.indexOf('CREATE FUNCTION reco_save_history(');
  const end = m073.sql.indexOf('\n$$;', start) + '\n$$;'.length;
  const text = m073.sql.slice(start, end);
  if (start < 0 || !HISTORY_USER_BLOCK.test(text)) throw new Error('migration 093: reco_save_history not found in 073');
  return text
    .replace('CREATE FUNCTION', 'CREATE OR REPLACE FUNCTION')
    .replace(
      HISTORY_USER_BLOCK,
      '\n  SELECT w.user_key, w.user_external_id, w.user_created INTO user_key, user_external_id, user_created\n' +
        '    FROM reco_user_for_write(p_client, p_external_id) AS w;\n',
    );
}

/**
 * Cold start (POST /recommendations with `genres`) as one function call in autocommit, like the other API writes:
 * reco_save_tastes locks or creates the user and stores the stated tastes as its characteristic vector unless it
 * has ratings (`stored`). It took a transaction of three to five round trips before.
 *
 * Both it and reco_save_history find their user through reco_user_for_write (the block of migration 073's
 * reco_save_history, unchanged): the user of `p_external_id` locked, created on first use; without an id, a user
 * with a generated id (reco_generate_user). Generic plans, as migration 091 gives the other write functions.
 */
export const migration: Migration = {
  version: 93,
  name: 'api_user_writes',
  sql: `
CREATE FUNCTION reco_generate_user(p_client integer, OUT user_key bigint, OUT user_external_id text)
LANGUAGE plpgsql AS $$
BEGIN
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
END
$$;

CREATE FUNCTION reco_user_for_write(p_client integer, p_external_id text,
  OUT user_key bigint, OUT user_external_id text, OUT user_created boolean)
LANGUAGE plpgsql AS $$
BEGIN
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
    SELECT g.user_key, g.user_external_id INTO user_key, user_external_id FROM reco_generate_user(p_client) AS g;
    user_created := true;
  END IF;
END
$$;

CREATE FUNCTION reco_save_tastes(p_client integer, p_external_id text, p_tastes real[],
  OUT user_key bigint, OUT user_external_id text, OUT user_created boolean, OUT stored boolean)
LANGUAGE plpgsql AS $$
BEGIN
  SELECT w.user_key, w.user_external_id, w.user_created INTO user_key, user_external_id, user_created
    FROM reco_user_for_write(p_client, p_external_id) AS w;
  UPDATE users SET characteristic = p_tastes, updated_at = now() WHERE id = user_key AND rating_count = 0;
  stored := FOUND;
END
$$;

${saveHistoryCallingUserForWrite()}

ALTER FUNCTION reco_generate_user(integer) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION reco_user_for_write(integer, text) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION reco_save_tastes(integer, text, real[]) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION reco_save_history(integer, text, integer[], real[], text[], integer, integer) SET plan_cache_mode = force_generic_plan;
`,
};
