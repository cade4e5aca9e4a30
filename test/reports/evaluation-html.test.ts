import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { hasChromium, NO_CHROMIUM, openInChromium } from '../helpers/chromium.js';
import { syntheticRatings } from '../models/fixtures.js';
import type { EvaluationReport, EvaluationRow } from '../../src/core/evaluation/index.js';
import { evaluationHtmlReport, evaluationVerdict } from '../../src/core/reports/evaluation-report.js';
import { renderChartSvg } from '../../src/core/reports/html.js';

/**
 * `reco evaluate --html`: the page is written, carries the curves at k = 1…20, and a real browser draws every
 * chart with marks of non-zero size.
 */
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reco-evaluate-html-'));
const report = path.join(dir, 'out', 'evaluation.html');
const ALGORITHMS = ['popular', 'item-knn'];
let run: { code: number | null; stdout: string; stderr: string };

beforeAll(async () => {
  const syn = syntheticRatings({ users: 60, movies: 80, perUser: 14 });
  const data = path.join(dir, 'data');
  fs.mkdirSync(data);
  fs.mkdirSync(path.dirname(report));
  fs.writeFileSync(
    path.join(data, 'movies.csv'),
    'movieId,title,genres\n' + syn.movies.map((m) => `${m.movieId},${m.title},${m.genres.join('|')}\n`).join(''),
  );
  fs.writeFileSync(
    path.join(data, 'ratings.csv'),
    'userId,movieId,rating,timestamp\n' +
      syn.rows.map((r) => `${r.userId},${r.movieId},${r.rating},${r.ts}\n`).join(''),
  );
  fs.writeFileSync(
    path.join(data, 'README.txt'),
    'A MovieLens-format sample for the tests, in the layout GroupLens ships.\n',
  );
  run = await runCli(
    ['evaluate', '--from', data, '--algorithms', ALGORITHMS.join(','), '--k', '5', '--html', report, '--json'],
    { env: { RECO_DATA_DIR: dir } },
  );
}, 120_000);

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('reco evaluate --html', () => {
  it('writes the page and still prints the table; the rows carry the curve at k = 1…20', () => {
    expect(run.code).toBe(0);
    const json = JSON.parse(run.stdout);
    expect(json.html).toBe(report);
    for (const row of json.rows) {
      expect(row.curve.map((p: { k: number }) => p.k)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      expect(row.curve[4].ndcg).toBeCloseTo(row.ndcg, 12);
    }
    const html = fs.readFileSync(report, 'utf8');
    expect(html).toMatch(
      /<p class="verdict">(item-knn|popular) ranks best at k = 5: nDCG@5 0\.\d{3}, against 0\.\d{3} for (item-knn|popular)/,
    );
    expect(html).toContain('F. Maxwell Harper and Joseph A. Konstan');
    expect(html).not.toMatch(/<script/i);
  });

  it('refuses a report path in a missing folder before evaluating anything', async () => {
    const r = await runCli([
      'evaluate',
      '--from',
      path.join(dir, 'data'),
      '--algorithms',
      'popular',
      '--html',
      path.join(dir, 'nope', 'r.html'),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n').pop()).toMatch(
      /^Error: cannot write .*r\.html: the folder .*nope does not exist$/,
    );
    expect(r.stderr).not.toMatch(/fitting/);
  }, 60_000);
});

if (!hasChromium()) console.warn(NO_CHROMIUM);

(hasChromium() ? describe : describe.skip)('the page in headless Chromium', () => {
  it('draws every chart: the curves, coverage and time bars, with marks of non-zero size', () => {
    expect(run.code).toBe(0);
    const page = openInChromium(report);
    expect(page.title).toBe('Offline comparison of 2 models');
    expect(page.verdict).toMatch(/ranks best at k = 5/);
    expect(page.headings).toEqual([
      'Metrics at k = 1 … 20',
      'Catalogue coverage',
      'Fit and recommend time',
      'All figures at k = 5',
      'Data and protocol',
    ]);
    const [curves, coverage, time] = page.charts;
    expect(page.charts).toHaveLength(3);
    for (const c of page.charts) {
      expect(c.width).toBeGreaterThan(200);
      expect(c.height).toBeGreaterThan(50);
    }
    // 4 metrics × 2 algorithms lines, each with a point at every k.
    expect(curves.marks.line).toEqual({ count: 8, visible: 8 });
    expect(curves.marks.symbol).toEqual({ count: 8 * 20, visible: 8 * 20 });
    expect(curves.texts).toEqual(expect.arrayContaining(['nDCG@k', 'Precision@k', 'Recall@k', 'MAP@k', ...ALGORITHMS]));
    expect(coverage.marks.rect).toEqual({ count: 2, visible: 2 });
    expect(time.marks.rect.count).toBe(4);
    expect(time.marks.rect.visible).toBeGreaterThanOrEqual(2);
  }, 120_000);
});

describe('the evaluation page, built from a report', () => {
  const row = (algorithm: string, ndcg: number): EvaluationRow => ({
    algorithm,
    params: {},
    precision: ndcg / 2,
    recall: ndcg / 3,
    ndcg,
    map: ndcg / 4,
    coverage: 0.05,
    longTail: 0,
    users: 10,
    fitSeconds: 1.5,
    recommendSeconds: 0.2,
    curve: Array.from({ length: 20 }, (_, i) => ({
      k: i + 1,
      precision: ndcg / 2,
      recall: (ndcg * (i + 1)) / 20,
      ndcg,
      map: ndcg / 4,
    })),
  });
  const report = (rows: EvaluationRow[]): EvaluationReport => ({
    split: 'temporal',
    k: 10,
    seed: 7,
    rows,
    counts: {
      users: 10,
      movies: 20,
      ratings: 200,
      trainRatings: 150,
      testRatings: 50,
      evaluatedUsers: 10,
      usersWithTest: 10,
      candidates: 20,
    },
  });

  it('says which model wins, by how much, and how far from the oracle', () => {
    expect(evaluationVerdict(report([row('popular', 0.2), row('ease', 0.3), row('oracle', 0.6)]))).toBe(
      "ease ranks best at k = 10: nDCG@10 0.300, against 0.200 for popular (50 % more), on each user's latest ratings held out (seed 7, 10 users evaluated). " +
        'Its lists cover 5.0 % of the catalogue; it fits in 1.50 s. The oracle of the simulated world reaches 0.600: the model gets 50.0 % of the way.',
    );
    expect(evaluationVerdict(report([row('popular', 0.2)]))).toMatch(
      /^popular ranks best at k = 10: nDCG@10 0\.200, on each/,
    );
    expect(evaluationVerdict(report([]))).toMatch(/^No model was evaluated/);
  });

  it('charts that vega-lite draws without correcting anything; the oracle is a curve but not a bar', async () => {
    const page = evaluationHtmlReport(report([row('popular', 0.2), row('ease', 0.3), row('oracle', 0.6)]), {
      source: 'x',
    });
    const charts = page.sections.filter((s) => s.chart);
    expect(charts.map((s) => s.heading)).toEqual([
      'Metrics at k = 1 … 20',
      'Catalogue coverage',
      'Fit and recommend time',
    ]);
    for (const s of charts) {
      const warnings: string[] = [];
      const svg = await renderChartSvg(s.chart!, { warnings });
      expect(warnings).toEqual([]);
      expect(svg.includes('>oracle</text>')).toBe(s.heading.startsWith('Metrics'));
    }
    expect(page.sections.find((s) => s.table)!.table!.rows.map((r) => r[0])).toEqual(['oracle', 'ease', 'popular']);
  });
});
