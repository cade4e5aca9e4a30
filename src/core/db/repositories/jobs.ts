import type { Queryable } from '../types.js';

export type JobName = 'ingest' | 'train' | 'backup' | 'restore' | 'simulate';

/**
 * Records a run of a scheduled job in job_runs (started, finished, status, details) so that the server can
 * export its age and outcome. The row is written before `fn` starts and completed after it ends, in
 * separate statements, so a crash leaves a visible 'running' row rather than nothing.
 */
/** Errors whose run recordJob has recorded as failed (so that recordJobFailures does not record them twice). */
const recorded = new WeakSet<object>();

export async function recordJob<T>(
  db: Queryable,
  job: JobName,
  fn: () => Promise<T>,
  details: (result: T) => Record<string, unknown> = () => ({}),
): Promise<T> {
  const started = await db.query<{ id: number }>(`INSERT INTO job_runs (job) VALUES ($1) RETURNING id`, [job]);
  const id = started.rows[0].id;
  try {
    const result = await fn();
    await db.query(`UPDATE job_runs SET status = 'succeeded', finished_at = now(), details = $2 WHERE id = $1`, [
      id,
      JSON.stringify(details(result)),
    ]);
    return result;
  } catch (err: any) {
    await db
      .query(`UPDATE job_runs SET status = 'failed', finished_at = now(), error = $2 WHERE id = $1`, [
        id,
        String(err?.message ?? err).slice(0, 2000),
      ])
      .catch(() => {});
    if (typeof err === 'object' && err !== null) recorded.add(err);
    throw err;
  }
}

/**
 * Runs a job's whole command, of which `recordJob` covers the main part: a failure before the run is recorded (a
 * source directory that does not exist, an output directory that cannot be created) is recorded as a failed run
 * too, so that reco_job_runs_total counts every failure the database can hear of. When the database itself is
 * unreachable nothing can be recorded: the command's exit code (the CronJob's failed Job) and the job's age say it.
 */
export async function recordJobFailures<T>(db: Queryable, job: JobName, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err: any) {
    if (!(typeof err === 'object' && err !== null && recorded.has(err)))
      await db
        .query(`INSERT INTO job_runs (job, status, finished_at, error) VALUES ($1, 'failed', now(), $2)`, [
          job,
          String(err?.message ?? err).slice(0, 2000),
        ])
        .catch(() => {});
    throw err;
  }
}

export interface JobSummary {
  job: string;
  last_success_at: Date | null;
  last_duration_seconds: number | null;
  succeeded: number;
  failed: number;
  running: number;
}

export async function jobSummaries(db: Queryable): Promise<JobSummary[]> {
  const r = await db.query<JobSummary>(`
    SELECT job,
           max(finished_at) FILTER (WHERE status = 'succeeded') AS last_success_at,
           (SELECT extract(epoch FROM (j2.finished_at - j2.started_at))::float8 FROM job_runs j2
             WHERE j2.job = j.job AND j2.status = 'succeeded' ORDER BY j2.finished_at DESC LIMIT 1) AS last_duration_seconds,
           count(*) FILTER (WHERE status = 'succeeded') AS succeeded,
           count(*) FILTER (WHERE status = 'failed') AS failed,
           count(*) FILTER (WHERE status = 'running') AS running
      FROM job_runs j GROUP BY job ORDER BY job`);
  return r.rows;
}
