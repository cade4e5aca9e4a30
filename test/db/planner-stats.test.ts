import fs from 'node:fs';
import path from 'node:path';
import { analyzeChangedTables } from '../../src/core/db/repositories/planner-stats.js';
import type { Database } from '../../src/core/db/types.js';
import { ingest } from '../../src/core/pipeline/index.js';
import { describeEachEngine, tempDir } from '../helpers/engines.js';
import { CATALOGUE, T0, writeBatch } from '../pipeline/fixtures.js';

/** The planner's row estimate of a table: -1 until it was first analyzed (or vacuumed). */
async function reltuples(db: Database, table: string): Promise<number> {
  const r = await db.query<{ n: number }>(`SELECT reltuples::float8 AS n FROM pg_class WHERE oid = $1::regclass`, [
    table,
  ]);
  return Number(r.rows[0].n);
}

describeEachEngine('planner statistics after loads', (ctx) => {
  it('ingest leaves the tables it filled analyzed, with their true row counts', async () => {
    const db = ctx.db;
    expect(await reltuples(db, 'ratings')).toBe(-1);
    const dataDir = tempDir('reco-planner-stats-');
    try {
      const src = path.join(dataDir, 'simulation_data');
      const ratings = Array.from({ length: 40 }, (_, i) => `${100 + (i % 8)},${1 + (i % 4)},4.0,${T0 + i}`);
      writeBatch(src, '2020-06-01', { movies: CATALOGUE, ratings });
      const s = await ingest(db, { from: src, dataDir, now: T0 + 86_400 });
      expect(s.database.ratingsInserted).toBeGreaterThan(0);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
    const stored = await db.query<{ ratings: number; users: number }>(
      'SELECT (SELECT count(*) FROM ratings)::int AS ratings, (SELECT count(*) FROM users)::int AS users',
    );
    expect(await reltuples(db, 'ratings')).toBe(stored.rows[0].ratings);
    expect(await reltuples(db, 'users')).toBe(stored.rows[0].users);
  });

  it('analyzes a table again only once more than a tenth of its rows changed', async () => {
    const db = ctx.db;
    // The server's change counter is flushed from the writing session lazily (up to seconds later), which could
    // count these rows after the ANALYZE below; flushing it with the write keeps the counts this test states.
    const write = (sql: string) =>
      db.transaction(async (tx) => {
        await tx.exec(sql);
        await tx.query('SELECT pg_stat_force_next_flush()');
      });
    await db.exec(`CREATE TABLE planner_probe (id int PRIMARY KEY)`);
    await write(`INSERT INTO planner_probe SELECT g FROM generate_series(1, 100) AS g`);
    const probe = { planner_probe: 100 } as unknown as Parameters<typeof analyzeChangedTables>[1];
    expect(await analyzeChangedTables(db, probe)).toEqual(['planner_probe']); // never analyzed
    expect(await reltuples(db, 'planner_probe')).toBe(100);

    await write(`INSERT INTO planner_probe VALUES (101)`);
    const one = { planner_probe: 1 } as unknown as Parameters<typeof analyzeChangedTables>[1];
    expect(await analyzeChangedTables(db, one)).toEqual([]);
    expect(await reltuples(db, 'planner_probe')).toBe(100);

    await write(`INSERT INTO planner_probe SELECT g FROM generate_series(102, 130) AS g`);
    const many = { planner_probe: 29 } as unknown as Parameters<typeof analyzeChangedTables>[1];
    expect(await analyzeChangedTables(db, many)).toEqual(['planner_probe']);
    expect(await reltuples(db, 'planner_probe')).toBe(130);
  });
});
