import pg from 'pg';
import { assignVariant } from '../../src/core/experiments/assignment.js';
import { startExperiment, stopExperiment } from '../../src/core/experiments/manage.js';
import { PopularRecommender } from '../../src/core/models/popular.js';
import { registerModel } from '../../src/core/training/registry.js';
import type { Database } from '../../src/core/db/types.js';
import type { RecoServer } from '../../src/server/index.js';
import { describeEachEngine } from '../helpers/engines.js';
import { call, MOVIES, registerAndLogin, seedCatalogue, startTestServer } from './fixtures.js';

/**
 * A/B tests through the real server: per-user variants from the registry's models, the `experiment` field,
 * impressions written for every list (fast-path cache hits too), start and stop by NOTIFY without a restart,
 * the same variants after a restart, and answers that go on while impressions cannot be written.
 */

const ids = MOVIES.map((m) => m.id);
/** Three models that differ in their first movie: v-a → 1, v-b → 40, v-active → 21. */
const RANKINGS: Record<string, number[]> = {
  'v-a': ids,
  'v-b': [...ids].reverse(),
  'v-active': [...ids.slice(20), ...ids.slice(0, 20)],
};
const FIRST: Record<string, number> = { 'v-a': 1, 'v-b': 40, 'v-active': 21 };

async function registerRanking(db: Database, version: string): Promise<void> {
  const ranking = RANKINGS[version];
  const model = PopularRecommender.fromCounts(
    Int32Array.from(ranking),
    Float32Array.from(ranking, (_, k) => ranking.length - k),
  );
  await registerModel(
    db,
    {
      version,
      algorithm: 'popular',
      params: {},
      metrics: {},
      dataCounts: {},
      timings: {},
      artifact: model.serialize(),
    },
    { force: true },
  );
}

async function until(what: string, check: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function metricValue(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? NaN : Number(line.slice(series.length + 1));
}

describeEachEngine('experiments in the server', (t) => {
  let server: RecoServer;
  let alpha: string;
  let beta: string;
  let alphaId: number;
  let experimentId: number;
  const alphaUsers = Array.from({ length: 40 }, (_, i) => `a${i}`);
  const betaUsers = ['b0', 'b1', 'b2', 'b3'];
  /** Every answer to an alpha user while the experiment ran: user → bodies. */
  const served = new Map<string, any[]>();
  const variantOf = new Map<string, string>();
  const ab = {
    name: 'ranking-test',
    variants: [
      { name: 'control', weight: 1 },
      { name: 'treatment', weight: 1 },
    ],
  };

  const start = () => startTestServer(t.db, { impressionBuffer: { flushMs: 20, batchRows: 10, capacity: 100 } });
  const ask = (token: string, user: string) =>
    call(server.url!, 'POST', '/recommendations', { token, json: { user_id: user, n: 5 } });

  beforeAll(async () => {
    await seedCatalogue(t.db);
    for (const v of ['v-a', 'v-b', 'v-active']) await registerRanking(t.db, v);
    server = await start();
    alpha = await registerAndLogin(server.url!, 'alpha');
    beta = await registerAndLogin(server.url!, 'beta');
    alphaId = (await t.db.query<{ id: number }>(`SELECT id FROM clients WHERE username = 'alpha'`)).rows[0].id;
    for (const [token, users] of [
      [alpha, alphaUsers],
      [beta, betaUsers],
    ] as const)
      for (const u of users) {
        const r = await call(server.url!, 'POST', '/recommendations', {
          token,
          json: { user_id: u, history: [{ movie_id: 20, rating: 4 }], n: 5 },
        });
        expect(r.status).toBe(200);
        expect(r.body.experiment).toBeUndefined();
      }
  }, 120_000);
  afterAll(() => server?.close());

  it('serves each user of the experiment’s client the model of a sticky variant, and everyone else the active model', async () => {
    experimentId = (
      await startExperiment(t.db, { name: 'ranking-test', client: 'alpha', variants: ['control=v-a', 'treatment=v-b'] })
    ).id;
    await until('the experiment to load', () => server.experiments.running.length === 1);
    expect(server.experiments.versions.sort()).toEqual(['v-a', 'v-b']);
    for (const u of alphaUsers) {
      const bodies = [];
      // The first answer is scored, the next ones come from the answer cache (fast path).
      for (let k = 0; k < 3; k++) {
        const r = await ask(alpha, u);
        expect(r.status).toBe(200);
        bodies.push(r.body);
      }
      const variant = assignVariant(ab, alphaId, u).name;
      const version = variant === 'control' ? 'v-a' : 'v-b';
      for (const b of bodies) {
        expect(b).toEqual(bodies[0]);
        expect(b.experiment).toEqual({ name: 'ranking-test', variant });
        expect(b.model).toEqual({ algorithm: 'popular', version });
        expect(b.recommendations[0].movie_id).toBe(FIRST[version]);
      }
      served.set(u, bodies);
      variantOf.set(u, variant);
    }
    expect(new Set(variantOf.values())).toEqual(new Set(['control', 'treatment']));
    for (const u of betaUsers) {
      const r = await ask(beta, u);
      expect(r.body).not.toHaveProperty('experiment');
      expect(r.body.model.version).toBe('v-active');
      expect(r.body.recommendations[0].movie_id).toBe(21);
    }
  }, 60_000);

  it('writes an impression for every list served inside the experiment, cache hits included, and counts them', async () => {
    await server.impressions!.flush();
    const rows = await t.db.query<{
      recommendation_id: string;
      client_id: number;
      user_id: string;
      experiment_id: number;
      variant: string;
      model_version: string;
      movie_ids: number[];
    }>(
      'SELECT i.recommendation_id, i.client_id, i.user_id, i.experiment_id, i.variant, i.model_version, i.movie_ids, u.external_id FROM impressions i JOIN users u ON u.id = i.user_id ORDER BY i.shown_at',
    );
    // Three requests per alpha user; none for beta (outside the experiment, --impressions experiments).
    expect(rows.rows.length).toBe(alphaUsers.length * 3);
    for (const row of rows.rows as any[]) {
      const body = served.get(row.external_id)![0];
      expect(row).toMatchObject({
        client_id: alphaId,
        experiment_id: experimentId,
        variant: variantOf.get(row.external_id),
        model_version: body.model.version,
        recommendation_id: body.recommendation_id,
      });
      expect(row.movie_ids.map(Number)).toEqual(body.recommendations.map((m: any) => m.movie_id));
    }
    const metrics: string = (await call(server.url!, 'GET', '/metrics')).body;
    const count = (v: string) => [...variantOf.values()].filter((x) => x === v).length * 3;
    for (const v of ['control', 'treatment']) {
      expect(metricValue(metrics, `reco_experiment_lists_served_total{experiment="ranking-test",variant="${v}"}`)).toBe(
        count(v),
      );
      expect(metricValue(metrics, `reco_impressions_recorded_total{experiment="ranking-test",variant="${v}"}`)).toBe(
        count(v),
      );
    }
  });

  it('keeps every user in their variant after a restart', async () => {
    await server.close();
    server = await start();
    for (const u of alphaUsers.slice(0, 10)) {
      const r = await ask(alpha, u);
      expect(r.body.experiment).toEqual({ name: 'ranking-test', variant: variantOf.get(u) });
      expect(r.body.recommendation_id).toBe(served.get(u)![0].recommendation_id);
    }
  }, 60_000);

  it('stops and starts experiments without a restart (NOTIFY), dropping the stopped one’s models', async () => {
    const before = (await ask(alpha, 'a0')).body;
    expect(before.experiment).toBeDefined();
    await stopExperiment(t.db, 'ranking-test');
    await until('the experiment to stop', () => server.experiments.running.length === 0);
    expect(server.experiments.versions).toEqual([]);
    for (const u of alphaUsers.slice(0, 6)) {
      // Twice: neither the scored answer nor the kept one may still name the experiment.
      for (let k = 0; k < 2; k++) {
        const r = await ask(alpha, u);
        expect(r.body).not.toHaveProperty('experiment');
        expect(r.body.model.version).toBe('v-active');
        expect(r.body.recommendations[0].movie_id).toBe(21);
      }
    }
    // An experiment of every client (an A/A test on one version) reaches the other client too.
    await startExperiment(t.db, { name: 'every-client-aa', variants: ['a1=v-b', 'a2=v-b'] });
    await until('the every-client experiment', () => server.experiments.running.length === 1);
    expect(server.experiments.versions).toEqual(['v-b']);
    for (const [token, u] of [
      [beta, 'b0'],
      [alpha, 'a0'],
    ] as const) {
      const r = await ask(token, u);
      expect(r.body.experiment?.name).toBe('every-client-aa');
      expect(r.body.model.version).toBe('v-b');
      expect(r.body.recommendations[0].movie_id).toBe(40);
    }
    await stopExperiment(t.db, 'every-client-aa');
    await until('the A/A experiment to stop', () => server.experiments.running.length === 0);
  }, 60_000);

  it('answers while impressions cannot be written, and counts them as dropped', async () => {
    await startExperiment(t.db, { name: 'outage', client: 'alpha', variants: ['control=v-a', 'treatment=v-b'] });
    await until('the outage experiment', () => server.experiments.running.length === 1);
    const users = alphaUsers.slice(0, 8);
    for (const u of users) expect((await ask(alpha, u)).status).toBe(200);
    await server.impressions!.flush();
    const droppedBefore = server.impressions!.dropped;
    await t.db.query('ALTER TABLE impressions RENAME TO impressions_away');
    try {
      for (const u of users) {
        const r = await ask(alpha, u);
        expect(r.status).toBe(200);
        expect(r.body.experiment.name).toBe('outage');
      }
      await server.impressions!.flush();
    } finally {
      await t.db.query('ALTER TABLE impressions_away RENAME TO impressions');
    }
    expect(server.impressions!.dropped - droppedBefore).toBe(users.length);
    const metrics: string = (await call(server.url!, 'GET', '/metrics')).body;
    const dropped = ['control', 'treatment'].reduce(
      (s, v) =>
        s +
        (metricValue(metrics, `reco_impressions_dropped_total{experiment="outage",variant="${v}",reason="error"}`) ||
          0),
      0,
    );
    expect(dropped).toBe(users.length);
    // The next lists are written again.
    const writtenBefore = server.impressions!.written;
    await ask(alpha, users[0]);
    await server.impressions!.flush();
    expect(server.impressions!.written).toBe(writtenBefore + 1);
  }, 60_000);

  it('answers the same through Express, and records every list with --impressions all, none with off', async () => {
    const express = await startTestServer(t.db, {
      fastPath: false,
      impressions: 'all',
      impressionsRetentionDays: 0,
      impressionBuffer: { flushMs: 20 },
    });
    const off = await startTestServer(t.db, { impressions: 'off' });
    try {
      await until('the Express server to load the experiment', () => express.experiments.running.length === 1);
      const fast = await ask(alpha, 'a1');
      const slow = await call(express.url!, 'POST', '/recommendations', {
        token: alpha,
        json: { user_id: 'a1', n: 5 },
      });
      expect(slow.body).toEqual(fast.body);
      expect(slow.body.experiment.name).toBe('outage');
      const outside = await call(express.url!, 'POST', '/recommendations', {
        token: beta,
        json: { user_id: 'b1', n: 5 },
      });
      expect(outside.body).not.toHaveProperty('experiment');
      await express.impressions!.flush();
      const rows = await t.db.query<{ experiment_id: number | null; variant: string | null; model_version: string }>(
        'SELECT experiment_id, variant, model_version FROM impressions WHERE recommendation_id = $1',
        [outside.body.recommendation_id],
      );
      expect(rows.rows).toEqual([{ experiment_id: null, variant: null, model_version: 'v-active' }]);
      expect(off.impressions).toBeUndefined();
      expect(
        (await call(off.url!, 'POST', '/recommendations', { token: alpha, json: { user_id: 'a1', n: 5 } })).body,
      ).toEqual(fast.body);
    } finally {
      await express.close();
      await off.close();
    }
  }, 60_000);

  if (t.engine === 'postgres')
    it('does not wait for a write that hangs: the buffer fills, the rest is dropped and counted', async () => {
      const admin = new pg.Client({ connectionString: t.test.url });
      await admin.connect();
      try {
        await admin.query('BEGIN');
        await admin.query('LOCK TABLE impressions IN ACCESS EXCLUSIVE MODE');
        const droppedBefore = server.impressions!.dropped;
        const started = Date.now();
        // More lists than the buffer holds (capacity 100).
        for (let k = 0; k < 150; k++) expect((await ask(alpha, alphaUsers[k % alphaUsers.length])).status).toBe(200);
        const perRequest = (Date.now() - started) / 150;
        expect(server.impressions!.pending).toBe(100);
        // One batch (1 to 10 rows) is stuck in the write; the buffer holds 100; the rest was dropped.
        const dropped = server.impressions!.dropped - droppedBefore;
        expect(dropped).toBeGreaterThanOrEqual(150 - 100 - 10);
        expect(dropped).toBeLessThanOrEqual(150 - 100 - 1);
        // Answers do not wait for the lock (a request takes milliseconds; the write waits until COMMIT).
        expect(perRequest).toBeLessThan(200);
        const metrics: string = (await call(server.url!, 'GET', '/metrics')).body;
        expect(metrics).toMatch(
          /reco_impressions_dropped_total\{experiment="outage",variant="(control|treatment)",reason="overflow"\} [1-9]/,
        );
      } finally {
        await admin.query('COMMIT');
        await admin.end();
      }
      await server.impressions!.flush();
      expect(server.impressions!.pending).toBe(0);
    }, 60_000);
});
