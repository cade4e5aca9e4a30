/**
 * PostgreSQL's own tools as the references the benches measure reco against, in the same run: psql's `\copy` of a
 * ratings file (bench:ingest, bench:scale) and `pg_dump -Fc` / `pg_restore` of a database (bench:scale).
 */
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';

/** psql's \copy of a ratings file into a table with the columns and primary key of `ratings`: seconds. */
export function psqlCopy(url: string, file: string): number {
  execFileSync('psql', [
    url,
    '-qc',
    'SET client_min_messages = warning; DROP TABLE IF EXISTS ref; CREATE TABLE ref (user_id bigint NOT NULL, movie_id integer NOT NULL, rating real NOT NULL, ts bigint NOT NULL, PRIMARY KEY (user_id, movie_id))',
  ]);
  const t0 = performance.now();
  execFileSync('psql', [
    url,
    '-qc',
    `\\copy ref (user_id, movie_id, rating, ts) FROM '${file}' WITH (FORMAT csv, HEADER true)`,
  ]);
  const seconds = (performance.now() - t0) / 1000;
  // The table is the size of the file's data again: not kept for the rest of the run.
  execFileSync('psql', [url, '-qc', 'DROP TABLE ref']);
  return seconds;
}

/** `pg_dump -Fc` of the database at `url` into `file`: seconds. */
export function pgDump(url: string, file: string): number {
  const t0 = performance.now();
  execFileSync('pg_dump', ['-Fc', '-f', file, '-d', url], { stdio: ['ignore', 'ignore', 'pipe'] });
  return (performance.now() - t0) / 1000;
}

/** `pg_restore` of a `pg_dump -Fc` file into the empty database at `url` (one job, as reco restore-db): seconds. */
export function pgRestore(url: string, file: string): number {
  const t0 = performance.now();
  execFileSync('pg_restore', ['--no-owner', '--exit-on-error', '-d', url, file], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return (performance.now() - t0) / 1000;
}
