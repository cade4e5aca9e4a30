import { assertIdentifier, type Queryable } from '../types.js';
import { jobSummaries, type JobSummary } from './jobs.js';
import { Table } from '../tables.js';

/** What the server exports as gauges from the database: the ingest ledger, job runs and catalogue size. */
export interface ServerStats {
  lastIngest: {
    finishedAt: Date | null;
    rowsAccepted: number;
    rowsRejected: number;
    durationSeconds: number | null;
  } | null;
  ingestRuns: Record<'running' | 'succeeded' | 'failed', number>;
  ingestRows: { accepted: number; rejected: number };
  jobs: JobSummary[];
  catalogue: { movies: number; users: number; ratings: number };
  /** When the first migration was applied (the database's creation), null when unknown. */
  databaseCreatedAt: Date | null;
}

/** Below this many 8 kB pages (8 MB) a table is counted exactly; above, its size is estimated (see rowCount). */
export const EXACT_COUNT_MAX_PAGES = 1000;

/**
 * The number of rows of a table without scanning it once it is large: the planner's own estimate, rows per page
 * at the last ANALYZE (pg_class.reltuples / relpages) times the table's current pages. It follows growth between
 * ANALYZEs; it is off by the change in rows per page since then, mostly dead rows not yet vacuumed (autovacuum
 * vacuums at 20 % dead rows, so at worst about 20 % high, usually within a few percent). Small tables are counted
 * exactly. A large table never analyzed (the embedded engine has no autovacuum) is analyzed once: ANALYZE reads a
 * fixed-size sample (30,000 rows), whatever the table's size.
 */
export async function rowCount(db: Queryable, table: typeof Table.users | typeof Table.ratings): Promise<number> {
  const read = () =>
    db.query<{ reltuples: number; relpages: number; pages: number }>(
      `SELECT reltuples::float8 AS reltuples, relpages::float8 AS relpages,
              (pg_relation_size(oid) / current_setting('block_size')::int)::float8 AS pages
         FROM pg_class WHERE oid = $1::regclass`,
      [table],
    );
  let r = (await read()).rows[0];
  if (r.pages >= EXACT_COUNT_MAX_PAGES && !(r.reltuples >= 0 && r.relpages > 0)) {
    await db.query(`ANALYZE ${assertIdentifier(table)}`);
    r = (await read()).rows[0];
  }
  if (r.pages < EXACT_COUNT_MAX_PAGES || !(r.reltuples >= 0 && r.relpages > 0)) {
    const exact = await db.query<{ n: number }>(`SELECT count(*)::float8 AS n FROM ${assertIdentifier(table)}`);
    return Number(exact.rows[0].n);
  }
  return Math.round((r.reltuples / r.relpages) * r.pages);
}

export async function serverStats(db: Queryable): Promise<ServerStats> {
  const last = await db.query<{
    finished_at: Date | null;
    rows_accepted: number;
    rows_rejected: number;
    duration_ms: number | null;
  }>(
    `SELECT finished_at, rows_accepted, rows_rejected, duration_ms FROM ingest_runs
      WHERE status <> 'running' ORDER BY finished_at DESC NULLS LAST, id DESC LIMIT 1`,
  );
  const runs = await db.query<{ status: string; n: number }>(
    'SELECT status, count(*)::int AS n FROM ingest_runs GROUP BY status',
  );
  const rows = await db.query<{ accepted: number | null; rejected: number | null }>(
    `SELECT sum(rows_accepted)::float8 AS accepted, sum(rows_rejected)::float8 AS rejected FROM ingest_runs WHERE status = 'succeeded'`,
  );
  // The catalogue is small (tens of thousands of movies): counted; users and ratings grow with the data: estimated.
  const movies = await db.query<{ n: number }>(`SELECT count(*)::float8 AS n FROM movies`);
  const created = await db.query<{ at: Date | null }>(`SELECT min(applied_at) AS at FROM ${Table.schemaMigrations}`);
  const ingestRuns = { running: 0, succeeded: 0, failed: 0 };
  for (const r of runs.rows) if (r.status in ingestRuns) ingestRuns[r.status as keyof typeof ingestRuns] = r.n;
  const l = last.rows[0];
  return {
    lastIngest: l
      ? {
          finishedAt: l.finished_at ? new Date(l.finished_at) : null,
          rowsAccepted: Number(l.rows_accepted),
          rowsRejected: Number(l.rows_rejected),
          durationSeconds: l.duration_ms === null ? null : l.duration_ms / 1000,
        }
      : null,
    ingestRuns,
    ingestRows: { accepted: rows.rows[0].accepted ?? 0, rejected: rows.rows[0].rejected ?? 0 },
    jobs: (await jobSummaries(db)).map((j) => ({
      ...j,
      succeeded: Number(j.succeeded),
      failed: Number(j.failed),
      running: Number(j.running),
    })),
    catalogue: {
      movies: Number(movies.rows[0].n),
      users: await rowCount(db, Table.users),
      ratings: await rowCount(db, Table.ratings),
    },
    databaseCreatedAt: created.rows[0].at ? new Date(created.rows[0].at) : null,
  };
}

/** Liveness of the database for /readyz. */
export async function databaseReachable(db: Queryable): Promise<boolean> {
  try {
    await db.query('SELECT 1');
    return true;
  } catch {
    return false;
  }
}
