import type { Migration } from './types.js';

/**
 * Impressions lose their index on recommendation_id (migration 081): no statement looks an impression up by it (the
 * experiment report's attribution finds a user's impressions by user_id and compares recommendation_id among them;
 * retention deletes by shown_at; the report counts by experiment_id), yet every impression paid a B-tree insert of a
 * random text key, about a third of the database's work per impression (docs/benchmarks/serve.md, "Experiments on
 * the hot route"). The table's other indexes stay: by experiment, by user and time, by time.
 */
export const migration: Migration = {
  version: 103,
  name: 'impressions_without_recommendation_index',
  sql: `DROP INDEX IF EXISTS impressions_recommendation_idx;`,
};
