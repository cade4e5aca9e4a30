import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { RecoError } from '../../errors.js';
import { BINARY_COPY_HEADER, BINARY_COPY_TRAILER } from '../copy-binary.js';
import {
  beginSql,
  copyFromSql,
  type Database,
  type PreparedStatement,
  type Queryable,
  type QueryResult,
  type Row,
  type Transaction,
  type TransactionOptions,
} from '../types.js';
import { ExitCode } from '../../exit-codes.js';
import { leavesConnectionUsable, PgError } from '../pg-errors.js';
import { transactionOf } from '../savepoint.js';

// The same JS types from both engines: int8 (counts, bigserial ids) as numbers, not strings.
const INT8 = 20;
const typeParsers = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8) return (v: string) => Number(v);
    return (pg.types.getTypeParser as (o: number, f?: string) => (v: string) => unknown)(oid, format);
  },
};

export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '****';
    return u.toString();
  } catch {
    return '(unparseable DATABASE_URL)';
  }
}

/** Turns connection failures into one line an operator can act on. */
export function describeConnectionError(err: any, url: string): RecoError {
  const where = (() => {
    try {
      const u = new URL(url);
      return `${u.hostname}:${u.port || 5432}`;
    } catch {
      return url;
    }
  })();
  const code = err?.code as string | undefined;
  const hint = 'check DATABASE_URL, or unset it to use the embedded database';
  let message: string;
  switch (code) {
    case 'ECONNREFUSED':
      message = `cannot connect to PostgreSQL at ${where}: connection refused (is the server running?)`;
      break;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      message = `cannot connect to PostgreSQL: host of ${where} not found`;
      break;
    case 'ETIMEDOUT':
      message = `cannot connect to PostgreSQL at ${where}: timed out`;
      break;
    case PgError.INVALID_PASSWORD:
    case PgError.INVALID_AUTHORIZATION:
      message = `PostgreSQL at ${where} refused the login: ${err.message}`;
      break;
    case PgError.INVALID_CATALOG_NAME:
      message = `PostgreSQL at ${where}: ${err.message}`;
      break;
    default:
      message = `cannot connect to PostgreSQL at ${where}: ${err?.message ?? err}`;
  }
  return new RecoError(`${message}; ${hint}`, { cause: err, exitCode: ExitCode.DATABASE });
}

/** The binary COPY stream around whole tuples: header, the tuples, trailer. */
async function* framed(tuples: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  yield BINARY_COPY_HEADER;
  yield* tuples;
  yield BINARY_COPY_TRAILER;
}

/**
 * `prepare`: PreparedStatements run as named statements (parsed and planned once per connection); off, as plain
 * ones (RECO_DB_PREPARED_STATEMENTS=off, for a pooler in transaction mode that cannot keep them).
 */
function queryableOf(client: pg.PoolClient | pg.Pool, prepare: boolean): Queryable {
  /**
   * Runs on a connection of the pool, or on the transaction's own. Not `pool.query`: that closes its connection
   * on any error, also an error the server answered (a quota's RAISE, a constraint) on a connection that stays
   * usable, so every refused request paid for a new backend and prepared its statements again. A connection
   * that was lost or ended is still discarded.
   */
  const onConnection = async <T>(run: (c: pg.PoolClient) => Promise<T>): Promise<T> => {
    if (!(client instanceof pg.Pool)) return run(client);
    const c = await client.connect();
    let lost: Error | undefined;
    try {
      return await run(c);
    } catch (err) {
      if (!leavesConnectionUsable(err)) lost = err as Error;
      throw err;
    } finally {
      c.release(lost);
    }
  };
  const copyIn = (sql: string, data: AsyncIterable<string | Uint8Array>): Promise<number> =>
    onConnection(async (c) => {
      const stream = c.query(copyStreams.from(sql));
      await pipeline(Readable.from(data), stream);
      return Number(stream.rowCount ?? 0);
    });
  return {
    async query<T extends Row>(sql: string | PreparedStatement, params?: readonly unknown[]): Promise<QueryResult<T>> {
      const values = params as unknown[] | undefined;
      const r = await onConnection((c) =>
        typeof sql === 'string'
          ? c.query(sql, values)
          : prepare
            ? c.query({ name: sql.name, text: sql.text, values })
            : c.query(sql.text, values),
      );
      return { rows: r.rows as T[], rowCount: r.rowCount ?? 0 };
    },
    async exec(sql: string) {
      await onConnection((c) => c.query(sql));
    },
    async copyFrom(table, columns, csv) {
      return copyIn(copyFromSql(table, columns, 'STDIN'), csv);
    },
    async copyFromBinary(table, columns, tuples) {
      return copyIn(copyFromSql(table, columns, 'STDIN', 'binary'), framed(tuples));
    },
    copyTo(selectSql) {
      return (async function* () {
        const c = client instanceof pg.Pool ? await client.connect() : (client as pg.PoolClient);
        try {
          const stream = c.query(copyStreams.to(`COPY (${selectSql}) TO STDOUT WITH (FORMAT csv)`));
          for await (const chunk of stream) yield chunk as Uint8Array;
        } finally {
          if (client instanceof pg.Pool) c.release();
        }
      })();
    },
  };
}

export class PostgresDatabase implements Database {
  readonly engine = 'postgres' as const;
  readonly location: string;
  private readonly pool: pg.Pool;
  private readonly base: Queryable;

  private constructor(
    private readonly url: string,
    pool: pg.Pool,
    private readonly prepare: boolean,
    readonly connections: number,
  ) {
    this.location = maskUrl(url);
    this.pool = pool;
    this.base = queryableOf(pool, prepare);
  }

  /**
   * `max`: the pool's connections. `keepOpen` (a server's pool): all of them opened before this resolves and kept
   * while idle, so that the first requests after a start, or after a quiet spell, do not wait for connections or
   * prepare their statements again (docs/benchmarks/scale.md); otherwise a connection idle for 10 s is closed.
   * `preparedStatements` (default true): PreparedStatements as named statements.
   */
  static async connect(
    url: string,
    options: { max?: number; applicationName?: string; keepOpen?: boolean; preparedStatements?: boolean } = {},
  ): Promise<PostgresDatabase> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new RecoError('DATABASE_URL is not a valid URL (expected postgres://user:password@host:5432/database)');
    }
    if (!['postgres:', 'postgresql:'].includes(parsed.protocol)) {
      throw new RecoError(`DATABASE_URL must start with postgres:// or postgresql://, not ${parsed.protocol}//`);
    }
    const max = options.max ?? 10;
    const pool = new pg.Pool({
      connectionString: url,
      max,
      connectionTimeoutMillis: 10_000,
      // 0: idle connections are never closed.
      idleTimeoutMillis: options.keepOpen ? 0 : 10_000,
      application_name: options.applicationName ?? 'reco',
      types: typeParsers,
    });
    // A client that loses its server (pg_terminate_backend, a restart, a failover) emits 'error': the pool
    // listens while the client is idle, nobody while it is checked out (a transaction, a COPY), and an
    // unheard 'error' would end the process. The query in flight or the next one on that client fails instead
    // (a 503 in the server, see errors.ts), and the pool discards the client when it is released.
    pool.on('error', () => {});
    pool.on('connect', (client) => client.on('error', () => {}));
    try {
      const opened = await Promise.all(Array.from({ length: options.keepOpen ? max : 1 }, () => pool.connect()));
      for (const client of opened) client.release();
    } catch (err) {
      await pool.end().catch(() => {});
      throw describeConnectionError(err, url);
    }
    return new PostgresDatabase(url, pool, options.preparedStatements ?? true, max);
  }

  query<T extends Row = Row>(sql: string | PreparedStatement, params?: readonly unknown[]) {
    return this.base.query<T>(sql, params);
  }

  exec(sql: string) {
    return this.base.exec(sql);
  }

  copyFrom(table: string, columns: readonly string[], csv: AsyncIterable<string | Uint8Array>) {
    return this.base.copyFrom(table, columns, csv);
  }

  copyFromBinary(table: string, columns: readonly string[], tuples: AsyncIterable<Uint8Array>) {
    return this.base.copyFromBinary(table, columns, tuples);
  }

  copyTo(selectSql: string) {
    return this.base.copyTo(selectSql);
  }

  async transaction<T>(fn: (tx: Transaction) => Promise<T>, options?: TransactionOptions): Promise<T> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      await client.query(beginSql(options));
      try {
        const result = await fn(transactionOf(queryableOf(client, this.prepare)));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
        throw err;
      }
    } finally {
      client.release(broken);
    }
  }

  async listen(
    channel: string,
    onNotify: (payload: string) => void,
    onError?: (err: Error) => void,
  ): Promise<() => Promise<void>> {
    // LISTEN needs a connection of its own for as long as it listens.
    const client = new pg.Client({ connectionString: this.url, application_name: 'reco-listen', types: typeParsers });
    let ending = false;
    let reported = false;
    const lost = (err: Error) => {
      if (ending || reported) return;
      reported = true;
      onError?.(err);
    };
    client.on('error', lost);
    client.on('end', () => lost(new Error('Connection terminated')));
    try {
      await client.connect();
      client.on('notification', (msg) => {
        if (msg.channel === channel) onNotify(msg.payload ?? '');
      });
      await client.query(`LISTEN ${quoteIdent(channel)}`);
    } catch (err) {
      ending = true;
      await client.end().catch(() => {});
      throw err;
    }
    return async () => {
      ending = true;
      await client.end().catch(() => {});
    };
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
