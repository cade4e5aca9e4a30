import { GENRES, genreIndex } from '../features/genres.js';
import { RATING_TEXT } from './process-ratings.js';
import type { RatingColumns } from './rating-columns.js';

/**
 * The Node side of the rating load: the file's users, their vectors computed from the file's rows (exact for
 * users the load creates, whose only ratings these are), and the CSV streams for COPY, all from the typed
 * columns the processed stage already holds (no second parse).
 */

export interface FileUserIndex {
  /** The distinct external user ids of the file, ascending. */
  users: number[];
  /** For each row, the index of its user in `users`. */
  rowUser: Int32Array;
}

export function indexUsers(rows: RatingColumns): FileUserIndex {
  const sorted = rows.user.slice(0, rows.length).sort();
  const users: number[] = [];
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) users.push(sorted[i]);
  const at = new Map<number, number>(users.map((u, i) => [u, i]));
  const rowUser = new Int32Array(rows.length);
  for (let i = 0; i < rows.length; i++) rowUser[i] = at.get(rows.user[i])!;
  return { users, rowUser };
}

/** The distinct movie ids of the rows. */
export function distinctMovies(rows: RatingColumns): number[] {
  const sorted = rows.movie.slice(0, rows.length).sort();
  const out: number[] = [];
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) out.push(sorted[i]);
  return out;
}

/**
 * Each user's genre profile over the file's rows (genreProfile of features/genres.ts, summed in float64 and
 * rounded to float32 as the SQL version is; ratings are half-steps, so the sums are exact in any order), as
 * PostgreSQL array literals, and each user's number of rows.
 */
export function fileProfiles(rows: RatingColumns, index: FileUserIndex, genresOf: Map<number, readonly string[]>): { vectors: string[]; counts: number[] } {
  const k = GENRES.length;
  const n = index.users.length;
  const sums = new Float64Array(n * k);
  const totals = new Float64Array(n);
  const counts = new Array<number>(n).fill(0);
  const slots = new Map<number, Int32Array>();
  for (const [movie, genres] of genresOf) {
    const s: number[] = [];
    for (const g of genres) {
      const j = genreIndex(g);
      if (j !== undefined) s.push(j);
    }
    slots.set(movie, Int32Array.from(s));
  }
  const none = new Int32Array(0);
  for (let i = 0; i < rows.length; i++) {
    const u = index.rowUser[i];
    const r = rows.halfSteps[i] / 2;
    totals[u] += r;
    counts[u]++;
    const s = slots.get(rows.movie[i]) ?? none;
    for (let g = 0; g < s.length; g++) sums[u * k + s[g]] += r;
  }
  const vectors = new Array<string>(n);
  const parts = new Array<string>(k);
  for (let u = 0; u < n; u++) {
    const total = totals[u];
    for (let g = 0; g < k; g++) parts[g] = total > 0 ? String(Math.fround(sums[u * k + g] / total)) : '0';
    vectors[u] = `{${parts.join(',')}}`;
  }
  return { vectors, counts };
}

const SECONDS_OF_DAY: string[] = [];
const DAYS = new Map<number, string>();

/** Unix seconds as timestamptz text ('2008-05-03 12:34:56+00'); the date part is cached per day. */
export function timestampText(ts: number): string {
  if (SECONDS_OF_DAY.length === 0) {
    const two = (x: number) => (x < 10 ? `0${x}` : `${x}`);
    for (let s = 0; s < 86_400; s++) SECONDS_OF_DAY.push(`${two(Math.floor(s / 3600))}:${two(Math.floor(s / 60) % 60)}:${two(s % 60)}+00`);
  }
  const day = Math.floor(ts / 86_400);
  let date = DAYS.get(day);
  if (date === undefined) {
    date = new Date(day * 86_400_000).toISOString().slice(0, 10);
    DAYS.set(day, date);
  }
  return `${date} ${SECONDS_OF_DAY[ts - day * 86_400]}`;
}

const CHUNK = 1 << 16;

/** Rows of the users with `pick[user] === want`, as CSV for COPY into ratings (user_id, movie_id, rating, rated_at). */
export async function* ratingsCsv(rows: RatingColumns, index: FileUserIndex, userIds: Float64Array, pick: Uint8Array, want: number): AsyncGenerator<string> {
  let chunk = '';
  for (let i = 0; i < rows.length; i++) {
    const u = index.rowUser[i];
    if (pick[u] !== want) continue;
    chunk += `${userIds[u]},${rows.movie[i]},${RATING_TEXT[rows.halfSteps[i]]},${timestampText(rows.timestamp[i])}\n`;
    if (chunk.length > CHUNK) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk.length > 0) yield chunk;
}

/** Rows of the users with `pick[user] === want`, as CSV for the staging table (user_ext, movie_id, rating, ts). */
export async function* stagedRatingsCsv(rows: RatingColumns, index: FileUserIndex, pick: Uint8Array, want: number): AsyncGenerator<string> {
  let chunk = '';
  for (let i = 0; i < rows.length; i++) {
    if (pick[index.rowUser[i]] !== want) continue;
    chunk += `${rows.user[i]},${rows.movie[i]},${RATING_TEXT[rows.halfSteps[i]]},${rows.timestamp[i]}\n`;
    if (chunk.length > CHUNK) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk.length > 0) yield chunk;
}
