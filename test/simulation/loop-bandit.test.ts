import fs from 'node:fs';
import path from 'node:path';
import { Rng } from '../../src/core/data/random.js';
import { betaSample, posterior, probabilityBest, thompsonPick } from '../../src/core/experiments/allocation.js';
import { loadDatasetDir } from '../../src/core/evaluation/index.js';
import type { Recommender } from '../../src/core/models/types.js';
import { readWorldBeside, writeShapedData } from '../../src/core/simulation/shaped-data.js';
import type { ShapedWorld } from '../../src/core/simulation/shaped-world.js';
import { compareAllocations, InProcessPlatform, runLoop } from '../../src/core/simulation/loop/index.js';
import { getAlgorithm } from '../../src/core/training/algorithms.js';
import { tempDir } from '../helpers/engines.js';

describe('Thompson sampling allocator', () => {
  it('draws Beta variates with the right mean and spread from a seeded source', () => {
    const rng = new Rng(1, 'beta');
    for (const [a, b] of [
      [2, 8],
      [0.5, 0.5],
      [30, 970],
    ]) {
      const xs = Array.from({ length: 20_000 }, () => betaSample(a, b, rng));
      const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
      const variance = xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length;
      expect(mean).toBeCloseTo(a / (a + b), 2);
      expect(variance / ((a * b) / ((a + b) ** 2 * (a + b + 1)))).toBeGreaterThan(0.93);
      expect(variance / ((a * b) / ((a + b) ** 2 * (a + b + 1)))).toBeLessThan(1.07);
      expect(xs.every((x) => x > 0 && x < 1)).toBe(true);
    }
    expect(betaSample(3, 4, new Rng(5))).toBe(betaSample(3, 4, new Rng(5)));
  });

  it('picks by posterior draws: even without data, toward the better variant with it', () => {
    expect(posterior({ name: 'a', impressions: 100, conversions: 7 })).toEqual({ alpha: 8, beta: 94 });
    const none = [
      { name: 'a', impressions: 0, conversions: 0 },
      { name: 'b', impressions: 0, conversions: 0 },
    ];
    const rng = new Rng(2);
    const share = Array.from({ length: 4000 }, () => thompsonPick(none, rng)).filter((i) => i === 1).length / 4000;
    expect(share).toBeGreaterThan(0.46);
    expect(share).toBeLessThan(0.54);
    const p = probabilityBest(
      [
        { name: 'a', impressions: 5000, conversions: 100 },
        { name: 'b', impressions: 5000, conversions: 150 },
      ],
      rng,
    );
    expect(p[1]).toBeGreaterThan(0.99);
    const close = probabilityBest(
      [
        { name: 'a', impressions: 1000, conversions: 20 },
        { name: 'b', impressions: 1000, conversions: 21 },
      ],
      rng,
    );
    expect(close[1]).toBeGreaterThan(0.4);
    expect(close[1]).toBeLessThan(0.75);
  });
});

describe('bandit against a fixed split, in the closed loop', () => {
  const root = tempDir('reco-bandit-');
  let world: ShapedWorld;
  const models: Record<string, Recommender> = {};

  beforeAll(async () => {
    const out = path.join(root, 'world');
    await writeShapedData({ ratings: 30_000, movies: 1_000, users: 600, seed: 11, niche: false, out });
    world = readWorldBeside(out)!;
    const data = await loadDatasetDir(out);
    for (const name of ['popular', 'ease']) {
      models[name] = getAlgorithm(name).create({ seed: 1 });
      await models[name].fit(data.interactions, data.catalogue);
    }
  }, 60_000);
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('keeps each user on the arm first drawn, and sends new users toward the better arm as days pass', async () => {
    const platform = new InProcessPlatform(
      [
        { name: 'control', model: models.popular },
        { name: 'treatment', model: models.ease },
      ],
      3,
      { allocation: 'bandit' },
    );
    const seen = new Map<string, string>();
    const recommend = platform.recommend.bind(platform);
    let switched = 0;
    platform.recommend = async (user, first, n) => {
      const list = await recommend(user, first, n);
      if (seen.has(user.externalId) && seen.get(user.externalId) !== list.arm) switched++;
      seen.set(user.externalId, list.arm);
      return list;
    };
    const r = await runLoop({ world, users: 2000, days: 14, seed: 3 }, platform);
    expect(switched).toBe(0);
    const treatment = r.arms.find((a) => a.arm === 'treatment')!;
    expect(treatment.users / r.users).toBeGreaterThan(0.6);
  }, 60_000);

  it('popular against ease: the bandit loses fewer conversions than 50/50 and still picks ease (seeded)', async () => {
    const c = await compareAllocations({ world, users: 2000, days: 14, seed: 7 }, [
      { name: 'control', model: models.popular },
      { name: 'treatment', model: models.ease },
    ]);
    process.stderr.write(
      `bandit: always ${JSON.stringify(c.always)}; regret fixed ${c.fixed.regret}, bandit ${c.bandit.regret}, saved ${c.regret_saved}; bandit users ${JSON.stringify(c.bandit.arms.map((a) => [a.arm, a.users]))}; P(best) ${JSON.stringify(c.bandit.probability_best)}\n`,
    );
    expect(c.best).toBe('treatment');
    expect(c.fixed.regret).toBeGreaterThan(0);
    expect(c.bandit.regret).toBeLessThan(c.fixed.regret);
    expect(c.regret_saved).toBe(c.fixed.regret - c.bandit.regret);
    expect(c.bandit.pick).toBe('treatment');
    expect(c.bandit.probability_best.treatment).toBeGreaterThan(0.95);
    // The true effect on these users: every user served both ways with the same random numbers.
    const effect = (c.always.treatment - c.always.control) / c.users;
    const [naive] = c.bandit.comparisons;
    const [stratified] = c.bandit.stratified;
    process.stderr.write(
      `effect ${effect.toFixed(3)}; bandit naive ${naive.difference.toFixed(3)}, stratified ${stratified.difference.toFixed(3)} [${stratified.ci_low.toFixed(3)}, ${stratified.ci_high.toFixed(3)}]; fixed ${c.fixed.comparisons[0].difference.toFixed(3)}\n`,
    );
    // Pooling the bandit's users biases the difference toward zero (late arrivals, mostly on ease, had less time);
    // within each day of assignment the comparison is fair again.
    expect(naive.difference).toBeLessThan(effect / 2);
    expect(stratified.ci_low).toBeLessThan(effect);
    expect(stratified.ci_high).toBeGreaterThan(effect);
    expect(stratified.p_value).toBeLessThan(0.05);
    const again = await compareAllocations({ world, users: 2000, days: 14, seed: 7 }, [
      { name: 'control', model: models.popular },
      { name: 'treatment', model: models.ease },
    ]);
    expect(again).toEqual(c);
  }, 120_000);
});
