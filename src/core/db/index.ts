export type { Database, Queryable, QueryResult, Row, EngineName, TransactionOptions, IsolationLevel } from './types.js';
export { openDatabase, withDatabase, type OpenOptions } from './open.js';
export { migrate, migrationStatus, type MigrationStatus } from './migrate.js';
export { PGliteDatabase } from './engines/pglite.js';
export { PostgresDatabase, maskUrl } from './engines/postgres.js';
export { csvLine, csvField } from './csv.js';
