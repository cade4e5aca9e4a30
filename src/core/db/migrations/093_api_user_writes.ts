import { migration as m073 } from './073_api_write_functions.js';
import type { Migration } from './types.js';

/** reco_save_history's own lock-or-create of its user (migration 073), now reco_user_for_write's. */
const HISTORY_USER_BLOCK =
  /\n {2}user_created := false;\n {2}IF p_external_id IS NOT NULL THEN\n[\s\S]*?\n {4}user_created := true;\n {2}END IF;\n/;
/** Within it, the generation of a new user's id, now reco_generate_user's. */
const GENERATION = /\n {4}-- Serialised per client[\s\S]*?\n {4}END LOOP;\n/;

/** Migration 073's text of reco_save_history, its user block, and that block's id generation (texts kept as shipped). */
function fromMigration073() {
  const start = m073.sql.indexOf('CREATE FUNCTION reco_save_history(');
  const saveHistory = m073.sql.slice(start, m073.sql.indexOf('\n$$;', start) + '\n$$;'.length);
  const userBlock = HISTORY_USER_BLOCK.exec(saveHistory)?.[0];
  const generation = userBlock && GENERATION.exec(userBlock)?.[0];
  if (start < 0 || !userBlock || !generation) throw new Error('migration 093: reco_save_history not found in 073');
  return { saveHistory, userBlock, generation };
}

const m073Parts = fromMigration073();

const saveHistoryCallingUserForWrite = m073Parts.saveHistory
  .replace('CREATE FUNCTION', 'CREATE OR REPLACE FUNCTION')
  .replace(
    HISTORY_USER_BLOCK,
    '\n  SELECT w.user_key, w.user_external_id, w.user_created INTO user_key, user_external_id, user_created\n' +
      '    FROM reco_user_for_write(p_client, p_external_id) AS w;\n',
  );

const userBlockCallingGenerateUser = m073Parts.userBlock.replace(
  GENERATION,
  '\n    SELECT g.user_key, g.user_external_id INTO user_key, user_external_id FROM reco_generate_user(p_client) AS g;\n',
);

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
BEGIN${m073Parts.generation}END
$$;

CREATE FUNCTION reco_user_for_write(p_client integer, p_external_id text,
  OUT user_key bigint, OUT user_external_id text, OUT user_created boolean)
LANGUAGE plpgsql AS $$
BEGIN${userBlockCallingGenerateUser}END
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

${saveHistoryCallingUserForWrite}

ALTER FUNCTION reco_generate_user(integer) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION reco_user_for_write(integer, text) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION reco_save_tastes(integer, text, real[]) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION reco_save_history(integer, text, integer[], real[], text[], integer, integer) SET plan_cache_mode = force_generic_plan;
`,
};
