import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { csvLine } from '../../src/core/db/csv.js';
import type { Database } from '../../src/core/db/types.js';

/** The MovieLens sample the tests and the benchmark load (read only). */
export const ML_DIR = process.env.RECO_ML_DIR ?? '/work/shared/data/ml-latest-small';

export interface Loaded {
  clientId: number;
  movies: number;
  users: number;
  ratings: number;
}

async function* lines(rows: Iterable<string>): AsyncGenerator<string> {
  let batch = '';
  for (const r of rows) {
    batch += r;
    if (batch.length > 1 << 20) {
      yield batch;
      batch = '';
    }
  }
  if (batch) yield batch;
}

/**
 * Loads ml-latest-small through the schema's tables with COPY: one client, the movies, users 1..maxUser
 * (all by default) with their rating counts, and their ratings.
 */
export async function loadMovieLens(
  db: Database,
  options: { maxUser?: number; clientName?: string } = {},
): Promise<Loaded> {
  const maxUser = options.maxUser ?? Number.MAX_SAFE_INTEGER;
  const client = await db.query<{ id: number }>(
    `INSERT INTO clients (username, name) VALUES ($1, 'MovieLens') RETURNING id`,
    [options.clientName ?? 'movielens'],
  );
  const clientId = client.rows[0].id;

  const movieRows: string[][] = parse(fs.readFileSync(path.join(ML_DIR, 'movies.csv')), { from_line: 2 });
  const movieLines = movieRows.map(([id, title, genres]) => {
    const year = /\((\d{4})\)\s*$/.exec(title)?.[1];
    return csvLine([
      Number(id),
      title,
      genres === '(no genres listed)' ? [] : genres.split('|'),
      year ? Number(year) : null,
    ]);
  });
  const movies = await db.copyFrom('movies', ['movie_id', 'title', 'genres', 'year'], lines(movieLines));

  const ratingLines: string[] = [];
  const counts = new Map<number, number>();
  const text = fs.readFileSync(path.join(ML_DIR, 'ratings.csv'), 'utf8');
  for (const line of text.split('\n').slice(1)) {
    if (!line) continue;
    const [u, m, r, ts] = line.split(',');
    const user = Number(u);
    if (user > maxUser) continue;
    counts.set(user, (counts.get(user) ?? 0) + 1);
    ratingLines.push(`${user},${m},${r},${new Date(Number(ts) * 1000).toISOString()}\n`);
  }
  // users.id = the MovieLens userId, so ratings can name it directly; the sequence is reset below.
  const userLines = [...counts].map(([u, n]) => `${u},${clientId},${u},${n}\n`);
  const users = await db.copyFrom('users', ['id', 'client_id', 'external_id', 'rating_count'], lines(userLines));
  await db.query(`SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT max(id) FROM users))`);
  const ratings = await db.copyFrom('ratings', ['user_id', 'movie_id', 'rating', 'rated_at'], lines(ratingLines));
  return { clientId, movies, users, ratings };
}

/** Data the MovieLens files do not exercise: quotes, commas, newlines, NULLs, arrays, jsonb, bytea, identity ids. */
export async function addAwkwardRows(db: Database): Promise<void> {
  await db.query(`INSERT INTO movies (movie_id, title, genres, year) VALUES ($1, $2, $3, NULL)`, [
    999001,
    'He said "hi",\nthen left; back\\slash',
    ['Drama', 'Film "Noir"'],
  ]);
  await db.query(
    `INSERT INTO models (version, algorithm, params, artifact, artifact_sha256, active) VALUES ('v1', 'popular', $1, $2, 'x', true)`,
    [JSON.stringify({ n: 10, note: 'ünïcode, "quoted"' }), Buffer.from([0, 1, 2, 255, 10, 34, 44])],
  );
  const run = await db.query<{ id: number }>(
    `INSERT INTO ingest_runs (source, status) VALUES ('initial_data', 'succeeded') RETURNING id`,
  );
  await db.query(
    `INSERT INTO ingest_files (run_id, kind, path, sha256, rows_read, rows_accepted, rows_rejected) VALUES ($1, 'ratings', 'a,b.csv', 'abc', 3, 2, 1)`,
    [run.rows[0].id],
  );
  await db.query(`UPDATE users SET characteristic = ARRAY[0.1, 0.25, 1e-7]::real[] WHERE id = 1`);
}

/** Every table but the job log, which a backup and a restore each add a row to by design. */
export function dataDigests(all: Record<string, { rows: number; sha256: string }>) {
  const { job_runs: _jobs, ...rest } = all;
  return rest;
}
