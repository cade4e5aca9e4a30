import fs from 'node:fs';
import path from 'node:path';
import { describeEachEngine } from '../helpers/engines.js';

/**
 * Transaction.attempt (core/db/savepoint.ts): the work of an attempt that throws is taken back and the
 * transaction goes on; an error the caller did not expect is rethrown; attempts nest. It is the only place
 * that writes SAVEPOINT.
 */
describeEachEngine('Transaction.attempt', (ctx) => {
  const count = async (tx: { query: (sql: string) => Promise<{ rows: { n: number }[] }> }) =>
    (await tx.query('SELECT count(*)::int AS n FROM attempt_t')).rows[0].n;

  beforeAll(async () => {
    await ctx.db.exec('CREATE TABLE attempt_t (id int PRIMARY KEY)');
  });

  it('keeps what succeeded, takes back what threw, goes on, and nests', async () => {
    const r = await ctx.db.transaction(async (tx) => {
      await tx.query('INSERT INTO attempt_t VALUES (1)');
      const kept = await tx.attempt(async (sp) => (await sp.query('INSERT INTO attempt_t VALUES (2)')).rowCount, {
        rollbackOn: () => true,
      });
      const clash = await tx.attempt(
        async (sp) => {
          await sp.query('INSERT INTO attempt_t VALUES (3)');
          await sp.query('INSERT INTO attempt_t VALUES (1)');
        },
        { rollbackOn: (err) => (err as { code?: string }).code === '23505' },
      );
      const nested = await tx.attempt(
        async (sp) => {
          await sp.query('INSERT INTO attempt_t VALUES (4)');
          const inner = await sp.attempt(() => sp.query('INSERT INTO attempt_t VALUES (2)'), {
            rollbackOn: () => true,
          });
          return inner.ok;
        },
        { rollbackOn: () => false },
      );
      return { kept, clash: clash.ok ? 'kept' : (clash.error as { code?: string }).code, nested, n: await count(tx) };
    });
    expect(r).toEqual({ kept: { ok: true, value: 1 }, clash: '23505', nested: { ok: true, value: false }, n: 3 });
    expect((await ctx.db.query('SELECT id FROM attempt_t ORDER BY id')).rows).toEqual([
      { id: 1 },
      { id: 2 },
      { id: 4 },
    ]);
  });

  it('rethrows an error rollbackOn does not accept, and allows one attempt at a time', async () => {
    await expect(
      ctx.db.transaction((tx) =>
        tx.attempt(() => tx.query('SELECT 1/0'), { rollbackOn: (err) => (err as { code?: string }).code === '23505' }),
      ),
    ).rejects.toMatchObject({ code: '22012' });
    await expect(
      ctx.db.transaction(async (tx) => {
        const slow = tx.attempt(() => tx.query('SELECT pg_sleep(0.05)'), { rollbackOn: () => false });
        try {
          await tx.attempt(() => tx.query('SELECT 1'), { rollbackOn: () => false });
        } finally {
          await slow;
        }
      }),
    ).rejects.toThrow('one attempt at a time');
  });
});

describe('savepoints', () => {
  it('are written only by core/db', () => {
    const root = path.resolve('src');
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (
          p.endsWith('.ts') &&
          !p.startsWith(path.join(root, 'core', 'db')) &&
          /SAVEPOINT/i.test(fs.readFileSync(p, 'utf8'))
        )
          offenders.push(p);
      }
    };
    walk(root);
    expect(offenders).toEqual([]);
  });
});
