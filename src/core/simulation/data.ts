import fs from 'node:fs';
import path from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { RecoError } from '../errors.js';
import { NO_GENRES } from '../features/genres.js';
import { badIdSpace, badMovieRows, badRatingRows, mixIn, type BadRowCounts, type Cells } from './bad-rows.js';
import type { SimMovie } from './catalogue.js';
import { DAY_SECONDS, DEFAULT_START, formatDay, parseDay } from './dates.js';
import { simulateDay, type RatedState } from './day.js';
import { Rng } from '../data/random.js';
import { dayDir, writeDayAtomically } from './write-day.js';
import { MAX_NEW_USERS_PER_DAY, World } from './world.js';

export interface SimulateDataOptions {
  catalogue: readonly SimMovie[];
  /** First day, YYYY-MM-DD. */
  start: string;
  days: number;
  /** Users present from the start. */
  users: number;
  /** New users per day (default 4% of `users`, at least 1). */
  newUsers?: number;
  newMovies: number;
  /** Share of bad rows in each file (0 – 0.5), spread evenly over the kinds ingest rejects. */
  badRows: number;
  seed: number;
  /** The simulation_data directory. */
  out: string;
  /** Replace days that already exist. */
  force?: boolean;
  onDay?: (done: number, day: DaySummary) => void;
}

export interface FileSummary {
  path: string;
  /** Data rows (header excluded). */
  rows: number;
  good: number;
  /** Bad rows injected, by rejection reason. */
  bad: BadRowCounts;
}

export interface DaySummary {
  day: string;
  dir: string;
  files: { movies: FileSummary; ratings: FileSummary };
  new_movie_ids: number[];
  users: { active: number; returning: number; new: number };
}

export interface SimulationSummary {
  out: string;
  seed: number;
  start: string;
  days: number;
  users: number;
  new_users_per_day: number;
  new_movies_per_day: number;
  bad_rows_rate: number;
  totals: { ratings: number; movies_added: number; bad: { movies: BadRowCounts; ratings: BadRowCounts } };
  day_summaries: DaySummary[];
}

const LIMITS = { days: 3650, users: 1_000_000, newMovies: 1000 };

export function validateOptions(o: SimulateDataOptions): void {
  const int = (name: string, v: number, lo: number, hi: number) => {
    if (!Number.isInteger(v) || v < lo || v > hi)
      throw new RecoError(`--${name} must be a whole number from ${lo} to ${hi} (got ${v})`);
  };
  int('days', o.days, 1, LIMITS.days);
  int('users', o.users, 1, LIMITS.users);
  int('new-movies', o.newMovies, 0, LIMITS.newMovies);
  if (o.newUsers !== undefined) int('new-users', o.newUsers, 0, MAX_NEW_USERS_PER_DAY);
  int('seed', o.seed, 0, 2 ** 31 - 1);
  if (!(o.badRows >= 0 && o.badRows <= 0.5))
    throw new RecoError(`--bad-rows must be a share from 0 to 0.5, e.g. 0.02 for 2% (got ${o.badRows})`);
  parseDay(o.start);
  if (o.catalogue.length === 0)
    throw new RecoError('the catalogue is empty: load movies first (reco ingest) or pass --catalogue movies.csv');
}

/** The days this run would write, so a command can refuse before any work when one exists. */
export function plannedDays(start: string, days: number): string[] {
  const t0 = parseDay(start);
  return Array.from({ length: days }, (_, i) => formatDay(t0 + i * DAY_SECONDS));
}

/**
 * Writes `days` days of simulation_data/YYYY/MM/DD/{movies.csv,ratings.csv}. The output is a pure function of
 * the options (no clock, no Math.random): the same seed and catalogue give byte-identical files.
 */
export async function simulateData(o: SimulateDataOptions): Promise<SimulationSummary> {
  validateOptions(o);
  const newUsers = o.newUsers ?? Math.min(MAX_NEW_USERS_PER_DAY, Math.max(1, Math.round(o.users * 0.04)));
  const days = plannedDays(o.start, o.days);
  if (!o.force) {
    const existing = days.map((d) => dayDir(o.out, d)).find((d) => fs.existsSync(d));
    if (existing)
      throw new RecoError(`${existing} already exists`, {
        hint: 'pass --force to replace it, or choose another --start or --out',
      });
  }
  const world = new World(o.seed, o.catalogue);
  const ids = badIdSpace(world.maxMovieId);
  const rated: RatedState = new Map();
  const epoch = parseDay(DEFAULT_START);
  const summaries: DaySummary[] = [];
  const totals = { ratings: 0, movies_added: 0, bad: { movies: {} as BadRowCounts, ratings: {} as BadRowCounts } };

  for (const [i, day] of days.entries()) {
    const dayStart = parseDay(day);
    const rng = new Rng(o.seed, 'day', day);
    const result = simulateDay(
      world,
      rng,
      dayStart,
      Math.round((dayStart - epoch) / DAY_SECONDS),
      { users: o.users, newUsers, newMovies: o.newMovies },
      rated,
    );

    const movieCells: Cells[] = world.movies.map((m) => [
      String(m.movieId),
      m.title,
      m.genres.length ? m.genres.join('|') : NO_GENRES,
    ]);
    const ratingCells: Cells[] = result.ratings.map((r) => [
      String(r.userId),
      String(r.movieId),
      r.rating.toFixed(1),
      String(r.timestamp),
    ]);
    const badRng = new Rng(o.seed, 'bad rows', day);
    const badMovies = badMovieRows(
      badRng,
      movieCells.length,
      o.badRows,
      ids,
      new Date(dayStart * 1000).getUTCFullYear(),
    );
    const badRatings = badRatingRows(badRng, ratingCells, o.badRows, dayStart, ids);
    const moviesRows = mixIn(badRng, movieCells, badMovies.rows);
    const ratingsRows = mixIn(badRng, ratingCells, badRatings.rows);

    const dir = dayDir(o.out, day);
    writeDayAtomically(
      dir,
      {
        // The header by hand: csv-stringify's `columns` would cut the injected rows that have a column too many.
        'movies.csv': 'movieId,title,genres\n' + stringify(moviesRows),
        'ratings.csv': 'userId,movieId,rating,timestamp\n' + stringify(ratingsRows),
      },
      Boolean(o.force),
    );

    const summary: DaySummary = {
      day,
      dir,
      files: {
        movies: {
          path: path.join(dir, 'movies.csv'),
          rows: moviesRows.length,
          good: movieCells.length,
          bad: badMovies.counts,
        },
        ratings: {
          path: path.join(dir, 'ratings.csv'),
          rows: ratingsRows.length,
          good: ratingCells.length,
          bad: badRatings.counts,
        },
      },
      new_movie_ids: result.newMovies.map((m) => m.movieId),
      users: { active: result.activeUsers, returning: result.returningUsers, new: result.newUserIds.length },
    };
    summaries.push(summary);
    totals.ratings += ratingCells.length;
    totals.movies_added += result.newMovies.length;
    addCounts(totals.bad.movies, badMovies.counts);
    addCounts(totals.bad.ratings, badRatings.counts);
    o.onDay?.(i + 1, summary);
    // Let a progress bar (and signals) run between days: a long run is otherwise one blocking loop.
    await new Promise((resolve) => setImmediate(resolve));
  }
  return {
    out: o.out,
    seed: o.seed,
    start: days[0],
    days: o.days,
    users: o.users,
    new_users_per_day: newUsers,
    new_movies_per_day: o.newMovies,
    bad_rows_rate: o.badRows,
    totals,
    day_summaries: summaries,
  };
}

function addCounts(into: BadRowCounts, from: BadRowCounts): void {
  for (const [k, n] of Object.entries(from) as [keyof BadRowCounts, number][]) into[k] = (into[k] ?? 0) + n;
}
