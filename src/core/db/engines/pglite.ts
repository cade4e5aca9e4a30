import fs from 'node:fs';
import { PGlite, type Transaction as PGliteTransaction } from '@electric-sql/pglite';
import { RecoError } from '../../errors.js';
import { BINARY_COPY_HEADER, BINARY_COPY_TRAILER } from '../copy-binary.js';
import {
  copyFromSql,
  type Database,
  type Queryable,
  type QueryResult,
  type PreparedStatement,
  type Row,
  sqlText,
  type Transaction,
  type TransactionOptions,
} from '../types.js';
import { transactionOf } from '../savepoint.js';
import { acquireDirLock, type DirLock } from './dir-lock.js';

// The same JS types as the pg engine: int8 as number, bytea as Buffer.
const INT8 = 20;
const BYTEA = 17;
const parsers = {
  [INT8]: (v: string) => Number(v),
  [BYTEA]: (v: string) => Buffer.from(v.slice(2), 'hex'),
};

/** One COPY statement per chunk of this many bytes: a single huge blob grows the WASM heap with every row. Also the slice size of a COPY's output. */
const COPY_CHUNK_BYTES = 8 * 1024 * 1024;

type Runner = Pick<PGlite, 'query' | 'exec'> | PGliteTransaction;

function queryableOf(runner: Runner): Queryable {
  return {
    async query<T extends Row>(sql: string | PreparedStatement, params?: readonly unknown[]): Promise<QueryResult<T>> {
      // One connection in the process: nothing to gain from naming the statement.
      const r = await runner.query<T>(sqlText(sql), params as unknown[] | undefined, { parsers });
      return { rows: r.rows, rowCount: r.affectedRows ?? r.rowCount ?? r.rows.length };
    },
    async exec(sql: string) {
      await runner.exec(sql);
    },
    async copyFrom(table, columns, csv) {
      const sql = copyFromSql(table, columns, `'/dev/blob'`);
      let total = 0;
      const flush = async (parts: Uint8Array[]) => {
        if (parts.length === 0) return;
        const r = await runner.query(sql, [], {
          blob: new Blob(parts as unknown as ConstructorParameters<typeof Blob>[0]),
        });
        total += r.affectedRows ?? r.rowCount ?? 0;
      };
      // Cut chunks only at line ends outside quoted fields (a quoted field may hold a newline). An escaped
      // quote ("") toggles twice, so the parity stays right.
      let parts: Uint8Array[] = [];
      let size = 0;
      let inQuotes = false;
      let endsWithNewline = true;
      for await (const piece of csv) {
        const bytes = typeof piece === 'string' ? Buffer.from(piece) : piece;
        if (bytes.length === 0) continue;
        let lastCut = -1;
        for (let i = 0; i < bytes.length; i++) {
          const b = bytes[i];
          if (b === 0x22) inQuotes = !inQuotes;
          else if (b === 0x0a && !inQuotes) lastCut = i;
        }
        endsWithNewline = bytes[bytes.length - 1] === 0x0a;
        parts.push(bytes);
        size += bytes.length;
        if (size >= COPY_CHUNK_BYTES && lastCut >= 0) {
          parts[parts.length - 1] = bytes.subarray(0, lastCut + 1);
          await flush(parts);
          const tail = bytes.subarray(lastCut + 1);
          parts = tail.length ? [tail] : [];
          size = tail.length;
        }
      }
      if (!endsWithNewline) parts.push(Buffer.from('\n'));
      await flush(parts);
      return total;
    },
    async copyFromBinary(table, columns, tuples) {
      // One COPY per chunk of whole tuples, each framed as a complete binary COPY file.
      const sql = copyFromSql(table, columns, `'/dev/blob'`, 'binary');
      let total = 0;
      let parts: Uint8Array[] = [];
      let size = 0;
      const flush = async () => {
        if (parts.length === 0) return;
        const blob = new Blob([BINARY_COPY_HEADER, ...parts, BINARY_COPY_TRAILER] as unknown as ConstructorParameters<
          typeof Blob
        >[0]);
        const r = await runner.query(sql, [], { blob });
        total += r.affectedRows ?? r.rowCount ?? 0;
        parts = [];
        size = 0;
      };
      for await (const chunk of tuples) {
        if (chunk.length === 0) continue;
        parts.push(chunk);
        size += chunk.length;
        if (size >= COPY_CHUNK_BYTES) await flush();
      }
      await flush();
      return total;
    },
    copyTo(selectSql) {
      return (async function* () {
        const r = await runner.query(`COPY (${selectSql}) TO '/dev/blob' WITH (FORMAT csv)`);
        if (!r.blob) return;
        // The engine hands the whole output over as one blob; yielded in slices cut after a newline (never inside
        // a UTF-8 character), because one string of it past V8's 2^29-character limit fails to decode.
        const all = new Uint8Array(await r.blob.arrayBuffer());
        for (let start = 0; start < all.length;) {
          let end = Math.min(all.length, start + COPY_CHUNK_BYTES);
          if (end < all.length) {
            const nl = all.lastIndexOf(0x0a, end - 1);
            end = nl >= start ? nl + 1 : end;
          }
          yield all.subarray(start, end);
          start = end;
        }
      })();
    },
  };
}

export class PGliteDatabase implements Database {
  readonly engine = 'pglite' as const;
  readonly connections = 1;
  readonly location: string;
  private readonly base: Queryable;

  private constructor(
    private readonly pg: PGlite,
    location: string,
    private readonly lock?: DirLock,
  ) {
    this.location = location;
    this.base = queryableOf(pg);
  }

  /** Opens (creating if needed) the embedded database in `dir`; `undefined` means in memory. */
  static async open(dir: string | undefined, options: { command?: string } = {}): Promise<PGliteDatabase> {
    let lock: DirLock | undefined;
    if (dir) {
      try {
        fs.mkdirSync(dir, { recursive: true });
        fs.accessSync(dir, fs.constants.W_OK);
      } catch (err: any) {
        throw new RecoError(
          `the data directory ${dir} is not writable (${err?.code ?? err}); set RECO_DATA_DIR to a writable directory or set DATABASE_URL`,
          { cause: err },
        );
      }
      lock = acquireDirLock(dir, options.command ?? 'reco');
    }
    try {
      const pg = await PGlite.create(dir ? dir : 'memory://', {});
      return new PGliteDatabase(pg, dir ?? 'memory', lock);
    } catch (err: any) {
      lock?.release();
      throw new RecoError(`cannot open the embedded database in ${dir ?? 'memory'}: ${err?.message ?? err}`, {
        cause: err,
      });
    }
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

  transaction<T>(fn: (tx: Transaction) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    return this.pg.transaction(async (tx) => {
      const mode = [
        options.isolation ? `ISOLATION LEVEL ${options.isolation.toUpperCase()}` : '',
        options.readOnly ? 'READ ONLY' : '',
      ]
        .filter(Boolean)
        .join(' ');
      if (mode) await tx.query(`SET TRANSACTION ${mode}`);
      return fn(transactionOf(queryableOf(tx)));
    });
  }

  async listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>> {
    const unlisten = await this.pg.listen(channel, onNotify);
    return async () => {
      await unlisten();
    };
  }

  async close(): Promise<void> {
    try {
      if (!this.pg.closed) await this.pg.close();
    } finally {
      this.lock?.release();
    }
  }
}
