import { Rng } from '../../data/random.js';
import type { ShapedWorld } from '../shaped-world.js';
import { summarize, type ArmSummary, type UserOutcome } from './outcomes.js';
import { calibrateAlpha, react, visitRng, DEFAULT_TARGET_CTR, type Reaction } from './reaction.js';
import { population, type LoopUser } from './users.js';

/** What the loop needs from a platform: a list for a user (the first visit carries the arrival history), and feedback. */
export interface LoopPlatform {
  recommend(user: LoopUser, first: boolean, n: number): Promise<ServedList>;
  feedback(user: LoopUser, list: ServedList, reactions: readonly Reaction[]): Promise<void>;
  /** After each simulated day (0-based), e.g. to update an adaptive allocation from that day's feedback. */
  endDay?(day: number): void;
}

export interface ServedList {
  movieIds: number[];
  /** The arm (experiment variant) that served it; `all` outside an experiment. */
  arm: string;
  recommendationId?: string;
}

export interface LoopOptions {
  world: ShapedWorld;
  users: number;
  days: number;
  seed: number;
  /** List length (default 10). */
  n?: number;
  /** Share of the oracle's impressions that are watched, which sets α (default 5 %). */
  targetCtr?: number;
  idPrefix?: string;
  /** The users to simulate instead of `users` new ones (e.g. knownPopulation). */
  population?: LoopUser[];
  /** Users served at once within a day (one user's visits are always in order). Default 1. */
  concurrency?: number;
  onDay?: (day: number, days: number, visits: number) => void;
}

export interface LoopResult {
  seed: number;
  users: number;
  days: number;
  n: number;
  alpha: number;
  visits: number;
  arms: ArmSummary[];
  outcomes: UserOutcome[];
}

/**
 * Runs simulated days: each day every user who arrived that day visits, and every earlier arrival comes back with
 * their return rate; a visit is one list, the user's reaction to it, and the feedback. Same options and a
 * deterministic platform → the same outcomes.
 */
export async function runLoop(o: LoopOptions, platform: LoopPlatform): Promise<LoopResult> {
  const n = o.n ?? 10;
  const users =
    o.population ?? population(o.world, { users: o.users, days: o.days, seed: o.seed, idPrefix: o.idPrefix });
  const alpha = calibrateAlpha(o.world, n, o.targetCtr ?? DEFAULT_TARGET_CTR);
  const outcomes = new Map<string, UserOutcome>();
  const visitsOf = new Map<string, number>();
  let visits = 0;
  for (let day = 0; day < o.days; day++) {
    const today = users.filter(
      (u) =>
        u.arrival === day || (u.arrival < day && new Rng(o.seed, 'loop return', u.worldId, day).next() < u.returnRate),
    );
    await inParallel(today, o.concurrency ?? 1, async (u) => {
      const visit = visitsOf.get(u.externalId) ?? 0;
      visitsOf.set(u.externalId, visit + 1);
      const list = await platform.recommend(u, visit === 0, n);
      const reactions = react(o.world, u.traits, list.movieIds, alpha, visitRng(o.seed, u.worldId, visit));
      if (reactions.length > 0) await platform.feedback(u, list, reactions);
      let out = outcomes.get(u.externalId);
      if (!out)
        outcomes.set(
          u.externalId,
          (out = {
            user: u.externalId,
            arm: list.arm,
            firstDay: day,
            lists: 0,
            impressions: 0,
            conversions: 0,
            skips: 0,
            positionSum: 0,
          }),
        );
      out.lists++;
      out.impressions += list.movieIds.length;
      for (const r of reactions) {
        if (r.conversion) {
          out.conversions++;
          out.positionSum += r.rank;
        }
        if (r.type === 'skip') out.skips++;
      }
    });
    visits += today.length;
    platform.endDay?.(day);
    o.onDay?.(day + 1, o.days, today.length);
  }
  const list = users.map((u) => outcomes.get(u.externalId)).filter((x): x is UserOutcome => x !== undefined);
  return { seed: o.seed, users: users.length, days: o.days, n, alpha, visits, arms: summarize(list), outcomes: list };
}

async function inParallel<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, concurrency), items.length) }, worker));
}
