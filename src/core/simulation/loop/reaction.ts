import { Rng } from '../../data/random.js';
import type { ShapedUser, ShapedWorld } from '../shaped-world.js';
import { population } from './users.js';

/**
 * How a simulated user reacts to a list, from the world's true tastes:
 * - Position bias: the movie at rank r (1-based) is examined with probability 1 / log2(1 + r) (the DCG discount:
 *   1 at the top, 0.5 at rank 3, 0.29 at rank 10), each rank independently.
 * - Choice: an examined movie i is watched with probability min(1, α · p(i | u)), p the world's choice
 *   probability (shaped-world.ts). α is calibrated per world so that the oracle's list (the top n by p) converts
 *   a target share of its impressions (default 5 %): a good list converts a few percent, a poor one less.
 * - A watched movie is sent as a `rating` (half the time, the world's taste rating) or a `view`; an examined
 *   movie not watched is a `skip`. A conversion is what the experiment report counts: a view, or a rating ≥ 4.
 */
export const DEFAULT_TARGET_CTR = 0.05;

export function examination(rank: number): number {
  return 1 / Math.log2(1 + rank);
}

export interface Reaction {
  movieId: number;
  /** 1-based. */
  rank: number;
  type: 'view' | 'rating' | 'skip';
  rating?: number;
  conversion: boolean;
}

export function react(
  world: ShapedWorld,
  user: ShapedUser,
  movieIds: readonly number[],
  alpha: number,
  rng: Rng,
): Reaction[] {
  const out: Reaction[] = [];
  for (let r = 0; r < movieIds.length; r++) {
    const examined = rng.next() < examination(r + 1);
    const chose = rng.next();
    const rates = rng.next() < 0.5;
    const movie = movieIds[r] - 1;
    if (!examined || movie < 0 || movie >= world.maxMovieId) continue;
    if (chose < Math.min(1, alpha * world.choiceProbability(user, movie))) {
      if (rates) {
        const rating = world.rate(user, movie, rng);
        out.push({ movieId: movieIds[r], rank: r + 1, type: 'rating', rating, conversion: rating >= 4 });
      } else out.push({ movieId: movieIds[r], rank: r + 1, type: 'view', conversion: true });
    } else out.push({ movieId: movieIds[r], rank: r + 1, type: 'skip', conversion: false });
  }
  return out;
}

/** The top `n` movies (0-based indices) by p(i | u), not in `seen`, ties to the lower index: what the oracle would show. */
export function oracleList(world: ShapedWorld, user: ShapedUser, n: number, seen: ReadonlySet<number>): number[] {
  const top: number[] = [];
  const ps: number[] = [];
  for (let i = 0; i < world.maxMovieId; i++) {
    if (seen.has(i + 1)) continue;
    const p = world.choiceProbability(user, i);
    if (top.length === n && p <= ps[n - 1]) continue;
    let at = Math.min(top.length, n - 1);
    while (at > 0 && ps[at - 1] < p) at--;
    top.splice(at, 0, i);
    ps.splice(at, 0, p);
    if (top.length > n) {
      top.pop();
      ps.pop();
    }
  }
  return top;
}

/** Users in the calibration sample of α (drawn with a fixed seed: α is a property of the world, n and the target). */
const CALIBRATION_USERS = 200;
const alphas = new WeakMap<ShapedWorld, Map<string, number>>();

/**
 * α such that the oracle's lists of `n` for a fixed sample of the world's new users (after their arrival histories)
 * have an expected share of watched impressions of `target` (bisection on the expectation, no sampling: the same
 * world gives the same α). Watched counts rated-below-4 ones too, so the share of conversions is a little lower.
 */
export function calibrateAlpha(world: ShapedWorld, n: number, target = DEFAULT_TARGET_CTR): number {
  const key = `${n}:${target}`;
  const cached = alphas.get(world)?.get(key);
  if (cached !== undefined) return cached;
  const users = population(world, { users: CALIBRATION_USERS, days: 1, seed: 0 });
  const lists = users.map((u) => {
    const list = oracleList(world, u.traits, n, new Set(u.history.map((h) => h.movieId)));
    return list.map((i) => world.choiceProbability(u.traits, i));
  });
  const ctr = (alpha: number) => {
    let sum = 0;
    for (const ps of lists) for (let r = 0; r < ps.length; r++) sum += examination(r + 1) * Math.min(1, alpha * ps[r]);
    return sum / Math.max(1, lists.length * n);
  };
  let lo = 0;
  let hi = 1;
  while (ctr(hi) < target && hi < 1e12) hi *= 2;
  for (let it = 0; it < 60; it++) {
    const mid = (lo + hi) / 2;
    if (ctr(mid) < target) lo = mid;
    else hi = mid;
  }
  const alpha = (lo + hi) / 2;
  if (!alphas.has(world)) alphas.set(world, new Map());
  alphas.get(world)!.set(key, alpha);
  return alpha;
}

/** The reaction stream of one visit: the same (seed, user, visit) draws the same numbers whatever the list. */
export function visitRng(seed: number, worldId: number, visit: number): Rng {
  return new Rng(seed, 'loop visit', worldId, visit);
}
