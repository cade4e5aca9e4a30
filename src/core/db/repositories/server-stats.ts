import type { Queryable } from '../types.js';
import { jobSummaries, type JobSummary } from './jobs.js';

/** What the server exports as gauges from the database: the ingest ledger, job runs and catalogue size. */
export interface ServerStats {
  lastIngest: { finishedAt: Date | null; rowsAccepted: number; rowsRejected: number; durationSeconds: number | null } | null;
  ingestRuns: Record<'running' | 'succeeded' | 'failed', number>;
  ingestRows: { accepted: number; rejected: number };
  jobs: JobSummary[];
  catalogue: { movies: number; users: number; ratings: number };
}

export async function serverStats(db: Queryable): Promise<ServerStats> {
  const last = await db.query<{ finished_at: Date | null; rows_accepted: number; rows_rejected: number; duration_ms: number | null }>(
    `SELECT finished_at, rows_accepted, rows_rejected, duration_ms FROM ingest_runs
      WHERE status <> 'running' ORDER BY finished_at DESC NULLS LAST, id DESC LIMIT 1`,
  );
  const runs = await db.query<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM ingest_runs GROUP BY status');
  const rows = await db.query<{ accepted: number | null; rejected: number | null }>(
    `SELECT sum(rows_accepted)::float8 AS accepted, sum(rows_rejected)::float8 AS rejected FROM ingest_runs WHERE status = 'succeeded'`,
  );
  const counts = await db.query<{ movies: number; users: number; ratings: number }>(
    `SELECT (SELECT count(*) FROM movies)::float8 AS movies, (SELECT count(*) FROM users)::float8 AS users,
            (SELECT count(*) FROM ratings)::float8 AS ratings`,
  );
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
    jobs: (await jobSummaries(db)).map((j) => ({ ...j, succeeded: Number(j.succeeded), failed: Number(j.failed), running: Number(j.running) })),
    catalogue: counts.rows[0],
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
