import { GenreProfiles, MovieGenreSlots } from '../features/genre-profile.js';
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

/** plan: the rows' users and the order the load writes them in. */
export interface LoadPlan {
  index: FileUserIndex;
  order: Int32Array;
}

export function planLoad(rows: RatingColumns): LoadPlan {
  const index = indexUsers(rows);
  return { index, order: loadOrder(rows, index) };
}

/**
 * The rows ordered by (user, movie), users in the order of `index.users`: the order of the primary key of
 * ratings when the users' ids were assigned in that order (as one INSERT … SELECT FROM unnest does), so that
 * COPY appends to the right edge of its b-tree (faster, and a smaller index, than the same rows in file order:
 * docs/benchmarks/ingest.md). Rows of the same (user, movie) stay in file
 * order, next to each other (duplicatesInOrder relies on both). Two stable counting sorts (LSD radix): by
 * movie, then by user — linear in the rows, unlike a comparison sort of a million keys; movie ids beyond
 * 2^22 (no MovieLens file has them) take the comparison sort per user instead.
 */
export function loadOrder(rows: RatingColumns, index: FileUserIndex): Int32Array {
  const n = rows.length;
  const nUsers = index.users.length;
  let maxMovie = 0;
  let minMovie = 0;
  for (let i = 0; i < n; i++) {
    const m = rows.movie[i];
    if (m > maxMovie) maxMovie = m;
    if (m < minMovie) minMovie = m;
  }
  if (maxMovie >= 1 << 22 || minMovie < 0) return loadOrderByComparison(rows, index);
  const byMovie = new Int32Array(n);
  const movieStart = new Int32Array(maxMovie + 2);
  for (let i = 0; i < n; i++) movieStart[rows.movie[i] + 1]++;
  for (let m = 0; m <= maxMovie; m++) movieStart[m + 1] += movieStart[m];
  for (let i = 0; i < n; i++) byMovie[movieStart[rows.movie[i]]++] = i;
  const userStart = new Int32Array(nUsers + 1);
  for (let i = 0; i < n; i++) userStart[index.rowUser[i] + 1]++;
  for (let u = 0; u < nUsers; u++) userStart[u + 1] += userStart[u];
  const order = new Int32Array(n);
  for (let k = 0; k < n; k++) {
    const i = byMovie[k];
    order[userStart[index.rowUser[i]]++] = i;
  }
  return order;
}

/**
 * Marks the rows that lose to another row of the same (user, movie): the latest timestamp wins, and among
 * equal timestamps the later line. `order` is loadOrder's, where such rows are neighbours. Returns a flag per
 * row (1 = duplicate to reject) and how many there are.
 */
export function duplicatesInOrder(
  rows: RatingColumns,
  rowUser: Int32Array,
  order: Int32Array,
): { loser: Uint8Array; count: number } {
  const loser = new Uint8Array(rows.length);
  let count = 0;
  for (let k = 1; k < order.length; k++) {
    let w = order[k - 1];
    if (rowUser[order[k]] !== rowUser[w] || rows.movie[order[k]] !== rows.movie[w]) continue;
    // A run of rows of one pair: keep the best, flag the others.
    for (; k < order.length && rowUser[order[k]] === rowUser[w] && rows.movie[order[k]] === rows.movie[w]; k++) {
      const i = order[k];
      if (
        rows.timestamp[i] > rows.timestamp[w] ||
        (rows.timestamp[i] === rows.timestamp[w] && rows.line[i] > rows.line[w])
      ) {
        loser[w] = 1;
        w = i;
      } else loser[i] = 1;
      count++;
    }
  }
  return { loser, count };
}

/** loadOrder for large movie ids: a counting sort by user, then each user's rows by (movie, file order). */
function loadOrderByComparison(rows: RatingColumns, index: FileUserIndex): Int32Array {
  const nUsers = index.users.length;
  const start = new Int32Array(nUsers + 1);
  for (let i = 0; i < rows.length; i++) start[index.rowUser[i] + 1]++;
  for (let u = 0; u < nUsers; u++) start[u + 1] += start[u];
  const order = new Int32Array(rows.length);
  const next = start.slice(0, nUsers);
  for (let i = 0; i < rows.length; i++) order[next[index.rowUser[i]]++] = i;
  for (let u = 0; u < nUsers; u++) {
    const seg = order.subarray(start[u], start[u + 1]);
    let sorted = true;
    for (let j = 1; j < seg.length && sorted; j++) sorted = rows.movie[seg[j - 1]] <= rows.movie[seg[j]];
    if (!sorted) seg.sort((a, b) => rows.movie[a] - rows.movie[b] || a - b);
  }
  return order;
}

/**
 * Each user's genre profile over the file's rows (GenreProfiles of features/genre-profile.ts), as PostgreSQL
 * array literals, and each user's number of rows.
 */
export function fileProfiles(
  rows: RatingColumns,
  index: FileUserIndex,
  genresOf: ReadonlyMap<number, readonly string[]> | MovieGenreSlots,
  /** Only these users (1 at their index); the others get an empty vector and count 0. */
  only?: Uint8Array,
): { vectors: string[]; counts: number[] } {
  const n = index.users.length;
  const profiles = new GenreProfiles(genresOf instanceof MovieGenreSlots ? genresOf : new MovieGenreSlots(genresOf), n);
  for (let i = 0; i < rows.length; i++) {
    const u = index.rowUser[i];
    if (only && !only[u]) continue;
    profiles.add(u, rows.movie[i], rows.halfSteps[i] / 2);
  }
  const vectors = new Array<string>(n);
  const counts = new Array<number>(n);
  for (let u = 0; u < n; u++) {
    vectors[u] = only && !only[u] ? '' : profiles.text(u);
    counts[u] = profiles.count(u);
  }
  return { vectors, counts };
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
