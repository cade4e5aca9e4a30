import { GENRES, genreIndex } from '../features/genres.js';
import { ByteChunks } from './csv-bytes.js';
import { RATING_TEXT } from './rating-text.js';
import type { RatingColumns } from './rating-columns.js';

/**
 * The Node side of the rating load: the file's users, their vectors computed from the file's rows (exact for
 * users the load creates, whose only ratings these are), and the CSV streams for COPY, all from the typed
 * columns the processed stage already holds (no second parse).
 */

export interface FileUserIndex {
  /** The distinct external user ids of the file, in order of first appearance. */
  users: number[];
  /** For each row, the index of its user in `users`. */
  rowUser: Int32Array;
}

export function indexUsers(rows: RatingColumns): FileUserIndex {
  const users: number[] = [];
  const at = new Map<number, number>();
  const rowUser = new Int32Array(rows.length);
  // Files usually list a user's ratings together: look the id up only when it changes.
  let last = NaN;
  let lastAt = -1;
  for (let i = 0; i < rows.length; i++) {
    const u = rows.user[i];
    if (u !== last) {
      last = u;
      let k = at.get(u);
      if (k === undefined) {
        k = users.length;
        users.push(u);
        at.set(u, k);
      }
      lastAt = k;
    }
    rowUser[i] = lastAt;
  }
  return { users, rowUser };
}

/** The distinct movie ids of the rows (a bitmap over the ids when they are small, as MovieLens ids are). */
export function distinctMovies(rows: RatingColumns): number[] {
  let max = 0;
  for (let i = 0; i < rows.length; i++) if (rows.movie[i] > max) max = rows.movie[i];
  if (max >= 1 << 25) return [...new Set(rows.movie.subarray(0, rows.length))];
  const seen = new Uint8Array(max + 1);
  for (let i = 0; i < rows.length; i++) seen[rows.movie[i]] = 1;
  const out: number[] = [];
  for (let m = 0; m <= max; m++) if (seen[m]) out.push(m);
  return out;
}

/**
 * The rows ordered by (user, movie), users in the order of `index.users`: the order of the primary key of
 * ratings when the users' ids were assigned in that order (as one INSERT … SELECT FROM unnest does), so that
 * COPY appends to the right edge of its b-tree (measured by hand: ~15 % faster and an index 40 % smaller than
 * the same rows in file order; any other order is merely slower). A counting sort by user, then each user's
 * rows by movie (usually already in order). Needs no ids, so it runs while PostgreSQL creates the users.
 */
export function loadOrder(rows: RatingColumns, index: FileUserIndex): Int32Array {
  const nUsers = index.users.length;
  const start = new Int32Array(nUsers + 1);
  for (let i = 0; i < rows.length; i++) start[index.rowUser[i] + 1]++;
  for (let u = 0; u < nUsers; u++) start[u + 1] += start[u];
  const order = new Int32Array(rows.length);
  const next = start.slice(0, nUsers);
  for (let i = 0; i < rows.length; i++) order[next[index.rowUser[i]]++] = i;
  let scratch = new Float64Array(0);
  for (let u = 0; u < nUsers; u++) {
    const from = start[u];
    const to = start[u + 1];
    let sorted = true;
    for (let j = from + 1; j < to && sorted; j++) sorted = rows.movie[order[j - 1]] < rows.movie[order[j]];
    if (sorted) continue;
    const len = to - from;
    if (len >= POSITION) {
      order.subarray(from, to).sort((a, b) => rows.movie[a] - rows.movie[b]);
      continue;
    }
    // movie × 2^22 + position in the segment: a native numeric sort of one array (movie < 2^31).
    if (scratch.length < len) scratch = new Float64Array(len);
    const keys = scratch.subarray(0, len);
    for (let j = 0; j < len; j++) keys[j] = rows.movie[order[from + j]] * POSITION + j;
    keys.sort();
    const rowsOfUser = order.slice(from, to);
    for (let j = 0; j < len; j++) order[from + j] = rowsOfUser[keys[j] % POSITION];
  }
  return order;
}

const POSITION = 2 ** 22;

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
  // The genre slots of each movie, flattened: slots[start[m] … start[m + 1]) for the m-th distinct movie.
  const movies = [...genresOf.keys()].sort((a, b) => a - b);
  const movieAt = new Map<number, number>(movies.map((m, i) => [m, i]));
  const start = new Int32Array(movies.length + 1);
  const flat: number[] = [];
  movies.forEach((m, i) => {
    for (const g of genresOf.get(m)!) {
      const j = genreIndex(g);
      if (j !== undefined) flat.push(j);
    }
    start[i + 1] = flat.length;
  });
  const slots = Int32Array.from(flat);
  const rowMovie = movieIndexer(movies, movieAt);
  for (let i = 0; i < rows.length; i++) {
    const u = index.rowUser[i];
    const r = rows.halfSteps[i] / 2;
    totals[u] += r;
    counts[u]++;
    const m = rowMovie(rows.movie[i]);
    if (m < 0) continue;
    for (let g = start[m]; g < start[m + 1]; g++) sums[u * k + slots[g]] += r;
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

/** Movie id → its index in `movies` (−1 if absent): a dense table for ids up to 2^22, a map beyond. */
function movieIndexer(movies: readonly number[], movieAt: Map<number, number>): (id: number) => number {
  const max = movies.length > 0 ? movies[movies.length - 1] : 0;
  if (max >= 1 << 22) return (id) => movieAt.get(id) ?? -1;
  const dense = new Int32Array(max + 1).fill(-1);
  for (const [m, i] of movieAt) dense[m] = i;
  return (id) => (id <= max ? dense[id] : -1);
}

/** The rows as the processed ratings.csv lists them (userId,movieId,rating,timestamp), without the header. */
export function* processedCsv(rows: RatingColumns): Generator<Uint8Array> {
  const out = new ByteChunks();
  for (let i = 0; i < rows.length; i++) {
    processedLine(out, rows, i);
    if (out.full) yield out.take();
  }
  if (out.length > 0) yield out.take();
}

function processedLine(out: ByteChunks, rows: RatingColumns, i: number): void {
  out.uint(rows.user[i]);
  out.byte(COMMA);
  out.uint(rows.movie[i]);
  out.byte(COMMA);
  out.ascii(RATING_BYTES[rows.halfSteps[i]]);
  out.byte(COMMA);
  out.uint(rows.timestamp[i]);
  out.byte(NEWLINE);
}

const COMMA = 0x2c;
const NEWLINE = 0x0a;
const RATING_BYTES = RATING_TEXT.map((t) => Buffer.from(t, 'latin1'));
