import { applyRatingChangesSql } from '../../features/genre-profile.js';
import type { Migration } from './types.js';

/**
 * The database CPU of the API's single writes (docs/benchmarks/feedback.md, "Where the database time goes"):
 * - Generic plans for the write functions of migration 073. With the default plan_cache_mode, PL/pgSQL plans each
 *   statement again on every call whose arrays hold one element (a custom plan looks cheaper than the generic one
 *   there), which was most of a one-event write's database time. Their statements join the arrays to indexed
 *   lookups, so the generic plan also serves 500-event batches.
 * - reco_apply_rating_changes in two statements (applyRatingChangesSql in src/core/features/genre-profile.ts): the
 *   one every write but a user's first runs no longer hashes the whole catalogue.
 */
export const migration: Migration = {
  version: 91,
  name: 'api_write_plans',
  sql: `
${applyRatingChangesSql()}
ALTER FUNCTION reco_apply_rating_changes(bigint[], integer[], float8[], integer[], text[]) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION reco_charge_quota(integer, integer, integer, integer, integer) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION reco_store_feedback(integer, text[], integer[], text[], timestamptz[], real[], text[], real, text[], integer, integer)
  SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION reco_save_history(integer, text, integer[], real[], text[], integer, integer) SET plan_cache_mode = force_generic_plan;
`,
};
