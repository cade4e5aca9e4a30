/**
 * Table names where code passes them as values (COPY targets, catalog lookups, lists of tables) rather than
 * writing them in a statement's text. Plain lower-case identifiers: assertIdentifier accepts them.
 */
export const Table = {
  clients: 'clients',
  movies: 'movies',
  users: 'users',
  ratings: 'ratings',
  ingestRuns: 'ingest_runs',
  ingestFiles: 'ingest_files',
  models: 'models',
  jobRuns: 'job_runs',
  /** The migration ledger (src/core/db/migrate.ts): the schema version. */
  schemaMigrations: 'schema_migrations',
} as const;

export type TableName = (typeof Table)[keyof typeof Table];
