import type { Queryable } from '../types.js';

/**
 * The ingest ledger (ingest_runs, ingest_files): what was loaded, when, with which counts. A file is loaded
 * at most once per client, by checksum (unique index ingest_files_once); the server exports the last run.
 */

export type FileKind = 'movies' | 'ratings';

export async function startIngestRun(db: Queryable, source: string, clientId: number): Promise<number> {
  const r = await db.query<{ id: number }>('INSERT INTO ingest_runs (source, client_id) VALUES ($1, $2) RETURNING id', [
    source,
    clientId,
  ]);
  return r.rows[0].id;
}

export interface RunTotals {
  filesLoaded: number;
  filesSkipped: number;
  rowsRead: number;
  rowsAccepted: number;
  rowsRejected: number;
  durationMs: number;
}

export async function finishIngestRun(
  db: Queryable,
  runId: number,
  status: 'succeeded' | 'failed',
  totals: RunTotals,
  error?: string,
): Promise<void> {
  await db.query(
    `UPDATE ingest_runs SET status = $2, finished_at = now(), files_loaded = $3, files_skipped = $4, rows_read = $5,
            rows_accepted = $6, rows_rejected = $7, duration_ms = $8, error = $9
      WHERE id = $1`,
    [
      runId,
      status,
      totals.filesLoaded,
      totals.filesSkipped,
      totals.rowsRead,
      totals.rowsAccepted,
      totals.rowsRejected,
      Math.round(totals.durationMs),
      error ?? null,
    ],
  );
}

/**
 * Runs that were still 'running' when their process died (kill -9, power loss) are marked failed by the
 * next run. Only runs older than `staleAfterSeconds` count, so a run in progress elsewhere is left alone.
 */
export async function failAbandonedRuns(db: Queryable, staleAfterSeconds = 6 * 3600): Promise<number> {
  const r = await db.query(
    `UPDATE ingest_runs SET status = 'failed', finished_at = now(), error = 'interrupted: the process ended before the run finished'
      WHERE status = 'running' AND started_at < now() - make_interval(secs => $1)`,
    [staleAfterSeconds],
  );
  return r.rowCount;
}

/** The ledger entry of a file already loaded (same kind, checksum and client), if any. */
export async function findLoadedFile(
  db: Queryable,
  kind: FileKind,
  sha256: string,
  clientId: number | null,
): Promise<{ run_id: number; path: string; loaded_at: Date } | undefined> {
  const r = await db.query<{ run_id: number; path: string; loaded_at: Date }>(
    `SELECT run_id, path, loaded_at FROM ingest_files WHERE kind = $1 AND sha256 = $2 AND coalesce(client_id, 0) = coalesce($3::int, 0)`,
    [kind, sha256, clientId],
  );
  return r.rows[0];
}

export interface LedgerFile {
  runId: number;
  day: string | null;
  kind: FileKind;
  path: string;
  sha256: string;
  clientId: number | null;
  rowsRead: number;
  rowsAccepted: number;
  rowsRejected: number;
  durationMs: number;
}

export async function recordIngestedFile(tx: Queryable, f: LedgerFile): Promise<void> {
  await tx.query(
    `INSERT INTO ingest_files (run_id, day, kind, path, sha256, client_id, rows_read, rows_accepted, rows_rejected, duration_ms)
     VALUES ($1, $2::date, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [
      f.runId,
      f.day,
      f.kind,
      f.path,
      f.sha256,
      f.clientId,
      f.rowsRead,
      f.rowsAccepted,
      f.rowsRejected,
      Math.round(f.durationMs),
    ],
  );
}

/**
 * Serialises ingests: two processes loading at once on PostgreSQL wait for each other here (held until the
 * transaction ends), then the loser sees the winner's ledger rows and skips the files.
 */
export async function lockIngest(tx: Queryable): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock($1)', [0x7265636f]);
}

export interface IngestRunRow {
  id: number;
  started_at: Date;
  finished_at: Date | null;
  status: 'running' | 'succeeded' | 'failed';
  source: string;
  files_loaded: number;
  files_skipped: number;
  rows_read: number;
  rows_accepted: number;
  rows_rejected: number;
  duration_ms: number | null;
  error: string | null;
}

export async function getIngestRun(db: Queryable, runId: number): Promise<IngestRunRow | undefined> {
  const r = await db.query<IngestRunRow>('SELECT * FROM ingest_runs WHERE id = $1', [runId]);
  return r.rows[0];
}
