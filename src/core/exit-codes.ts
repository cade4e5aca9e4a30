/**
 * The exit codes of every reco command, the same with and without --json. Cron jobs and Kubernetes CronJobs
 * branch on them, so a code keeps its meaning once documented (README "Exit codes", docs/ingest.md).
 */
export const ExitCode = {
  /** Done; for ingest also "nothing new to load" unless --require-new. */
  OK: 0,
  /** A failure without a code of its own (an unexpected error is a defect: DEBUG=reco shows its stack). */
  FAILURE: 1,
  /** Bad input: an unknown flag, a wrong flag value, a missing or unreadable source, a file that is not MovieLens CSV. */
  BAD_INPUT: 2,
  /** ingest --strict: a row was rejected, so its day was not loaded. */
  REJECTED_ROWS: 3,
  /** The database is unreachable, refused the login, is in use (the embedded one), failed while loading, or (the embedded one) would pass its size limit; nothing of that batch was kept. */
  DATABASE: 4,
  /** The thing to create exists already (a client username, an experiment name), or would overlap a running experiment. */
  CONFLICT: 5,
  /** ingest --require-new: there was nothing new to load. */
  NOTHING_NEW: 6,
  /** The database schema does not match this reco: it is newer, or an applied migration's file has changed. */
  SCHEMA_MISMATCH: 7,
  /** Not a reco command (the shell's code for "command not found"); a close one is suggested. */
  UNKNOWN_COMMAND: 127,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
