import { assertIdentifier, type Queryable } from '../types.js';
import type { TableName } from '../tables.js';

/** autovacuum's default `autovacuum_analyze_scale_factor`: re-analyze once a tenth of the rows changed. */
export const ANALYZE_SHARE = 0.1;

/**
 * Brings the planner's statistics up to date after a bulk load, for each table whose rows changed by more than
 * ANALYZE_SHARE since its last ANALYZE (or that was never analyzed). Without them the planner takes a freshly
 * loaded table for empty or tiny: at 25M ratings the API's history read became a parallel sequential scan of
 * `users`, about 1 s per request, until autovacuum came round — which the embedded engine never does, and a
 * server with autovacuum off or busy may not do for a long time. ANALYZE reads a fixed sample (30,000 rows), so
 * it costs about the same at any size. `changed` is what the caller wrote, counted when the server's own counter
 * (n_mod_since_analyze) is not kept. Returns the tables analyzed.
 */
export async function analyzeChangedTables(
  db: Queryable,
  changed: Partial<Record<TableName, number>>,
): Promise<TableName[]> {
  const analyzed: TableName[] = [];
  for (const [table, rows] of Object.entries(changed) as [TableName, number][]) {
    if (!(rows > 0)) continue;
    const r = await db.query<{ reltuples: number; modified: number }>(
      `SELECT c.reltuples::float8 AS reltuples, coalesce(s.n_mod_since_analyze, 0)::float8 AS modified
         FROM pg_class c LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
        WHERE c.oid = $1::regclass`,
      [table],
    );
    const { reltuples, modified } = r.rows[0];
    if (reltuples < 0 || Math.max(Number(modified), rows) > ANALYZE_SHARE * Number(reltuples)) {
      await db.query(`ANALYZE ${assertIdentifier(table)}`);
      analyzed.push(table);
    }
  }
  return analyzed;
}
