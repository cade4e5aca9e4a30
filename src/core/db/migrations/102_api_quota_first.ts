import { migration as m095 } from './095_api_feedback_by_user.js';
import { migration as m099 } from './099_api_known_histories.js';
import type { Migration } from './types.js';

/** One function's definition in a migration's SQL, as shipped: from `CREATE FUNCTION name(` to its closing `$$;`. */
function functionText(sql: string, name: string): string {
  const start = sql.indexOf(`CREATE FUNCTION ${name}(`);
  const end = start < 0 ? -1 : sql.indexOf('\n$$;', start);
  if (end < 0) throw new Error(`migration 102: function ${name} not found`);
  return sql.slice(start, end + '\n$$;'.length);
}

/** `fn` with its line `charge` moved to right after `anchor` (both must occur exactly once), as CREATE OR REPLACE. */
function chargeAfter(fn: string, charge: string, anchor: string): string {
  for (const part of [charge, anchor])
    if (fn.split(part).length !== 2) throw new Error(`migration 102: not once in its function: ${part.trim()}`);
  return fn
    .replace(charge, '')
    .replace(anchor, anchor + charge)
    .replace(/^CREATE FUNCTION/, 'CREATE OR REPLACE FUNCTION');
}

/**
 * The write functions of POST /recommendations' histories and POST /feedback charge the client's quota before the
 * expensive part of the write, not after it: a write over the quota is refused (RQ001, a 429) before it stores
 * ratings, updates the profile sums and reads the history back, all of which its rollback then threw away — a
 * client sending over its quota cost the database as much per refused write as per stored one
 * (docs/benchmarks/feedback.md). The amounts are the same: a history charges its new user and the number of its
 * ratings, both known once the user is found; feedback charges its created users and its stored events, known once
 * the events are stored, so its charge moves before the profile update. Every write's outcome and answer are
 * unchanged, but for one order: a history over the quota that also names a movie not in the catalogue is now
 * refused for the quota (429), where the catalogue check (422) came first. Past 90 % of a limit, where
 * reco_charge_quota lets a client's writes take turns, each now holds its turn from its charge to its commit, the
 * rest of its write included.
 *
 * Migration 099's reco_save_history and reco_save_history_users and 095's reco_store_feedback_users, with that one
 * line moved (their texts as shipped); the overloads of the previous releases keep the late charge.
 */
export const migration: Migration = {
  version: 102,
  name: 'api_quota_first',
  sql: [
    chargeAfter(
      functionText(m099.sql, 'reco_save_history'),
      '\n  PERFORM reco_charge_quota(p_client, user_created::integer, cardinality(p_movie_ids), p_users_limit, p_ratings_limit);',
      '\n    FROM reco_user_for_write(p_client, p_external_id) AS w;',
    ),
    chargeAfter(
      functionText(m099.sql, 'reco_save_history_users'),
      '\n  PERFORM reco_charge_quota(p_client, cardinality(created_ids), cardinality(p_movie_ids), p_users_limit, p_ratings_limit);',
      '\n   ORDER BY u.id FOR UPDATE OF u;',
    ),
    chargeAfter(
      functionText(m095.sql, 'reco_store_feedback_users'),
      '\n  PERFORM reco_charge_quota(p_client, cardinality(created_ids), cardinality(stored_users), p_users_limit, p_ratings_limit);',
      '\n    INTO stored_users, c_users, c_movies, c_deltas, c_counted;\n',
    ),
  ].join('\n\n'),
};
