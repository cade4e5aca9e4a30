/**
 * The one database interface that everything above src/core/db uses. Two engines implement it:
 * PGlite (embedded, the default) and PostgreSQL through `pg`. The same SQL runs on both.
 */
import { createHash } from 'node:crypto';

export type EngineName = 'pglite' | 'postgres';

export type Row = Record<string, any>;

export interface QueryResult<T extends Row = Row> {
  rows: T[];
  /** Rows returned or affected by the (last) statement. */
  rowCount: number;
}

/**
 * A statement of the API's request path, which runs up to thousands of times a second: the PostgreSQL engine
 * prepares it once per connection (a named statement) instead of parsing and planning it on every call
 * (docs/benchmarks/feedback.md). Made once, at module level, from a text that never varies: each text is a
 * statement kept by every connection of the pool.
 */
export interface PreparedStatement {
  readonly text: string;
  /** `reco_` and a digest of the text: the same name is always the same text, on every connection. */
  readonly name: string;
}

export function prepared(text: string): PreparedStatement {
  return { text, name: `reco_${createHash('sha1').update(text).digest('hex').slice(0, 24)}` };
}

/** The text of a statement, prepared or not. */
export const sqlText = (sql: string | PreparedStatement): string => (typeof sql === 'string' ? sql : sql.text);

export interface Queryable {
  /** One parameterised statement ($1, $2, …). Never interpolate values into `sql`. */
  query<T extends Row = Row>(sql: string | PreparedStatement, params?: readonly unknown[]): Promise<QueryResult<T>>;
  /** A script of several statements without parameters (migrations, DDL). */
  exec(sql: string): Promise<void>;
  /**
   * Bulk load with COPY … FROM in CSV format (no header). `csv` yields CSV text in any chunking; it is
   * streamed, never held whole. Returns the number of rows copied.
   */
  copyFrom(table: string, columns: readonly string[], csv: AsyncIterable<string | Uint8Array>): Promise<number>;
  /**
   * Bulk load with COPY … FROM in PostgreSQL's binary format (no text parsing on the server: the fastest
   * load). `tuples` yields whole binary tuples (int16 field count, then per field an int32 length and the
   * value in network byte order), never one split across two chunks; the engine adds the header and trailer.
   */
  copyFromBinary(table: string, columns: readonly string[], tuples: AsyncIterable<Uint8Array>): Promise<number>;
  /** COPY (select) TO in CSV format (no header), as chunks of bytes. */
  copyTo(selectSql: string): AsyncIterable<Uint8Array>;
}

/** What Transaction.attempt gives back: the value, or the error it rolled back for. */
export type Attempted<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** A transaction's connection: a Queryable that can also try a part of the work and take it back. */
export interface Transaction extends Queryable {
  /**
   * Runs `fn` under a savepoint. When it resolves the work is kept; when it throws, the work is rolled back to
   * the savepoint and the transaction carries on: `{ ok: false, error }` if `rollbackOn(error)`, else the error
   * is rethrown. One attempt at a time per transaction (savepoints are a stack); `fn` may nest its own.
   */
  attempt<T>(
    fn: (tx: Transaction) => Promise<T>,
    options: { rollbackOn: (err: unknown) => boolean },
  ): Promise<Attempted<T>>;
}

export type IsolationLevel = 'read committed' | 'repeatable read' | 'serializable';

export interface TransactionOptions {
  isolation?: IsolationLevel;
  readOnly?: boolean;
}

export interface Database extends Queryable {
  readonly engine: EngineName;
  /** Where the data lives: a directory, or the connection string with its password masked. */
  readonly location: string;
  /** The most connections it uses at once (the pool's size; 1 for the embedded engine). */
  readonly connections: number;
  /** Runs `fn` in one transaction on one connection: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Transaction) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /**
   * LISTEN on a channel; resolves to a function that stops listening. `onError` hears that the connection
   * behind it was lost (no more notifications will come through it); listener.ts LISTENs again then.
   */
  listen(
    channel: string,
    onNotify: (payload: string) => void,
    onError?: (err: Error) => void,
  ): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/** COPY takes identifiers, not parameters: accept only plain lower-case names. */
export function assertIdentifier(name: string): string {
  if (!IDENTIFIER.test(name)) throw new Error(`not a plain SQL identifier: ${JSON.stringify(name)}`);
  return name;
}

export function copyFromSql(
  table: string,
  columns: readonly string[],
  source: string,
  format: 'csv' | 'binary' = 'csv',
): string {
  const cols = columns.map(assertIdentifier).join(', ');
  return `COPY ${assertIdentifier(table)} (${cols}) FROM ${source} WITH (FORMAT ${format})`;
}

export function beginSql(options: TransactionOptions = {}): string {
  const parts = ['BEGIN'];
  if (options.isolation) parts.push(`ISOLATION LEVEL ${isolationSql(options.isolation)}`);
  if (options.readOnly) parts.push('READ ONLY');
  return parts.join(' ');
}

function isolationSql(level: IsolationLevel): string {
  switch (level) {
    case 'read committed':
      return 'READ COMMITTED';
    case 'repeatable read':
      return 'REPEATABLE READ';
    case 'serializable':
      return 'SERIALIZABLE';
  }
}
