import type { Migration } from './types.js';

/**
 * The data a model's holdout figures were measured on: 'trusted' (only trusted clients' ratings, which the API
 * of an untrusted client cannot write). NULL for models measured before, on every rating: the activation gate
 * does not hold a new model to such a figure (src/core/training/registry.ts).
 */
export const migration: Migration = {
  version: 53,
  name: 'model_holdout',
  sql: `
ALTER TABLE models ADD COLUMN holdout text;
`,
};
