import fs from 'node:fs';
import { createBackup, restoreBackup } from '../../src/core/backup/index.js';
import { storeFeedback, type FeedbackRow } from '../../src/core/db/repositories/feedback.js';
import {
  deleteImpressionsOlderThan,
  insertImpressions,
  runningExperiments,
} from '../../src/core/db/repositories/experiments.js';
import { insertModel } from '../../src/core/db/repositories/models.js';
import type { Database } from '../../src/core/db/types.js';
import { getExperiment, listExperiments, startExperiment, stopExperiment } from '../../src/core/experiments/manage.js';
import { renderExperimentHtml } from '../../src/core/experiments/html.js';
import { experimentReport } from '../../src/core/experiments/report.js';
import { ctrEstimate, comparePerUser, moments, welchTest, type UserSums } from '../../src/core/experiments/stats.js';
import { EXPERIMENTS_CHANNEL, type ImpressionRow } from '../../src/core/experiments/types.js';
import { RecoError } from '../../src/core/errors.js';
import { ExitCode } from '../../src/core/exit-codes.js';
import { activeModelVersion } from '../../src/core/training/registry.js';
import { createTestDatabase, describeEachEngine, tempDir } from '../helpers/engines.js';

/** Experiments in the database: start, list, stop and promote, their refusals, attribution and the report's figures. */

async function failure(p: Promise<unknown>): Promise<RecoError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RecoError);
  return err as RecoError;
}

async function addClient(db: Database, username: string): Promise<number> {
  const r = await db.query<{ id: number }>('INSERT INTO clients (username) VALUES ($1) RETURNING id', [username]);
  return r.rows[0].id;
}

async function addUser(db: Database, clientId: number, externalId: string): Promise<number> {
  const r = await db.query<{ id: number }>('INSERT INTO users (client_id, external_id) VALUES ($1, $2) RETURNING id', [
    clientId,
    externalId,
  ]);
  return Number(r.rows[0].id);
}

async function addModel(db: Database, version: string): Promise<void> {
  await insertModel(db, {
    version,
    algorithm: 'popular',
    params: {},
    metrics: {},
    dataCounts: {},
    timings: {},
    artifact: new Uint8Array([1, 2, 3]),
    artifactSha256: '0'.repeat(64),
  });
}

const T0 = Date.parse('2026-01-10T00:00:00Z');
const H = 3_600_000;
const D = 24 * H;
const at = (ms: number) => new Date(T0 + ms);
const iso = (ms: number) => at(ms).toISOString();

describeEachEngine('experiments', (t) => {
  let acme: number;
  let other: number;

  beforeAll(async () => {
    acme = await addClient(t.db, 'acme');
    other = await addClient(t.db, 'other');
    for (const v of ['v-a', 'v-b', 'v-c']) await addModel(t.db, v);
    await t.db.query(
      `INSERT INTO movies (movie_id, title, genres) SELECT g, 'Movie ' || g, '{Drama}' FROM generate_series(1, 20) AS g`,
    );
  });

  describe('start, list, stop and promote', () => {
    it('starts an experiment, notifies the servers, and shows it running with its variants and weights', async () => {
      const heard: string[] = [];
      const unlisten = await t.db.listen(EXPERIMENTS_CHANNEL, (p) => heard.push(p));
      try {
        const e = await startExperiment(t.db, {
          name: 'lifecycle',
          variants: ['control=v-a', 'treatment=v-b'],
          weights: [1, 3],
          client: 'ACME',
          attributionDays: 3,
        });
        expect(e).toMatchObject({
          name: 'lifecycle',
          status: 'running',
          clientId: acme,
          clientUsername: 'acme',
          attributionWindowSeconds: 3 * 86_400,
          stoppedAt: null,
          lists: 0,
        });
        expect(e.variants).toEqual([
          { name: 'control', modelVersion: 'v-a', weight: 1 },
          { name: 'treatment', modelVersion: 'v-b', weight: 3 },
        ]);
        const running = await runningExperiments(t.db);
        expect(running).toEqual([
          {
            id: e.id,
            name: 'lifecycle',
            clientId: acme,
            variants: e.variants,
            startedAt: e.startedAt,
            attributionWindowSeconds: 3 * 86_400,
          },
        ]);
        for (let i = 0; i < 50 && heard.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
        expect(heard).toEqual(['lifecycle']);
      } finally {
        await unlisten();
      }
      expect((await listExperiments(t.db)).map((x) => x.name)).toContain('lifecycle');
    });

    it('reports an experiment without data yet: zeros, no estimates, and says so', async () => {
      const r = await experimentReport(t.db, 'lifecycle');
      expect(
        r.variants.map((v) => [
          v.name,
          v.users,
          v.lists,
          v.impressions,
          v.conversions,
          v.ctr.value,
          v.vsControl?.ctr.pValue ?? null,
        ]),
      ).toEqual([
        ['control', 0, 0, 0, 0, null, null],
        ['treatment', 0, 0, 0, 0, null, null],
      ]);
      expect(r.daily).toEqual([]);
      expect(r.verdict).toEqual({
        winner: null,
        significant: false,
        sentence: 'Not enough data yet to compare treatment with control.',
      });
      const page = await renderExperimentHtml(r);
      expect(page).toContain('Not enough data yet to compare treatment with control.');
      expect(page.match(/<svg/g)).toHaveLength(1);
    });

    it("stops with --promote: the variant's model becomes the active one, the experiment stops running", async () => {
      await addModel(t.db, 'v-active');
      await t.db.query(`UPDATE models SET active = (version = 'v-active')`);
      const r = await stopExperiment(t.db, 'lifecycle', 'treatment');
      expect(r.stopped).toBe(true);
      expect(r.promoted).toEqual({ variant: 'treatment', version: 'v-b', previousVersion: 'v-active', changed: true });
      expect(r.experiment).toMatchObject({ status: 'stopped', promotedVariant: 'treatment' });
      expect(r.experiment.stoppedAt).toBeInstanceOf(Date);
      expect(await activeModelVersion(t.db)).toBe('v-b');
      expect(await runningExperiments(t.db)).toEqual([]);
      // Stopped once: stopping again says so; promoting afterwards still works.
      const again = await failure(stopExperiment(t.db, 'lifecycle'));
      expect(again.exitCode).toBe(ExitCode.CONFLICT);
      expect(again.message).toMatch(/^experiment "lifecycle" was stopped at /);
      const late = await stopExperiment(t.db, 'lifecycle', 'control');
      expect(late).toMatchObject({
        stopped: false,
        promoted: { variant: 'control', version: 'v-a', previousVersion: 'v-b', changed: true },
      });
      expect(await activeModelVersion(t.db)).toBe('v-a');
    });

    it('refuses a promotion of a variant the experiment does not have, and changes nothing', async () => {
      await startExperiment(t.db, { name: 'no-such-variant', variants: ['a=v-a', 'b=v-b'] });
      const err = await failure(stopExperiment(t.db, 'no-such-variant', 'c'));
      expect(err.message).toBe('experiment "no-such-variant" has no variant "c" (its variants: a, b)');
      expect(err.exitCode).toBe(ExitCode.BAD_INPUT);
      expect((await getExperiment(t.db, 'no-such-variant')).status).toBe('running');
      await stopExperiment(t.db, 'no-such-variant');
    });
  });

  describe('refusals', () => {
    afterEach(async () => {
      for (const e of await runningExperiments(t.db)) await stopExperiment(t.db, e.name);
    });

    it.each([
      [{ variants: ['control=v-a'] }, /^an experiment needs at least two variants \(got 1\)/],
      [{ variants: ['control=v-a', 'treatment=v-b'], weights: [50, 30, 20] }, /^--weights has 3 values for 2 variants/],
      [{ variants: ['control=v-a', 'treatment=v-b'], weights: [50, 0] }, /weights are positive numbers/],
      [{ variants: ['control=v-a', 'control=v-b'] }, /^variant "control" is named twice$/],
      [{ variants: ['control', 'treatment=v-b'] }, /^--variant "control" is not NAME=VERSION/],
      [
        { variants: ['control=v-a', 'treatment=v-nope', 'third=v-gone'] },
        /^no model version v-gone, v-nope \(see reco models list\)$/,
      ],
      [
        { variants: ['control=v-a', 'treatment=v-b'], client: 'nobody' },
        /^no client "nobody" \(see reco clients list\)$/,
      ],
      [{ variants: ['control=v-a', 'treatment=v-b'], attributionDays: 0 }, /^--attribution-days 0/],
      [{ name: 'has space', variants: ['control=v-a', 'treatment=v-b'] }, /^experiment name "has space"/],
    ])('%j: bad input (exit 2), nothing stored', async (input, message) => {
      const before = (await listExperiments(t.db)).length;
      const err = await failure(startExperiment(t.db, { name: 'refused', ...input }));
      expect(err.message).toMatch(message);
      expect(err.exitCode).toBe(ExitCode.BAD_INPUT);
      expect((await listExperiments(t.db)).length).toBe(before);
    });

    it('a name is never reused (conflict, exit 5)', async () => {
      const err = await failure(startExperiment(t.db, { name: 'lifecycle', variants: ['a=v-a', 'b=v-b'] }));
      expect(err.exitCode).toBe(ExitCode.CONFLICT);
      expect(err.message).toMatch(/^an experiment named "lifecycle" exists already/);
    });

    it('one running experiment per client; an every-client one overlaps all (conflict, exit 5)', async () => {
      await startExperiment(t.db, { name: 'acme-only', variants: ['a=v-a', 'b=v-b'], client: 'acme' });
      const same = await failure(
        startExperiment(t.db, { name: 'acme-again', variants: ['a=v-a', 'b=v-c'], client: 'acme' }),
      );
      expect(same.exitCode).toBe(ExitCode.CONFLICT);
      expect(same.message).toMatch(
        /^experiment "acme-only" is running for client acme, which shares users with this one/,
      );
      const everyone = await failure(startExperiment(t.db, { name: 'everyone', variants: ['a=v-a', 'b=v-b'] }));
      expect(everyone.exitCode).toBe(ExitCode.CONFLICT);
      // Another client is free.
      await startExperiment(t.db, { name: 'other-only', variants: ['a=v-a', 'a2=v-a'], client: 'other' });
      await stopExperiment(t.db, 'acme-only');
      await stopExperiment(t.db, 'other-only');
      await startExperiment(t.db, { name: 'everyone', variants: ['a=v-a', 'b=v-b'] });
      const blocked = await failure(
        startExperiment(t.db, { name: 'other-later', variants: ['a=v-a', 'b=v-b'], client: 'other' }),
      );
      expect(blocked.message).toMatch(/^experiment "everyone" is running for every client/);
      expect((await runningExperiments(t.db)).map((e) => e.name)).toEqual(['everyone']);
    });

    it('an unknown experiment is bad input', async () => {
      expect((await failure(stopExperiment(t.db, 'never'))).exitCode).toBe(ExitCode.BAD_INPUT);
      expect((await failure(experimentReport(t.db, 'never'))).message).toBe(
        'no experiment "never" (see reco experiments list)',
      );
    });
  });

  /**
   * A data set whose figures are known. Control A: u1 (lists L1, L2), u2 (L3), u3 (L7). Treatment B: u5 (L4, L5),
   * u6 (L6, and L6 again on day 3). Conversions worked out by hand in the comments.
   */
  describe('attribution and the report on a hand-built data set', () => {
    let expId: number;
    const u: Record<string, number> = {};

    beforeAll(async () => {
      const e = await startExperiment(t.db, {
        name: 'known',
        variants: ['A=v-a', 'B=v-b'],
        client: 'acme',
        attributionDays: 7,
      });
      expId = e.id;
      for (const x of ['1', '2', '3', '4', '5', '6']) u[x] = await addUser(t.db, acme, x);
      u.o1 = await addUser(t.db, other, '1');
      const list = (
        rid: string,
        user: number,
        variant: string | null,
        ms: number,
        movies: number[],
        client = acme,
      ): ImpressionRow => ({
        recommendationId: rid,
        shownAt: at(ms),
        clientId: client,
        userId: user,
        experimentId: variant ? expId : null,
        variant,
        modelVersion: variant === 'B' ? 'v-b' : 'v-a',
        movieIds: movies,
      });
      await insertImpressions(t.db, [
        list('r1', u['1'], 'A', 0, [1, 2, 3, 4, 5]),
        list('r2', u['1'], 'A', D, [3, 6, 7]),
        list('r3', u['2'], 'A', 0, [1, 2, 3]),
        list('r7', u['3'], 'A', 0, [1, 2]),
        list('r4', u['5'], 'B', 0, [10, 11, 12, 13]),
        list('r5', u['5'], 'B', 2 * D, [11, 14]),
        list('r6', u['6'], 'B', D, [10, 15]),
        list('r6', u['6'], 'B', 3 * D, [10, 15]), // the same answer served again: the same recommendation_id
        list('ro', u.o1, null, 0, [1, 2], other),
      ]);
      const ev = (
        externalId: string,
        movieId: number,
        type: FeedbackRow['type'],
        ms: number,
        recommendationId: string | null = null,
        rating: number | null = null,
      ): FeedbackRow => ({
        externalId,
        movieId,
        type,
        rating,
        occurredAt: iso(ms),
        recommendationId,
      });
      await storeFeedback(t.db, acme, [
        ev('1', 3, 'view', 2 * D, 'r1'), // names L1 (which showed 3): L1, position 3, though L2 is later
        ev('1', 6, 'like', D + H), // latest list showing 6: L2, position 2
        ev('1', 3, 'rating', 3 * D, null, 5), // latest list showing 3: L2, position 1
        ev('1', 4, 'rating', 2 * H, null, 3), // a rating under 4: no conversion
        ev('1', 5, 'view', 8 * D), // 8 days after L1: outside the window
        ev('1', 9, 'view', 2 * H), // never shown
        ev('1', 1, 'view', -H), // before any list showed it
        ev('2', 1, 'dislike', H), // L3: a dislike
        ev('2', 2, 'skip', H), // L3: a skip
        ev('2', 2, 'view', 2 * H), // L3, position 2 (a skip does not stop a later view counting)
        ev('4', 1, 'view', H), // u4 was never shown a list
        ev('5', 11, 'view', 2 * D + H, 'r4'), // names L4: L4, position 2, though L5 is later
        ev('5', 11, 'view', 2 * D + 3 * H, 'r4'), // the same list and movie again: counted once
        ev('5', 14, 'view', 2 * D + 2 * H), // L5, position 2
        ev('5', 10, 'view', 3 * D, 'r5'), // names L5, which did not show 10: the latest that did, L4, position 1
        ev('6', 15, 'view', 2 * D, 'r6'), // r6 was served on days 1 and 3: the one shown before the event (day 1), position 2
      ]);
      // Another client's user: its events never count for acme's lists, even naming one of them.
      await storeFeedback(t.db, other, [ev('1', 1, 'view', H, 'r1'), ev('1', 2, 'like', H)]);
    });

    it('counts users, lists, impressions, conversions, dislikes and skips per variant', async () => {
      const r = await experimentReport(t.db, 'known');
      const [a, b] = r.variants;
      expect(r.control).toBe('A');
      expect(a).toMatchObject({
        name: 'A',
        control: true,
        users: 3,
        lists: 4,
        impressions: 13,
        conversions: 4,
        dislikes: 1,
        skips: 1,
        meanConversionPosition: 2,
      });
      expect(b).toMatchObject({
        name: 'B',
        control: false,
        users: 2,
        lists: 4,
        impressions: 10,
        conversions: 4,
        dislikes: 0,
        skips: 0,
      });
      expect(b.meanConversionPosition).toBeCloseTo(7 / 4, 12);
      expect(a.ctr.value).toBeCloseTo(4 / 13, 12);
      expect(b.ctr.value).toBeCloseTo(4 / 10, 12);
      expect(a.conversionsPerUser.value).toBeCloseTo(4 / 3, 12);
      expect(a.shareConverted.value).toBeCloseTo(2 / 3, 12);
      expect(b.shareConverted.value).toBeCloseTo(1, 12);
      expect(r.positions).toEqual([
        { variant: 'A', position: 1, conversions: 1 },
        { variant: 'A', position: 2, conversions: 2 },
        { variant: 'A', position: 3, conversions: 1 },
        { variant: 'B', position: 1, conversions: 1 },
        { variant: 'B', position: 2, conversions: 3 },
      ]);
    });

    it('computes the intervals and tests over users: per-user impressions and conversions as worked out by hand', async () => {
      const r = await experimentReport(t.db, 'known');
      // Per user (impressions, conversions): A: u1 (8, 3), u2 (3, 1), u3 (2, 0); B: u5 (6, 3), u6 (4, 1).
      const sums = (n: number[], c: number[]): UserSums => ({
        users: n.length,
        n: n.reduce((x, y) => x + y, 0),
        c: c.reduce((x, y) => x + y, 0),
        nn: n.reduce((x, y) => x + y * y, 0),
        cc: c.reduce((x, y) => x + y * y, 0),
        nc: n.reduce((x, y, i) => x + y * c[i], 0),
        converted: c.filter((x) => x > 0).length,
      });
      const a = sums([8, 3, 2], [3, 1, 0]);
      const b = sums([6, 4], [3, 1]);
      expect(r.variants[0].ctr.se).toBeCloseTo(ctrEstimate(a).se!, 12);
      expect(r.variants[1].ctr.ciLow).toBeCloseTo(ctrEstimate(b).ciLow!, 12);
      const welch = welchTest(moments([3, 1, 0]), moments([3, 1]));
      expect(r.variants[1].vsControl!.conversionsPerUser.pValue).toBeCloseTo(welch.pValue!, 12);
      expect(comparePerUser(a, b).pValue).toBeCloseTo(welch.pValue!, 12);
      expect(r.variants[1].vsControl!.ctr.difference).toBeCloseTo(4 / 10 - 4 / 13, 12);
      expect(r.verdict).toMatchObject({ significant: false, winner: null });
      expect(r.verdict.sentence).toMatch(
        /^No significant difference between B and A: click-through rate 40.00 % against 30.77 %/,
      );
    });

    it("gives the daily series: each day's own counts, and the cumulative rate with its interval", async () => {
      const r = await experimentReport(t.db, 'known');
      const of = (v: string) =>
        r.daily
          .filter((d) => d.variant === v)
          .map(({ date, impressions, conversions, rate }) => ({ date, impressions, conversions, rate }));
      // A: day 0 lists L1, L3, L7 (10 impressions; conversions credited to L1 and L3: 2); day 1 L2 (3; 2).
      expect(of('A')).toEqual([
        { date: '2026-01-10', impressions: 10, conversions: 2, rate: 2 / 10 },
        { date: '2026-01-11', impressions: 3, conversions: 2, rate: 4 / 13 },
      ]);
      expect(of('B')).toEqual([
        { date: '2026-01-10', impressions: 4, conversions: 2, rate: 2 / 4 },
        { date: '2026-01-11', impressions: 2, conversions: 1, rate: 3 / 6 },
        { date: '2026-01-12', impressions: 2, conversions: 1, rate: 4 / 8 },
        { date: '2026-01-13', impressions: 2, conversions: 0, rate: 4 / 10 },
      ]);
      // The last cumulative point is the whole experiment.
      const lastA = r.daily.filter((d) => d.variant === 'A').at(-1)!;
      expect(lastA.ciLow).toBeCloseTo(r.variants[0].ctr.ciLow!, 12);
      expect(lastA.ciHigh).toBeCloseTo(r.variants[0].ctr.ciHigh!, 12);
    });
  });

  describe('backup and restore', () => {
    it('carries experiments, variants and impressions; TRUNCATE users empties impressions', async () => {
      await insertImpressions(t.db, [
        {
          recommendationId: 'rb',
          shownAt: at(0),
          clientId: acme,
          userId: await addUser(t.db, acme, 'b1'),
          experimentId: null,
          variant: null,
          modelVersion: 'v-a',
          movieIds: [3, 2, 1],
        },
      ]);
      const dir = tempDir('reco-exp-backup-');
      const target = await createTestDatabase(t.engine, { migrate: false });
      try {
        const { file } = await createBackup(t.db, { outDir: dir });
        await restoreBackup(target.db, file);
        for (const table of ['experiments', 'experiment_variants', 'impressions']) {
          const q = `SELECT * FROM ${table} ORDER BY 1, 2`;
          expect((await target.db.query(q)).rows).toEqual((await t.db.query(q)).rows);
        }
        expect((await target.db.query('SELECT count(*)::int AS n FROM impressions')).rows[0].n).toBeGreaterThan(0);
        const restored = await experimentReport(target.db, 'known');
        expect(restored.variants.map((v) => v.conversions)).toEqual([4, 4]);
        await target.db.query('TRUNCATE users CASCADE');
        expect((await target.db.query('SELECT count(*)::int AS n FROM impressions')).rows[0].n).toBe(0);
      } finally {
        await target.drop();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }, 120_000);
  });

  describe('deletion and retention', () => {
    it('deleting a user deletes their impressions; retention deletes old ones', async () => {
      const count = async () =>
        Number((await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM impressions')).rows[0].n);
      const before = await count();
      const extra = await addUser(t.db, acme, 'gone');
      await insertImpressions(t.db, [
        {
          recommendationId: 'rx',
          shownAt: new Date(),
          clientId: acme,
          userId: extra,
          experimentId: null,
          variant: null,
          modelVersion: 'v-a',
          movieIds: [1],
        },
      ]);
      expect(await count()).toBe(before + 1);
      await t.db.query('DELETE FROM users WHERE id = $1', [extra]);
      expect(await count()).toBe(before);
      // Everything of the hand-built set was shown in January 2026: kept for 100 000 days, gone at 1.
      expect(await deleteImpressionsOlderThan(t.db, 100_000)).toBe(0);
      await insertImpressions(t.db, [
        {
          recommendationId: 'ry',
          shownAt: new Date(),
          clientId: acme,
          userId: await addUser(t.db, acme, 'recent'),
          experimentId: null,
          variant: null,
          modelVersion: 'v-a',
          movieIds: [1],
        },
      ]);
      const old = await t.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM impressions WHERE shown_at < now() - interval '1 day'`,
      );
      expect(await deleteImpressionsOlderThan(t.db, 1)).toBe(Number(old.rows[0].n));
      expect(await count()).toBe(1);
      await t.db.query(`DELETE FROM impressions WHERE recommendation_id = 'ry'`);
    });
  });
});
