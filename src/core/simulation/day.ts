import type { SimMovie } from './catalogue.js';
import { DAY_SECONDS } from './dates.js';
import { HOURLY_ACTIVITY } from './diurnal.js';
import { Rng } from '../data/random.js';
import {
  MAX_NEW_USERS_PER_DAY,
  NEW_USER_BASE,
  NEW_USER_DAY_OFFSET,
  RETURN_WINDOW_DAYS,
  RETURNING_USER_BASE,
  type World,
} from './world.js';

export interface RatingRow {
  userId: number;
  movieId: number;
  rating: number;
  timestamp: number;
}

export interface PopulationOptions {
  /** Users present from the start (ids RETURNING_USER_BASE + 1 …). */
  users: number;
  /** New users arriving each day. */
  newUsers: number;
  /** New movies released each day. */
  newMovies: number;
}

export interface DayResult {
  newMovies: SimMovie[];
  ratings: RatingRow[];
  activeUsers: number;
  newUserIds: number[];
  returningUsers: number;
}

/** What persists from one simulated day to the next within a run: who rated what. */
export type RatedState = Map<number, Set<number>>;

/** The ids of the users who arrive on day `dayNumber` (days since DEFAULT_START, may be negative). */
export function newUserIds(dayNumber: number, count: number): number[] {
  const base = NEW_USER_BASE + (dayNumber + NEW_USER_DAY_OFFSET) * MAX_NEW_USERS_PER_DAY;
  return Array.from({ length: count }, (_, j) => base + j);
}

/**
 * One day of activity: a few new movies join the catalogue, returning users come back with their usual
 * probability and session size, new users arrive and rate a short onboarding history. Timestamps fall inside
 * the day, clustered in sessions around each user's usual hour and the global evening peak.
 */
export function simulateDay(
  world: World,
  rng: Rng,
  dayStart: number,
  dayNumber: number,
  pop: PopulationOptions,
  rated: RatedState,
): DayResult {
  const newMovies = makeNewMovies(world, rng, pop.newMovies, dayStart);
  world.addMovies(newMovies, rng);

  const returning: number[] = [];
  for (let k = 1; k <= pop.users; k++) returning.push(RETURNING_USER_BASE + k);
  for (let d = Math.max(dayNumber - RETURN_WINDOW_DAYS, 0); d < dayNumber; d++)
    returning.push(...newUserIds(d, pop.newUsers));
  const arriving = newUserIds(dayNumber, pop.newUsers);

  const ratings: RatingRow[] = [];
  let activeReturning = 0;
  for (const id of returning) {
    const user = world.user(id);
    if (rng.next() >= user.activeProb) continue;
    activeReturning++;
    const sessions = rng.next() < 0.2 ? 2 : 1;
    for (let s = 0; s < sessions; s++)
      session(world, rng, id, 1 + rng.poisson(user.sessionSize - 1), dayStart, rated, ratings);
  }
  for (const id of arriving) session(world, rng, id, 8 + rng.poisson(8), dayStart, rated, ratings);

  ratings.sort((a, b) => a.timestamp - b.timestamp || a.userId - b.userId || a.movieId - b.movieId);
  return {
    newMovies,
    ratings,
    activeUsers: activeReturning + arriving.length,
    newUserIds: arriving,
    returningUsers: activeReturning,
  };
}

function session(
  world: World,
  rng: Rng,
  userId: number,
  size: number,
  dayStart: number,
  rated: RatedState,
  out: RatingRow[],
): void {
  const user = world.user(userId);
  let seen = rated.get(userId);
  if (!seen) rated.set(userId, (seen = new Set()));
  // Around the user's usual hour (wrapping past midnight), else anywhere on the global daily curve.
  const usual = (((user.preferredHour + rng.normal(0, 1.5)) % 24) + 24) % 24;
  const hour = rng.next() < 0.7 ? usual : rng.weighted(HOURLY_ACTIVITY) + rng.next();
  let t = dayStart + Math.floor(hour * 3600);
  const end = dayStart + DAY_SECONDS - 1;
  for (let n = 0; n < size && t <= end; n++) {
    const i = world.chooseMovie(user, rng, seen);
    if (i < 0) break;
    const movieId = world.movies[i].movieId;
    seen.add(movieId);
    out.push({ userId, movieId, rating: world.rate(user, i, rng), timestamp: t });
    t += 5 + rng.int(120);
  }
}

const ADJECTIVES = [
  'Silent',
  'Last',
  'Hidden',
  'Broken',
  'Golden',
  'Distant',
  'Midnight',
  'Crimson',
  'Lonely',
  'Electric',
  'Frozen',
  'Wild',
];
const NOUNS = [
  'Harbor',
  'Garden',
  'Signal',
  'Frontier',
  'Promise',
  'Engine',
  'River',
  'Kingdom',
  'Witness',
  'Summer',
  'Orbit',
  'Letter',
];

/** New releases: ids above the catalogue's, genres borrowed from a random existing movie (realistic combinations). */
function makeNewMovies(world: World, rng: Rng, count: number, dayStart: number): SimMovie[] {
  const year = new Date(dayStart * 1000).getUTCFullYear();
  let id = world.maxMovieId;
  const out: SimMovie[] = [];
  for (let n = 0; n < count; n++) {
    id += 1;
    const genres = [...rng.pick(world.movies).genres];
    out.push({ movieId: id, title: `The ${rng.pick(ADJECTIVES)} ${rng.pick(NOUNS)} (${year})`, genres });
  }
  return out;
}
