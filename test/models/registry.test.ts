import fs from 'node:fs';
import path from 'node:path';
import { describeEachEngine, tempDir } from '../helpers/engines.js';
import {
  activateModel,
  activeModelVersion,
  buildFallbackModel,
  decideActivation,
  listModels,
  loadActiveModel,
  MODEL_CHANNEL,
  registerModel,
} from '../../src/core/training/registry.js';
import { trainModel } from '../../src/core/training/train.js';
import { ARTIFACT_CHUNK_BYTES, modelArtifact } from '../../src/core/db/repositories/models.js';
import { getAlgorithm } from '../../src/core/training/algorithms.js';
import { historyOf, loadByCopy, syntheticRatings } from './fixtures.js';

describe('decideActivation', () => {
  const active = { version: 'v1', metrics: { ndcg_at_10: 0.3 }, holdout: 'trusted' };
  it('activates when nothing is active, when better, or worse within the tolerance; keeps the active one otherwise', () => {
    expect(decideActivation({ ndcg_at_10: 0.1 }, undefined).activate).toBe(true);
    expect(decideActivation({ ndcg_at_10: 0.31 }, active).activate).toBe(true);
    expect(decideActivation({ ndcg_at_10: 0.295 }, active, { tolerance: 0.01 }).activate).toBe(true);
    const kept = decideActivation({ ndcg_at_10: 0.25 }, active, { tolerance: 0.01 });
    expect(kept.activate).toBe(false);
    expect(kept.reason).toMatch(/kept v1: ndcg_at_10 0.2500 is below its 0.3000 by more than 0.01 \(use --force/);
    expect(decideActivation({ ndcg_at_10: 0.25 }, active, { force: true })).toEqual({ activate: true, reason: 'activated: --force' });
  });

  it('does not hold a new model to an active figure measured on a holdout API clients could write to', () => {
    // A poisoned figure (API histories in the holdout) must not keep a model trained on trusted data out.
    const poisoned = { version: 'v-poisoned', metrics: { ndcg_at_10: 0.6066 }, holdout: null };
    const d = decideActivation({ ndcg_at_10: 0.4203 }, poisoned);
    expect(d.activate).toBe(true);
    expect(d.reason).toMatch(/v-poisoned was measured on a holdout that API clients could write to/);
  });
});

describeEachEngine('model registry', (t) => {
  const modelsDir = tempDir('reco-models-');
  const syn = syntheticRatings({ users: 60, movies: 80, perUser: 15 });
  afterAll(() => fs.rmSync(modelsDir, { recursive: true, force: true }));

  it('before any data: no active model, and a fallback that recommends nothing', async () => {
    expect(await activeModelVersion(t.db)).toBeUndefined();
    expect(await loadActiveModel(t.db)).toBeUndefined();
    const fb = await buildFallbackModel(t.db);
    expect(fb).toMatchObject({ version: 'fallback', algorithm: 'popular' });
    expect(fb.model.recommend({ movieIds: [] }, 10)).toEqual([]);
  });

  it('the fallback is popular on the stored ratings', async () => {
    await loadByCopy(t.db, syn);
    const fb = await buildFallbackModel(t.db);
    const counts = new Map<number, number>();
    for (const r of syn.rows) counts.set(r.movieId, (counts.get(r.movieId) ?? 0) + 1);
    const top = [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0];
    expect(fb.model.recommend({ movieIds: [] }, 1)[0]).toEqual({ movieId: top[0], score: top[1] });
    expect(fb.knownMovieIds.size).toBe(counts.size);
  });

  let first = '';
  it('trainModel registers, activates and notifies; the artifact loads back to the same model', async () => {
    const heard: string[] = [];
    const stop = await t.db.listen(MODEL_CHANNEL, (v) => heard.push(v));
    try {
      const r = await trainModel(t.db, { algorithm: 'item-knn', modelsDir });
      first = r.version;
      expect(r.activated).toBe(true);
      expect(r.decision.reason).toBe('activated: no model was active');
      expect(r.metrics.ndcg_at_10).toBeGreaterThan(0);
      expect(Object.keys(r.metrics)).toEqual(expect.arrayContaining(['ndcg_at_10', 'precision_at_10', 'recall_at_10', 'map_at_10', 'coverage']));
      expect(await activeModelVersion(t.db)).toBe(r.version);
      const meta = JSON.parse(fs.readFileSync(path.join(modelsDir, r.version, 'metadata.json'), 'utf8'));
      expect(meta).toMatchObject({ version: r.version, algorithm: 'item-knn', data_counts: { ratings: syn.rows.length } });
      const onDisk = fs.readFileSync(path.join(modelsDir, r.version, 'model.bin'));
      const loaded = await loadActiveModel(t.db);
      expect(loaded).toMatchObject({ version: r.version, algorithm: 'item-knn', activatedAt: expect.any(Date), createdAt: expect.any(Date) });
      expect(loaded!.metrics.ndcg_at_10).toBeCloseTo(r.metrics.ndcg_at_10, 10);
      const fromDisk = getAlgorithm('item-knn').load(onDisk);
      const h = { movieIds: [syn.movies[0].movieId, syn.movies[4].movieId] };
      expect(loaded!.model.recommend(h, 10)).toEqual(fromDisk.recommend(h, 10));
      expect(loaded!.knownMovieIds.has(syn.movies[0].movieId)).toBe(true);
      const deadline = Date.now() + 5000;
      while (!heard.includes(r.version) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
      expect(heard).toContain(r.version);
      const job = await t.db.query(`SELECT status, details FROM job_runs WHERE job = 'train' ORDER BY id DESC LIMIT 1`);
      expect(job.rows[0].status).toBe('succeeded');
      expect(job.rows[0].details.version).toBe(r.version);
    } finally {
      await stop();
    }
  });

  it('a worse model is registered but not activated unless forced; activate switches back and notifies', async () => {
    const model = getAlgorithm('popular').create();
    await model.fit(syn.interactions, syn.catalogue);
    const base = { algorithm: 'popular', params: {}, dataCounts: {}, timings: {}, artifact: model.serialize() };
    const worse = await registerModel(t.db, { ...base, version: 'v-worse', metrics: { ndcg_at_10: 0.0001 } });
    expect(worse.activated).toBe(false);
    expect(worse.decision.reason).toMatch(new RegExp(`^kept ${first}`));
    expect(await activeModelVersion(t.db)).toBe(first);
    const forced = await registerModel(t.db, { ...base, version: 'v-forced', metrics: { ndcg_at_10: 0.0001 } }, { force: true });
    expect(forced).toMatchObject({ activated: true, previousVersion: first });
    expect(await activeModelVersion(t.db)).toBe('v-forced');

    const list = await listModels(t.db);
    expect(list.map((m) => m.version)).toEqual(expect.arrayContaining([first, 'v-worse', 'v-forced']));
    expect(list.filter((m) => m.active).map((m) => m.version)).toEqual(['v-forced']);

    const heard: string[] = [];
    const stop = await t.db.listen(MODEL_CHANNEL, (v) => heard.push(v));
    try {
      expect(await activateModel(t.db, first)).toEqual({ version: first, previousVersion: 'v-forced', changed: true });
      const deadline = Date.now() + 5000;
      while (!heard.includes(first) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
      expect(heard).toEqual([first]);
    } finally {
      await stop();
    }
    expect(await activeModelVersion(t.db)).toBe(first);
    await expect(activateModel(t.db, 'no-such-version')).rejects.toThrow('no model version no-such-version (see reco models list)');
    expect(await activeModelVersion(t.db)).toBe(first);
  });

  it('registrations that finish together are serialised: each decides against the other, one model is active', async () => {
    const model = getAlgorithm('popular').create();
    await model.fit(syn.interactions, syn.catalogue);
    const base = { algorithm: 'popular', params: {}, dataCounts: {}, timings: {}, artifact: model.serialize() };
    const before = await activeModelVersion(t.db);
    const results = await Promise.all(
      ['v-race-a', 'v-race-b', 'v-race-c'].map((version) => registerModel(t.db, { ...base, version, metrics: { ndcg_at_10: 0.9 } })),
    );
    expect(results.every((r) => r.activated)).toBe(true);
    // Whatever the order, the previous versions form a chain from the model active before: none decided on a stale row.
    const previous = results.map((r) => r.previousVersion).sort();
    const chain = [before, ...results.map((r) => r.version)];
    expect(new Set(previous).size).toBe(3);
    for (const p of previous) expect(chain).toContain(p);
    const last = results.find((r) => !previous.includes(r.version))!;
    expect(await activeModelVersion(t.db)).toBe(last.version);
    expect((await listModels(t.db)).filter((m) => m.active)).toHaveLength(1);
    await activateModel(t.db, first);
  });

  it('reads an artifact in slices, whatever their size against its length', async () => {
    const whole = await t.db.query<{ artifact: Uint8Array }>(`SELECT artifact FROM models WHERE version = 'v-worse'`);
    const expected = new Uint8Array(whole.rows[0].artifact);
    expect(expected.length).toBeGreaterThan(100);
    for (const chunk of [1, 7, 64, expected.length - 1, expected.length, expected.length + 5, ARTIFACT_CHUNK_BYTES])
      expect(await modelArtifact(t.db, 'v-worse', chunk)).toEqual(expected);
    expect(await modelArtifact(t.db, 'no-such-version', 7)).toBeUndefined();
  });

  it('a corrupted artifact is refused with a clear error', async () => {
    await t.db.query(`UPDATE models SET artifact_sha256 = 'deadbeef' WHERE version = 'v-worse'`);
    await activateModel(t.db, 'v-worse');
    await expect(loadActiveModel(t.db)).rejects.toThrow(/checksum mismatch/);
    await activateModel(t.db, first);
  });

  it('the trained model serves a user of the fixture without rated movies', async () => {
    const loaded = await loadActiveModel(t.db);
    const h = historyOf(syn.interactions, 2);
    for (const r of loaded!.model.recommend(h, 10)) expect(h.movieIds).not.toContain(r.movieId);
  });

  it('the holdout scores a seeded sample of users when there are more than holdoutUsers, and says so', async () => {
    const all = await trainModel(t.db, { algorithm: 'popular', modelsDir, force: true });
    const some = await trainModel(t.db, { algorithm: 'popular', modelsDir, force: true, holdoutUsers: 25 });
    const users = (v: string) => JSON.parse(fs.readFileSync(path.join(modelsDir, v, 'metadata.json'), 'utf8')).evaluation.users;
    expect(users(all.version)).toEqual({ scored: 60, with_test: 60 });
    expect(users(some.version)).toEqual({ scored: 25, with_test: 60 });
    const [low, high] = some.candidates[0].ndcgCi95!;
    expect(low).toBeLessThan(some.metrics.ndcg_at_10);
    expect(high).toBeGreaterThan(some.metrics.ndcg_at_10);
    expect(all.candidates[0].ndcgCi95).toBeUndefined();
    await activateModel(t.db, first);
  });
});
