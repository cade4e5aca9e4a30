import { migration as m001 } from './001_init.js';
import { migration as m011 } from './011_ratings_without_foreign_keys.js';
import { migration as m031 } from './031_history_notify.js';
import { migration as m041 } from './041_client_username_case.js';
import { migration as m042 } from './042_rate_limit_hits.js';
import { migration as m051 } from './051_trusted_clients.js';
import { migration as m052 } from './052_client_quotas.js';
import { migration as m053 } from './053_model_holdout.js';
import { migration as m071 } from './071_platform_user_ids.js';
import { migration as m072 } from './072_feedback.js';
import { migration as m073 } from './073_api_write_functions.js';
import { migration as m081 } from './081_experiments.js';
import { migration as m091 } from './091_api_write_plans.js';
import { migration as m092 } from './092_api_write_groups.js';
import { migration as m093 } from './093_api_user_writes.js';
import { migration as m094 } from './094_api_generated_ids.js';
import { migration as m095 } from './095_api_feedback_by_user.js';
import { migration as m096 } from './096_api_history_by_user.js';
import { migration as m097 } from './097_api_profile_update.js';
import { migration as m098 } from './098_api_history_notify.js';
import { migration as m099 } from './099_api_known_histories.js';
import { migration as m100 } from './100_api_profile_lookup.js';
import { migration as m101 } from './101_api_tastes_quota.js';
import { migration as m102 } from './102_api_quota_first.js';
import { migration as m103 } from './103_impressions_without_recommendation_index.js';
import type { Migration } from './types.js';

/** Every migration, in order. Add a new file and one line here; never edit a migration that has shipped. */
export const migrations: readonly Migration[] = [
  m001,
  m011,
  m031,
  m041,
  m042,
  m051,
  m052,
  m053,
  m071,
  m072,
  m073,
  m081,
  m091,
  m092,
  m093,
  m094,
  m095,
  m096,
  m097,
  m098,
  m099,
  m100,
  m101,
  m102,
  m103,
].sort((a, b) => a.version - b.version);

export type { Migration };
