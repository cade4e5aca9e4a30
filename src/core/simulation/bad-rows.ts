import { EARLIEST_TIMESTAMP, REJECT_REASONS, type RejectReason } from '../pipeline/reasons.js';
import { DAY_SECONDS } from './dates.js';
import type { Rng } from '../data/random.js';

/**
 * Rows that `reco ingest` must reject, each for exactly one reason. They are extra rows (no good row is
 * corrupted, so nothing good is lost), and each uses ids that no good row uses — except the duplicates, which
 * repeat a good row's user and movie with an earlier timestamp, so the good row wins and only the copy is rejected.
 */
export type Cells = string[];

export type BadRowCounts = Partial<Record<RejectReason, number>>;

/** Every reason but the text ones (NUL, not UTF-8, over-long fields), which test/pipeline covers with hand-made files. */
const NOT_SIMULATED: readonly RejectReason[] = ['invalid_text', 'field_too_long'];
export const RATING_BAD_KINDS: readonly RejectReason[] = (Object.keys(REJECT_REASONS) as RejectReason[]).filter(
  (r) => !NOT_SIMULATED.includes(r),
);
export const MOVIE_BAD_KINDS: readonly RejectReason[] = ['wrong_column_count', 'missing_field', 'malformed_number'];

/** 2100-01-01: in the future for any run of ingest this century. */
const FUTURE_TIMESTAMP = 4_102_444_800;
/** Bad rating rows use users from here on (never a simulated user), one id per row. */
export const BAD_USER_BASE = 900_000_000;

/** Ids the bad rows use that must not exist anywhere else: above the catalogue and its new releases. */
export interface BadIdSpace {
  /** Counter for bad users, shared across the days of a run. */
  nextUser: number;
  /** First movie id that is in no catalogue and no day's movies.csv. */
  unknownMovieBase: number;
  nextUnknownMovie: number;
}

export function badIdSpace(maxCatalogueId: number): BadIdSpace {
  const unknownMovieBase = Math.max(9_000_000, maxCatalogueId + 1_000_000);
  return { nextUser: BAD_USER_BASE, unknownMovieBase, nextUnknownMovie: unknownMovieBase };
}

/** How many bad rows of each kind make `rate` the share of bad rows in a file of `good` good rows. */
export function badRowPlan(kinds: readonly RejectReason[], good: number, rate: number): Map<RejectReason, number> {
  const total = rate > 0 ? Math.round((rate / (1 - rate)) * good) : 0;
  const plan = new Map<RejectReason, number>();
  kinds.forEach((k, j) => plan.set(k, Math.floor(total / kinds.length) + (j < total % kinds.length ? 1 : 0)));
  return plan;
}

/** Bad ratings.csv rows for one day; `good` are the day's good rows (userId, movieId, rating, timestamp). */
export function badRatingRows(
  rng: Rng,
  good: readonly Cells[],
  rate: number,
  dayStart: number,
  ids: BadIdSpace,
): { rows: Cells[]; counts: BadRowCounts } {
  const plan = badRowPlan(RATING_BAD_KINDS, good.length, rate);
  const rows: Cells[] = [];
  const counts: BadRowCounts = {};
  const inDay = () => String(dayStart + rng.int(DAY_SECONDS));
  const okRating = () => (0.5 * (1 + rng.int(10))).toFixed(1);
  const movieOf = () => (good.length ? good[rng.int(good.length)][1] : '1');
  // Duplicates repeat good rows that have room for an earlier timestamp inside the day, each at most once.
  const dupCandidates = rng.shuffle(good.map((_, i) => i).filter((i) => Number(good[i][3]) > dayStart));
  for (const [kind, n] of plan) {
    let made = 0;
    for (let j = 0; j < n; j++) {
      const user = String(ids.nextUser++);
      let row: Cells | undefined;
      switch (kind) {
        case 'wrong_column_count':
          row = rng.next() < 0.5 ? [user, movieOf(), okRating()] : [user, movieOf(), okRating(), inDay(), 'extra'];
          break;
        case 'missing_field':
          row = [user, movieOf(), '', inDay()];
          break;
        case 'malformed_number': {
          row = [user, movieOf(), okRating(), inDay()];
          const field = j % 4;
          row[field] = ['u' + user, movieOf() + 'x', 'four', 'noon'][field];
          break;
        }
        case 'rating_out_of_range':
          row = [user, movieOf(), rng.pick(['0.0', '5.5', '6.0', '10.0']), inDay()];
          break;
        case 'rating_not_half_step':
          row = [user, movieOf(), rng.pick(['3.7', '4.25', '1.2', '2.9']), inDay()];
          break;
        case 'unknown_movie':
          row = [user, String(ids.nextUnknownMovie++), okRating(), inDay()];
          break;
        case 'timestamp_in_future':
          row = [user, movieOf(), okRating(), String(FUTURE_TIMESTAMP + rng.int(DAY_SECONDS * 365))];
          break;
        case 'timestamp_before_1995':
          row = [user, movieOf(), okRating(), String(EARLIEST_TIMESTAMP - 1 - rng.int(DAY_SECONDS * 365 * 5))];
          break;
        case 'duplicate_in_file': {
          ids.nextUser--; // a duplicate reuses the good row's user
          const i = dupCandidates.pop();
          if (i === undefined) break;
          const [u, m, , t] = good[i];
          row = [u, m, okRating(), String(dayStart + rng.int(Number(t) - dayStart))];
          break;
        }
      }
      if (row) {
        rows.push(row);
        made++;
      }
    }
    if (made > 0) counts[kind] = made;
  }
  return { rows, counts };
}

/** Bad movies.csv rows: ids that no rating refers to, so rejecting them cannot turn a good rating into an unknown_movie. */
export function badMovieRows(
  rng: Rng,
  goodCount: number,
  rate: number,
  ids: BadIdSpace,
  year: number,
): { rows: Cells[]; counts: BadRowCounts } {
  const plan = badRowPlan(MOVIE_BAD_KINDS, goodCount, rate);
  const rows: Cells[] = [];
  const counts: BadRowCounts = {};
  for (const [kind, n] of plan) {
    for (let j = 0; j < n; j++) {
      const id = String(ids.nextUnknownMovie++);
      const title = `Broken Reel ${id} (${year})`;
      if (kind === 'wrong_column_count') rows.push([id, title]);
      else if (kind === 'missing_field') rows.push([id, '', 'Drama']);
      else rows.push([`${id}x`, title, 'Drama']);
    }
    if (n > 0) counts[kind] = n;
  }
  return { rows, counts };
}

/** Good rows with the bad ones mixed in at seeded positions (good rows keep their order). */
export function mixIn(rng: Rng, good: readonly Cells[], bad: readonly Cells[]): Cells[] {
  const positions = bad.map((row) => ({ at: rng.int(good.length + 1), row })).sort((a, b) => a.at - b.at);
  const out: Cells[] = [];
  let p = 0;
  for (let i = 0; i <= good.length; i++) {
    while (p < positions.length && positions[p].at === i) out.push(positions[p++].row);
    if (i < good.length) out.push(good[i]);
  }
  return out;
}
