import type { Queryable } from '../types.js';
import { Table } from '../tables.js';

/** Tables whose sizes `reco db status` reports. */
export const REPORTED_TABLES = [
  Table.clients,
  Table.movies,
  Table.users,
  Table.ratings,
  Table.ingestRuns,
  Table.ingestFiles,
  Table.models,
  Table.jobRuns,
] as const;

export async function rowCounts(db: Queryable): Promise<Record<string, number | null>> {
  const counts: Record<string, number | null> = {};
  for (const table of REPORTED_TABLES) {
    const exists = await db.query<{ ok: boolean }>('SELECT to_regclass($1) IS NOT NULL AS ok', [table]);
    if (!exists.rows[0].ok) {
      counts[table] = null;
      continue;
    }
    // Table names come from the constant list above, never from input.
    const r = await db.query<{ n: number }>(`SELECT count(*) AS n FROM ${table}`);
    counts[table] = r.rows[0].n;
  }
  return counts;
}

export async function serverVersion(db: Queryable): Promise<string> {
  const r = await db.query<{ v: string }>("SELECT current_setting('server_version') AS v");
  return r.rows[0].v;
}
