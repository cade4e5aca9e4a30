import fs from 'node:fs';
import path from 'node:path';
import { storeFeedback, type FeedbackRow } from '../../src/core/db/repositories/feedback.js';
import { insertImpressions, runningExperiments } from '../../src/core/db/repositories/experiments.js';
import { insertModel } from '../../src/core/db/repositories/models.js';
import { Rng } from '../../src/core/data/random.js';
import type { ImpressionRow } from '../../src/core/experiments/types.js';
import { ExitCode } from '../../src/core/exit-codes.js';
import { activeModelVersion } from '../../src/core/training/registry.js';
import { hasChromium, NO_CHROMIUM, openInChromium } from '../helpers/chromium.js';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, tempDir, type TestDatabase } from '../helpers/engines.js';

/** `reco experiments …` as an analyst runs it: child processes on a PostgreSQL database. */
describe('reco experiments', () => {
  let t: TestDatabase;
  let env: Record<string, string>;
  const dir = tempDir('reco-exp-cli-');

  beforeAll(async () => {
    t = await createTestDatabase('postgres');
    env = { DATABASE_URL: t.url! };
    await t.db.query(`INSERT INTO clients (username) VALUES ('acme'), ('other')`);
    await t.db.query(
      `INSERT INTO movies (movie_id, title, genres) SELECT g, 'Movie ' || g, '{Drama}' FROM generate_series(1, 40) AS g`,
    );
    for (const version of ['v-popular', 'v-ease']) {
      await insertModel(t.db, {
        version,
        algorithm: 'popular',
        params: {},
        metrics: {},
        dataCounts: {},
        timings: {},
        artifact: new Uint8Array([1]),
        artifactSha256: '0'.repeat(64),
      });
    }
    await t.db.query(`UPDATE models SET active = true, activated_at = now() WHERE version = 'v-popular'`);
  }, 60_000);
  afterAll(async () => {
    await t.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('lists the experiments topic in --help', async () => {
    const r = await runCli(['--help']);
    expect(r.stdout).toMatch(/experiments\s+A\/B tests between registered models/);
  });

  it('starts an experiment (--json snake_case) and lists it', async () => {
    const r = await runCli(
      [
        'experiments',
        'start',
        'ease-vs-popular',
        '--variant',
        'control=v-popular',
        '--variant',
        'treatment=v-ease',
        '--weights',
        '50,50',
        '--client',
        'acme',
        '--json',
      ],
      { env },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      name: 'ease-vs-popular',
      status: 'running',
      client: 'acme',
      attribution_window_days: 7,
      stopped_at: null,
      variants: [
        { name: 'control', model_version: 'v-popular', weight: 50, control: true },
        { name: 'treatment', model_version: 'v-ease', weight: 50, control: false },
      ],
    });
    const list = await runCli(['experiments', 'list'], { env });
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/ease-vs-popular\s+running\s+acme\s+control=v-popular 50%, treatment=v-ease 50%/);
  });

  it('refuses an overlapping experiment (exit 5), an unknown version and too few variants (exit 2), in one line', async () => {
    const overlap = await runCli(
      ['experiments', 'start', 'everyone', '--variant', 'a=v-popular', '--variant', 'b=v-ease'],
      { env },
    );
    expect(overlap.code).toBe(ExitCode.CONFLICT);
    expect(overlap.stderr.trim()).toBe(
      'Error: experiment "ease-vs-popular" is running for client acme, which shares users with this one: at most one experiment runs per client (stop it first with reco experiments stop ease-vs-popular)',
    );
    const unknown = await runCli(
      ['experiments', 'start', 'x', '--variant', 'a=v-popular', '--variant', 'b=v-nope', '--client', 'other', '--json'],
      { env },
    );
    expect(unknown.code).toBe(ExitCode.BAD_INPUT);
    expect(JSON.parse(unknown.stdout).error).toMatchObject({
      message: 'no model version v-nope (see reco models list)',
      exit_code: 2,
    });
    const one = await runCli(['experiments', 'start', 'x', '--variant', 'a=v-popular', '--client', 'other'], { env });
    expect(one.code).toBe(ExitCode.BAD_INPUT);
    expect(one.stderr).toMatch(/^Error: an experiment needs at least two variants \(got 1\)/);
  });

  it('reports a clear winner (--json) and writes the HTML page with its charts', async () => {
    // 150 users a variant, 3 lists of 10 over 3 days; the treatment's users convert three times as often.
    const [exp] = await runningExperiments(t.db);
    const rng = new Rng(7, 'cli report');
    const impressions: ImpressionRow[] = [];
    const feedback: FeedbackRow[] = [];
    const start = Date.now() - 4 * 86_400_000;
    for (let i = 0; i < 300; i++) {
      const variant = i % 2 === 0 ? 'control' : 'treatment';
      const user = await t.db.query<{ id: number }>(
        `INSERT INTO users (client_id, external_id) VALUES (1, $1) RETURNING id`,
        [`u${i}`],
      );
      for (let day = 0; day < 3; day++) {
        const shown = start + day * 86_400_000 + i * 1000;
        const movies = rng.shuffle(Array.from({ length: 40 }, (_, k) => k + 1)).slice(0, 10);
        const rid = `r${i}-${day}`;
        impressions.push({
          recommendationId: rid,
          shownAt: new Date(shown),
          clientId: 1,
          userId: Number(user.rows[0].id),
          experimentId: exp.id,
          variant,
          modelVersion: variant === 'control' ? 'v-popular' : 'v-ease',
          movieIds: movies,
        });
        movies.forEach((m, pos) => {
          const p = (variant === 'control' ? 0.02 : 0.06) * (pos < 3 ? 2 : 0.6);
          if (rng.next() < p)
            feedback.push({
              externalId: `u${i}`,
              movieId: m,
              type: 'view',
              rating: null,
              occurredAt: new Date(shown + 60_000).toISOString(),
              recommendationId: rid,
            });
        });
      }
    }
    await insertImpressions(t.db, impressions);
    await storeFeedback(t.db, 1, feedback);

    const html = path.join(dir, 'report.html');
    const r = await runCli(['experiments', 'report', 'ease-vs-popular', '--json', '--html', html], { env });
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.primary_metric).toBe('ctr');
    expect(report.variants.map((v: any) => [v.name, v.users, v.lists, v.impressions])).toEqual([
      ['control', 150, 450, 4500],
      ['treatment', 150, 450, 4500],
    ]);
    const treatment = report.variants[1];
    expect(treatment.conversions).toBeGreaterThan(2 * report.variants[0].conversions);
    expect(treatment.vs_control.ctr.p_value).toBeLessThan(0.001);
    expect(treatment.vs_control.ctr.test).toBe('delta-method z');
    expect(treatment.vs_control.always_valid_p).toBeLessThan(0.05);
    expect(report.verdict).toMatchObject({ winner: 'treatment', significant: true });
    expect(report.verdict.sentence).toMatch(/^treatment is better than control: click-through rate /);
    expect(report.daily.filter((d: any) => d.variant === 'treatment')).toHaveLength(3);
    expect(Object.keys(report.daily[0]).sort()).toEqual([
      'ci_high',
      'ci_low',
      'conversions',
      'date',
      'impressions',
      'rate',
      'variant',
    ]);
    expect(report.html).toBe(html);

    const page = fs.readFileSync(html, 'utf8');
    expect(page.match(/<svg/g)).toHaveLength(2);
    expect(page).toContain('treatment is better than control');
    expect(page).toContain('Click-through rate over time');
    expect(page).toContain('Where in the list conversions happen');
    // A control named "control" is not named twice; a running test says so once.
    expect(page).toContain('>Against the control<');
    expect(page).toMatch(/to now \(running\)\. Made by reco experiments report/);
    expect(page).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);

    if (hasChromium()) {
      // What a browser draws: a line, a band and a point a day for each variant; a bar per position and variant.
      const drawn = openInChromium(html);
      expect(drawn.verdict).toBe(report.verdict.sentence);
      const [rate, positions] = drawn.charts;
      expect(rate.marks).toEqual({
        area: { count: 2, visible: 2 },
        line: { count: 2, visible: 2 },
        symbol: { count: 6, visible: 6 },
      });
      const bars = report.positions.length;
      expect(bars).toBeGreaterThan(10);
      expect(positions.marks).toEqual({ rect: { count: bars, visible: bars } });
    } else console.warn(NO_CHROMIUM);

    const text = await runCli(['experiments', 'report', 'ease-vs-popular'], { env });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/\ncontrol\s+150\s+450\s+4500/);
    expect(text.stdout).toMatch(/treatment is better than control/);
  }, 180_000);

  it("stops with --promote: the treatment's model is active afterwards", async () => {
    const r = await runCli(['experiments', 'stop', 'ease-vs-popular', '--promote', 'treatment'], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      'Stopped experiment ease-vs-popular.\nActivated v-ease (variant treatment), was v-popular.\n',
    );
    expect(await activeModelVersion(t.db)).toBe('v-ease');
    const list = JSON.parse((await runCli(['experiments', 'list', '--json'], { env })).stdout);
    expect(list.experiments.find((e: { name: string }) => e.name === 'ease-vs-popular')).toMatchObject({
      name: 'ease-vs-popular',
      status: 'stopped',
      promoted_variant: 'treatment',
      lists: 900,
    });
  });
});
