import type { Migration } from './types.js';

/**
 * `--allocation bandit` (docs/experiments.md, "Bandit allocation"): experiments may shift traffic by Thompson
 * sampling. Widens the check that migration 081 put on `experiments.allocation`.
 */
export const migration: Migration = {
  version: 85,
  name: 'experiment_bandit',
  sql: `
ALTER TABLE experiments DROP CONSTRAINT experiments_allocation_check;
ALTER TABLE experiments ADD CONSTRAINT experiments_allocation_check CHECK (allocation IN ('fixed', 'bandit'));
`,
};
