import { migration as m097 } from './097_api_profile_update.js';
import type { Migration } from './types.js';

/** Migration 097's `summed`, the join of the changed users with `users` (its text as shipped). */
const SUMMED_JOIN =
  /\n {2}summed AS MATERIALIZED \(\n {4}SELECT u\.id, (ARRAY\[[^\n]*\]) AS sums\n {6}FROM per_user p JOIN users u ON u\.id = p\.user_id\n {5}WHERE u\.genre_sums IS NOT NULL\n {2}\)/;

/** Migration 097's last step, the update of the changed users' rows. */
const UPDATE_JOIN = '\n    FROM summed s\n   WHERE u.id = s.id;';

function applyRatingChangesByKey(): string {
  const match = SUMMED_JOIN.exec(m097.sql);
  if (!match) throw new Error('migration 100: the summed join of migration 097 not found');
  const sums = match[1].replace(/u\.genre_sums\[/g, 'k.old[').replace(/p\.deltas\[/g, 'k.deltas[');
  if (!m097.sql.includes(UPDATE_JOIN)) throw new Error('migration 100: the update of migration 097 not found');
  return m097.sql.replace(UPDATE_JOIN, `${UPDATE_JOIN.slice(0, -1)} AND u.id = ANY(p_users);`).replace(
    SUMMED_JOIN,
    `
  known AS MATERIALIZED (
    SELECT p.user_id AS id, p.deltas, (SELECT u.genre_sums FROM users u WHERE u.id = p.user_id) AS old FROM per_user p
  ),
  summed AS MATERIALIZED (
    SELECT k.id, ${sums} AS sums
      FROM known k
     WHERE k.old IS NOT NULL
  )`,
  );
}

/**
 * reco_apply_rating_changes (migration 097) finds the changed users' rows by their primary key whatever the
 * statistics say: it reads each one's sums by a subplan per changed user, where 097 joined the changed users with
 * `users`, and its update names the users it may change (`u.id = ANY(p_users)`, an index condition). With the generic
 * plan its functions use, 097's joins followed the statistics of `genre_sums`: after an ingest (which leaves every
 * ingested user's sums NULL and analyzes `users`) they say no user has sums, and the planner scanned every user with
 * sums once per changed user (a one-rating change took 5.7–9.1 ms on ml-latest-small with 1,800 API users, growing
 * with them, against 0.55 ms by key) until the next ANALYZE, which a server without autovacuum, or the embedded
 * engine, may not run for a long time; once the estimate changed, the update could scan every user instead. Same
 * sums, same results.
 */
export const migration: Migration = {
  version: 100,
  name: 'api_profile_lookup',
  sql: applyRatingChangesByKey(),
};
