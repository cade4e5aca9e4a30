import type { Attempted, Queryable, Transaction } from './types.js';

/**
 * Transaction.attempt for any engine: the transaction's Queryable with savepoints named by their depth
 * (`attempt_1`, `attempt_2` for one nested in it, …), the only SAVEPOINT statements of the code base.
 */
export function transactionOf(q: Queryable, depth = 0): Transaction {
  let active = false;
  const tx: Transaction = {
    query: (sql, params) => q.query(sql, params),
    exec: (sql) => q.exec(sql),
    copyFrom: (table, columns, csv) => q.copyFrom(table, columns, csv),
    copyFromBinary: (table, columns, tuples) => q.copyFromBinary(table, columns, tuples),
    copyTo: (selectSql) => q.copyTo(selectSql),
    async attempt<T>(
      fn: (tx: Transaction) => Promise<T>,
      options: { rollbackOn: (err: unknown) => boolean },
    ): Promise<Attempted<T>> {
      if (active) throw new Error('one attempt at a time per transaction');
      active = true;
      const name = `attempt_${depth + 1}`;
      try {
        await q.exec(`SAVEPOINT ${name}`);
        let value: T;
        try {
          value = await fn(transactionOf(q, depth + 1));
        } catch (error) {
          // A lost connection fails the rollback too: the first error is the one to report.
          await q.exec(`ROLLBACK TO SAVEPOINT ${name}; RELEASE SAVEPOINT ${name}`).catch(() => {
            throw error;
          });
          if (options.rollbackOn(error)) return { ok: false, error };
          throw error;
        }
        await q.exec(`RELEASE SAVEPOINT ${name}`);
        return { ok: true, value };
      } finally {
        active = false;
      }
    },
  };
  return tx;
}
