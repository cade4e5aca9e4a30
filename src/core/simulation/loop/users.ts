import { Rng } from '../../data/random.js';
import type { ShapedUser, ShapedWorld } from '../shaped-world.js';

/**
 * The closed loop's users: users of a shaped world (shaped-world.ts) who never appear in its ratings.csv (ids after
 * the world's last user), so a model trained on the world's data meets them as new users. Each arrives on a day
 * with a short history drawn from their own tastes, and comes back on later days with a personal probability.
 * Everything is a function of (seed, world, index).
 */
export interface LoopUser {
  /** The world's user id (taste: niches and weights). */
  worldId: number;
  /** The id the platform knows the user by. */
  externalId: string;
  traits: ShapedUser;
  /** Movies (ids) with ratings the user arrives with, oldest first. */
  history: { movieId: number; rating: number }[];
  /** Day of the first visit, 0-based. */
  arrival: number;
  /** Probability of a visit on each later day. */
  returnRate: number;
}

export interface PopulationOptions {
  users: number;
  days: number;
  seed: number;
  /** Prefix of the external ids (default `loop<seed>-`). */
  idPrefix?: string;
  /** Share of users present on day 0 (the rest arrive uniformly over the days). Default 0.5. */
  presentAtStart?: number;
}

/** Median of the per-day return probability; log-normal spread (σ 0.6), at most 0.9. */
export const MEDIAN_RETURN_RATE = 0.25;
/** Movies a user arrives with: 5–20. */
export const HISTORY_MIN = 5;
export const HISTORY_MAX = 20;

/**
 * The world's own users (those of its ratings.csv) as loop users: each arrives with the history given for it
 * (e.g. all their ratings in the training data), with arrival day and return rate drawn as for new users.
 */
export function knownPopulation(
  world: ShapedWorld,
  histories: ReadonlyMap<number, LoopUser['history']>,
  o: Omit<PopulationOptions, 'users'>,
): LoopUser[] {
  const prefix = o.idPrefix ?? `loop${o.seed}-`;
  const present = o.presentAtStart ?? 0.5;
  return [...histories.keys()]
    .sort((a, b) => a - b)
    .map((worldId) => {
      const rng = new Rng(o.seed, 'loop known user', worldId);
      const arrival = rng.next() < present ? 0 : rng.int(Math.max(1, o.days));
      const returnRate = Math.min(0.9, Math.exp(rng.normal(Math.log(MEDIAN_RETURN_RATE), 0.6)));
      return {
        worldId,
        externalId: `${prefix}${worldId}`,
        traits: world.user(worldId),
        history: histories.get(worldId)!,
        arrival,
        returnRate,
      };
    });
}

export function population(world: ShapedWorld, o: PopulationOptions): LoopUser[] {
  const prefix = o.idPrefix ?? `loop${o.seed}-`;
  const present = o.presentAtStart ?? 0.5;
  const out: LoopUser[] = [];
  for (let j = 0; j < o.users; j++) {
    const worldId = world.shape.users + 1 + j;
    const traits = world.user(worldId);
    const rng = new Rng(o.seed, 'loop user', worldId);
    const size = HISTORY_MIN + rng.int(HISTORY_MAX - HISTORY_MIN + 1);
    const seen = new Set<number>();
    const history: LoopUser['history'] = [];
    for (let attempt = 0; history.length < size && attempt < size * 30; attempt++) {
      const movie = world.drawMovie(world.drawComponent(traits, rng), rng);
      if (seen.has(movie)) continue;
      seen.add(movie);
      history.push({ movieId: movie + 1, rating: world.rate(traits, movie, rng) });
    }
    const arrival = rng.next() < present ? 0 : rng.int(Math.max(1, o.days));
    const returnRate = Math.min(0.9, Math.exp(rng.normal(Math.log(MEDIAN_RETURN_RATE), 0.6)));
    out.push({ worldId, externalId: `${prefix}${worldId}`, traits, history, arrival, returnRate });
  }
  return out;
}
