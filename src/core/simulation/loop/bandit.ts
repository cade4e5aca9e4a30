import { Rng } from '../../data/random.js';
import { probabilityBest, type VariantCounts } from '../../experiments/allocation.js';
import { runLoop, type LoopOptions } from './engine.js';
import { InProcessPlatform, type Arm } from './in-process.js';
import { compareArms, type ArmComparison } from './http.js';
import type { ArmSummary } from './outcomes.js';

export interface AllocationRun {
  conversions: number;
  /** Conversions of always serving the best arm minus this run's. */
  regret: number;
  arms: ArmSummary[];
  comparisons: ArmComparison[];
}

export interface BanditComparison {
  seed: number;
  users: number;
  days: number;
  /** Conversions with every user on each arm: the best of them is the benchmark of the regret. */
  always: Record<string, number>;
  best: string;
  fixed: AllocationRun;
  bandit: AllocationRun & {
    /** The allocator's posterior counts at the end, and each arm's posterior probability of being best. */
    counts: VariantCounts[];
    probability_best: Record<string, number>;
    /** The arm with the highest posterior probability of being best. */
    pick: string;
  };
  /** fixed.regret − bandit.regret: conversions the bandit kept that the equal split lost. */
  regret_saved: number;
}

/**
 * The same seeded users (the reactions of a visit come from the same random numbers whatever the list) served four
 * ways: all on each arm, an equal fixed split, and Thompson sampling. Regret = conversions of always serving the
 * arm that converted most minus conversions achieved.
 */
export async function compareAllocations(o: Omit<LoopOptions, 'population'>, arms: readonly Arm[]): Promise<BanditComparison> {
  if (arms.length < 2) throw new RangeError('at least two arms');
  const total = (r: { arms: ArmSummary[] }) => r.arms.reduce((a, x) => a + x.conversions, 0);
  const always: Record<string, number> = {};
  for (const arm of arms) always[arm.name] = total(await runLoop(o, new InProcessPlatform([{ ...arm, weight: 1 }], o.seed)));
  const best = arms.map((a) => a.name).reduce((a, b) => (always[b] > always[a] ? b : a));
  const equal = arms.map((a) => ({ ...a, weight: 1 }));
  const fixedRun = await runLoop(o, new InProcessPlatform(equal, o.seed));
  const platform = new InProcessPlatform(equal, o.seed, { allocation: 'bandit' });
  const banditRun = await runLoop(o, platform);
  const counts = platform.counts();
  const p = probabilityBest(counts, new Rng(o.seed, 'loop probability best'));
  const probability_best = Object.fromEntries(counts.map((c, i) => [c.name, p[i]]));
  const run = (r: typeof fixedRun): AllocationRun => ({ conversions: total(r), regret: always[best] - total(r), arms: r.arms, comparisons: compareArms(r.outcomes) });
  const fixed = run(fixedRun);
  const bandit = { ...run(banditRun), counts, probability_best, pick: counts[p.indexOf(Math.max(...p))].name };
  return { seed: o.seed, users: fixedRun.users, days: o.days, always, best, fixed, bandit, regret_saved: fixed.regret - bandit.regret };
}
