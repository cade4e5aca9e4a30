import fs from 'node:fs';
import path from 'node:path';
import { loadDatasetDir, type Dataset } from '../../src/core/evaluation/index.js';
import type { Recommender } from '../../src/core/models/types.js';
import { readWorldBeside, writeShapedData } from '../../src/core/simulation/shaped-data.js';
import type { ShapedWorld } from '../../src/core/simulation/shaped-world.js';
import {
  calibrateAlpha,
  conversionsOf,
  examination,
  InProcessPlatform,
  knownPopulation,
  population,
  runLoop,
  welch,
  type LoopUser,
} from '../../src/core/simulation/loop/index.js';
import { getAlgorithm } from '../../src/core/training/algorithms.js';
import { tempDir } from '../helpers/engines.js';

/** The closed loop in process: users of a simulated world react to a model's lists from their true tastes. */
describe('closed-loop simulator, in process', () => {
  const root = tempDir('reco-loop-');
  let world: ShapedWorld;
  const models: Record<string, Recommender> = {};
  let data: Dataset;

  beforeAll(async () => {
    const out = path.join(root, 'world');
    await writeShapedData({ ratings: 30_000, movies: 1_000, users: 600, seed: 11, niche: false, out });
    world = readWorldBeside(out)!;
    data = await loadDatasetDir(out);
    for (const name of ['popular', 'ease']) {
      models[name] = getAlgorithm(name).create({ seed: 1 });
      await models[name].fit(data.interactions, data.catalogue);
    }
  }, 60_000);
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('draws users the training data never saw, with histories from their own niches', () => {
    const users = population(world, { users: 50, days: 5, seed: 3 });
    expect(users[0].worldId).toBe(601);
    expect(users.every((u) => u.history.length >= 5 && u.history.length <= 20 && u.arrival >= 0 && u.arrival < 5)).toBe(
      true,
    );
    const inOwnNiche = users.flatMap((u) => u.history.map((h) => u.traits.niches.includes(world.niche[h.movieId - 1])));
    // Niche share 0.6 plus the popular picks that fall in the user's niches by chance.
    expect(inOwnNiche.filter(Boolean).length / inOwnNiche.length).toBeGreaterThan(0.55);
    expect(population(world, { users: 50, days: 5, seed: 3 })).toEqual(users);
    expect(population(world, { users: 50, days: 5, seed: 4 })[0].history).not.toEqual(users[0].history);
  });

  it("can also bring the world's own users with their ratings, and then serves every one of them", async () => {
    const i = data.interactions;
    const histories = new Map<number, LoopUser['history']>();
    for (let u = 0; u < i.nUsers; u++) {
      const h: LoopUser['history'] = [];
      for (let p = i.indptr[u]; p < i.indptr[u + 1]; p++)
        h.push({ movieId: i.itemIds[i.indices[p]], rating: i.ratings[p] });
      histories.set(i.userIds[u], h);
    }
    const known = knownPopulation(world, histories, { days: 3, seed: 1 });
    expect(known.map((u) => u.worldId)).toEqual(Array.from({ length: 600 }, (_, k) => k + 1));
    expect(known[0].traits).toEqual(world.user(1));
    expect(known[0].history).toBe(histories.get(1));
    const platform = new InProcessPlatform([{ name: 'ease', model: models.ease }], 1);
    let shownRated = 0;
    const recommend = platform.recommend.bind(platform);
    platform.recommend = async (user, first, n) => {
      const list = await recommend(user, first, n);
      const rated = new Set(user.history.map((h) => h.movieId));
      shownRated += list.movieIds.filter((m) => rated.has(m)).length;
      return list;
    };
    const r = await runLoop({ world, users: 0, days: 3, seed: 1, population: known }, platform);
    expect(r.users).toBe(600);
    expect(r.arms[0].users).toBe(600);
    expect(r.arms[0].conversions).toBeGreaterThan(0);
    // What a user arrived with is never shown to them.
    expect(shownRated).toBe(0);
  }, 30_000);

  it('same seed → the same run; another seed → another', async () => {
    const run = (seed: number) =>
      runLoop(
        { world, users: 300, days: 7, seed },
        new InProcessPlatform(
          [
            { name: 'a', model: models.ease },
            { name: 'b', model: models.popular },
          ],
          seed,
        ),
      );
    const a = await run(5);
    const b = await run(5);
    expect(b).toEqual(a);
    expect((await run(6)).outcomes).not.toEqual(a.outcomes);
    expect(a.arms.map((x) => x.arm)).toEqual(['a', 'b']);
    expect(a.arms[0].users + a.arms[1].users).toBe(300);
    // Users come back: more lists than users.
    expect(a.visits).toBeGreaterThan(400);
  }, 30_000);

  it('has a position bias: conversions fall with the rank; the oracle list converts about the target share', async () => {
    expect([1, 2, 3, 10].map((r) => +examination(r).toFixed(3))).toEqual([1, 0.631, 0.5, 0.289]);
    expect(calibrateAlpha(world, 10)).toBe(calibrateAlpha(world, 10));
    const r = await runLoop(
      { world, users: 1000, days: 10, seed: 2 },
      new InProcessPlatform([{ name: 'ease', model: models.ease }], 2),
    );
    const [ease] = r.arms;
    expect(ease.mean_position).toBeLessThan(4.5);
    // The target is the oracle's watched share (5 %): a trained model converts less, but a few in a thousand at least.
    expect(ease.ctr).toBeGreaterThan(0.005);
    expect(ease.ctr).toBeLessThan(0.05);
  }, 30_000);

  it('A/A: the same model in both arms is significant at 0.05 in at most 5 of 100 seeded repetitions', async () => {
    const p: number[] = [];
    for (let seed = 1; seed <= 100; seed++) {
      const r = await runLoop(
        { world, users: 400, days: 7, seed },
        new InProcessPlatform(
          [
            { name: 'a', model: models.popular },
            { name: 'b', model: models.popular },
          ],
          seed,
        ),
      );
      p.push(welch(conversionsOf(r.outcomes, 'a'), conversionsOf(r.outcomes, 'b')).p_value);
    }
    const significant = p.filter((x) => x < 0.05).length;
    process.stderr.write(
      `A/A: ${significant} of 100 significant at 0.05, ${p.filter((x) => x < 0.1).length} at 0.10\n`,
    );
    expect(significant).toBeLessThanOrEqual(5);
    // And not a test that never rejects: the p-values spread over (0, 1).
    expect(p.filter((x) => x < 0.2).length).toBeGreaterThan(8);
    expect(p.filter((x) => x > 0.8).length).toBeGreaterThan(8);
  }, 60_000);

  it('popular against ease: ease converts more per user, p < 0.01', async () => {
    const r = await runLoop(
      { world, users: 2000, days: 14, seed: 7 },
      new InProcessPlatform(
        [
          { name: 'control', model: models.popular },
          { name: 'treatment', model: models.ease },
        ],
        7,
      ),
    );
    const c = welch(conversionsOf(r.outcomes, 'control'), conversionsOf(r.outcomes, 'treatment'));
    process.stderr.write(
      `popular vs ease: ${JSON.stringify(r.arms.map((a) => [a.arm, a.users, +a.conversions_per_user.toFixed(3)]))} p ${c.p_value.toExponential(2)}\n`,
    );
    expect(c.difference).toBeGreaterThan(0);
    expect(c.p_value).toBeLessThan(0.01);
  }, 30_000);
});
