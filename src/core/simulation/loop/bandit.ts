import { Rng } from '../../data/random.js';
import { RecoError } from '../../errors.js';
import { loadDatasetDir } from '../../evaluation/dataset.js';
import { ExitCode } from '../../exit-codes.js';
import { getAlgorithm } from '../../training/algorithms.js';
import { readWorldBeside } from '../shaped-data.js';
import { probabilityBest, type VariantCounts } from '../../experiments/allocation.js';
import { runLoop, type LoopOptions } from './engine.js';
import { InProcessPlatform, type Arm } from './in-process.js';
import { compareArms, type ArmComparison } from './http.js';
import { stratifiedWelch, type ArmSummary } from './outcomes.js';

export interface AllocationRun {
  conversions: number;
  /** Conversions of always serving the best arm minus this run's. */
  regret: number;
  arms: ArmSummary[];
  comparisons: ArmComparison[];
  /** The comparisons stratified by the day users were assigned (what the report uses for a bandit). */
  stratified: ArmComparison[];
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
export async function compareAllocations(
  o: Omit<LoopOptions, 'population'>,
  arms: readonly Arm[],
): Promise<BanditComparison> {
  if (arms.length < 2) throw new RangeError('at least two arms');
  const total = (r: { arms: ArmSummary[] }) => r.arms.reduce((a, x) => a + x.conversions, 0);
  const always: Record<string, number> = {};
  for (const arm of arms)
    always[arm.name] = total(await runLoop(o, new InProcessPlatform([{ ...arm, weight: 1 }], o.seed)));
  const best = arms.map((a) => a.name).reduce((a, b) => (always[b] > always[a] ? b : a));
  const equal = arms.map((a) => ({ ...a, weight: 1 }));
  const fixedRun = await runLoop(o, new InProcessPlatform(equal, o.seed));
  const platform = new InProcessPlatform(equal, o.seed, { allocation: 'bandit' });
  const banditRun = await runLoop(o, platform);
  const counts = platform.counts();
  const p = probabilityBest(counts, new Rng(o.seed, 'loop probability best'));
  const probability_best = Object.fromEntries(counts.map((c, i) => [c.name, p[i]]));
  const run = (r: typeof fixedRun): AllocationRun => ({
    conversions: total(r),
    regret: always[best] - total(r),
    arms: r.arms,
    comparisons: compareArms(r.outcomes),
    stratified: compareArms(r.outcomes).map((x) => ({
      arm: x.arm,
      against: x.against,
      ...stratifiedWelch(r.outcomes, x.against, x.arm),
    })),
  });
  const fixed = run(fixedRun);
  const bandit = { ...run(banditRun), counts, probability_best, pick: counts[p.indexOf(Math.max(...p))].name };
  return {
    seed: o.seed,
    users: fixedRun.users,
    days: o.days,
    always,
    best,
    fixed,
    bandit,
    regret_saved: fixed.regret - bandit.regret,
  };
}

export interface WorldComparisonOptions extends Omit<LoopOptions, 'population' | 'world'> {
  /** The folder of reco simulate data: ratings.csv, movies.csv and world.json. */
  dir: string;
  /** Two algorithm names: control, then treatment. */
  algorithms: readonly string[];
}

/** `reco simulate loop --compare-allocation A,B`: trains both algorithms on the world's data, then compareAllocations. */
export async function compareAllocationsOnWorld(o: WorldComparisonOptions): Promise<BanditComparison> {
  if (o.algorithms.length !== 2)
    throw new RecoError(
      `--compare-allocation takes two algorithms, control then treatment (got ${o.algorithms.join(',')})`,
      { exitCode: ExitCode.BAD_INPUT },
    );
  const world = readWorldBeside(o.dir);
  if (!world)
    throw new RecoError(`no world.json in ${o.dir}`, { hint: 'write one with reco simulate data --shape … --out DIR' });
  const data = await loadDatasetDir(o.dir);
  const arms: Arm[] = [];
  for (const [i, name] of o.algorithms.entries()) {
    const model = getAlgorithm(name).create({ seed: o.seed });
    await model.fit(data.interactions, data.catalogue);
    arms.push({ name: i === 0 ? 'control' : 'treatment', model });
  }
  const { dir: _dir, algorithms: _algorithms, ...loop } = o;
  return compareAllocations({ ...loop, world }, arms);
}
