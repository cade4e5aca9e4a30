import { createTestDatabase, type TestDatabase } from '../helpers/engines.js';
import type { RunningExperiment } from '../../src/core/experiments/types.js';
import { ExperimentHolder, type ExperimentSource, typedArrayBytes } from '../../src/server/experiment-holder.js';
import type { LoadedModel } from '../../src/server/model-holder.js';
import { rankingModel } from './fixtures.js';

/** The holder around its source: shared versions, failed loads retried, nothing half-loaded served. */
describe('ExperimentHolder', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase('pglite');
  }, 60_000);
  afterAll(() => t?.drop());

  const experiment = (id: number, name: string, clientId: number | null, versions: string[]): RunningExperiment => ({
    id,
    name,
    clientId,
    variants: versions.map((v, i) => ({ name: `v${i}`, modelVersion: v, weight: 1 })),
    startedAt: new Date(),
    attributionWindowSeconds: 604800,
  });

  class TestSource implements ExperimentSource {
    readonly channel = `reco_test_exp_${Math.random().toString(36).slice(2, 10)}`;
    running_: RunningExperiment[] = [];
    loads: string[] = [];
    broken = new Set<string>();
    running = async () => this.running_;
    load = async (_db: unknown, version: string): Promise<LoadedModel> => {
      this.loads.push(version);
      if (this.broken.has(version)) throw new Error(`no artifact for ${version}`);
      return rankingModel(version);
    };
  }

  it('loads each version once, reuses the active model, and releases the versions of stopped experiments', async () => {
    const source = new TestSource();
    const active = rankingModel('v-active');
    const holder = new ExperimentHolder(t.db, source, { pollMs: 0, active: () => active });
    source.running_ = [experiment(1, 'a', 1, ['v-active', 'v-x']), experiment(2, 'b', 2, ['v-x', 'v-x'])];
    await holder.start();
    try {
      expect(source.loads).toEqual(['v-x']);
      // The variant naming the active version serves the active model's very object.
      const chosen = Array.from({ length: 20 }, (_, u) => holder.choose(1, `u${u}`)!);
      expect(new Set(chosen.map((v) => v.model.version))).toEqual(new Set(['v-active', 'v-x']));
      for (const v of chosen) if (v.model.version === 'v-active') expect(v.model).toBe(active);
      expect(holder.choose(3, 'u1')).toBeUndefined();
      // Nothing changed: no reload.
      await holder.refresh();
      expect(source.loads).toEqual(['v-x']);
      source.running_ = [experiment(2, 'b', 2, ['v-x', 'v-y'])];
      await holder.refresh();
      expect(source.loads).toEqual(['v-x', 'v-y']);
      expect(holder.versions.sort()).toEqual(['v-x', 'v-y']);
      expect(holder.choose(1, 'u1')).toBeUndefined();
      source.running_ = [];
      await holder.refresh();
      expect(holder.versions).toEqual([]);
      expect(holder.any).toBe(false);
    } finally {
      await holder.stop();
    }
  });

  it('serves the active model to an experiment whose version fails to load, and retries at the next refresh', async () => {
    const source = new TestSource();
    const holder = new ExperimentHolder(t.db, source, { pollMs: 0 });
    source.broken.add('v-broken');
    source.running_ = [experiment(1, 'broken', 1, ['v-ok', 'v-broken']), experiment(2, 'fine', 2, ['v-ok', 'v-ok2'])];
    await holder.start();
    try {
      expect(holder.running.map((e) => e.name)).toEqual(['fine']);
      expect(holder.choose(1, 'u1')).toBeUndefined();
      source.broken.clear();
      await holder.refresh();
      expect(holder.running.map((e) => e.name)).toEqual(['broken', 'fine']);
      expect(holder.choose(1, 'u1')?.label.name).toBe('broken');
    } finally {
      await holder.stop();
    }
  });

  it('gives an every-client experiment to clients without one of their own', async () => {
    const source = new TestSource();
    const holder = new ExperimentHolder(t.db, source, { pollMs: 0 });
    source.running_ = [experiment(1, 'all', null, ['v-a', 'v-b']), experiment(2, 'own', 5, ['v-c', 'v-d'])];
    await holder.start();
    try {
      expect(holder.choose(5, 'u')?.label.name).toBe('own');
      expect(holder.choose(6, 'u')?.label.name).toBe('all');
      // The same user id of two clients is two users.
      const of7 = Array.from({ length: 40 }, (_, i) => holder.choose(7, `u${i}`)!.label.variant);
      const of8 = Array.from({ length: 40 }, (_, i) => holder.choose(8, `u${i}`)!.label.variant);
      expect(of7).not.toEqual(of8);
    } finally {
      await holder.stop();
    }
  });

  it('counts the bytes of the typed arrays a model reaches, each buffer once', () => {
    const shared = new Float32Array(100);
    const model = {
      a: shared,
      b: new Float32Array(shared.buffer, 0, 10),
      c: new Map([[1, { d: new Int32Array(50) }]]),
      e: [new Uint8Array(7)],
    };
    expect(typedArrayBytes(model)).toBe(400 + 200 + 7);
  });
});
