import type { EvaluationReport, EvaluationRow } from '../evaluation/index.js';
import { LONG_TAIL_RANK } from '../evaluation/index.js';
import { horizontalBars } from './charts.js';
import { renderHtmlReport, type HtmlReport, type ReportSection } from './html.js';

/** The cut-offs of the curves: k = 1 … CURVE_K. */
export const CURVE_K = 20;

const SPLIT_WORDS: Record<EvaluationReport['split'], string> = {
  user: "a random split of each user's ratings",
  item: "a random split of each movie's ratings",
  temporal: "each user's latest ratings held out",
};

export interface EvaluationReportContext {
  /** Where the ratings came from (a folder or "db"). */
  source: string;
  /** Credit the data's licence asks for, shown at the foot. */
  citation?: string;
  /** When the report was made (defaults to now). */
  madeAt?: Date;
}

const count = (n: number) => n.toLocaleString('en-US');
const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
const seconds = (s: number) => (s < 10 ? s.toFixed(2) : s.toFixed(1));

/** The models' rows, best nDCG@k first; the oracle (a limit, not a model) is left out. */
function ranked(report: EvaluationReport): EvaluationRow[] {
  return report.rows
    .filter((r) => r.algorithm !== 'oracle')
    .sort((a, b) => b.ndcg - a.ndcg || a.algorithm.localeCompare(b.algorithm));
}

/** The verdict: which model ranks best at k, by how much, and at what cost. */
export function evaluationVerdict(report: EvaluationReport): string {
  const k = report.k;
  const rows = ranked(report);
  const how = `${SPLIT_WORDS[report.split]} (seed ${report.seed}, ${count(report.counts.evaluatedUsers)} users evaluated)`;
  if (rows.length === 0) return `No model was evaluated on ${how}.`;
  const [best, second] = rows;
  let s = `${best.algorithm} ranks best at k = ${k}: nDCG@${k} ${best.ndcg.toFixed(3)}`;
  if (second) {
    const gain = second.ndcg > 0 ? ` (${((100 * (best.ndcg - second.ndcg)) / second.ndcg).toFixed(0)} % more)` : '';
    s += `, against ${second.ndcg.toFixed(3)} for ${second.algorithm}${gain}`;
  }
  s += `, on ${how}. Its lists cover ${pct(best.coverage)} of the catalogue; it fits in ${seconds(best.fitSeconds)} s.`;
  const oracle = report.rows.find((r) => r.algorithm === 'oracle');
  if (oracle && oracle.ndcg > 0)
    s += ` The oracle of the simulated world reaches ${oracle.ndcg.toFixed(3)}: the model gets ${pct(best.ndcg / oracle.ndcg)} of the way.`;
  return s;
}

const METRICS = [
  ['ndcg', 'nDCG@k'],
  ['precision', 'Precision@k'],
  ['recall', 'Recall@k'],
  ['map', 'MAP@k'],
] as const;

function curveChart(report: EvaluationReport): object | undefined {
  const values = report.rows.flatMap((r) =>
    (r.curve ?? []).flatMap((p) =>
      METRICS.map(([key, label]) => ({ algorithm: r.algorithm, k: p.k, metric: label, value: p[key] })),
    ),
  );
  if (values.length === 0) return undefined;
  const order = [
    ...ranked(report).map((r) => r.algorithm),
    ...(report.rows.some((r) => r.algorithm === 'oracle') ? ['oracle'] : []),
  ];
  const maxK = Math.max(...values.map((v) => v.k));
  return {
    data: { values },
    facet: {
      field: 'metric',
      type: 'nominal',
      sort: METRICS.map(([, label]) => label),
      title: null,
      header: { labelFontSize: 13, labelFontWeight: 'bold' },
    },
    columns: 2,
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: 400,
      height: 220,
      mark: { type: 'line', point: { size: 18 }, strokeWidth: 2 },
      encoding: {
        x: {
          field: 'k',
          type: 'quantitative',
          title: 'k (length of the list)',
          scale: { domain: [1, maxK] },
          axis: { tickMinStep: 1 },
        },
        y: { field: 'value', type: 'quantitative', title: null },
        color: { field: 'algorithm', type: 'nominal', sort: order, title: 'algorithm' },
        strokeDash: { condition: { test: "datum.algorithm === 'oracle'", value: [4, 3] }, value: [1, 0] },
      },
    },
  };
}

/** The page `reco evaluate --html` writes: verdict, metric curves, coverage, time, the table. */
export function evaluationHtmlReport(report: EvaluationReport, context: EvaluationReportContext): HtmlReport {
  const k = report.k;
  const order = ranked(report).map((r) => r.algorithm);
  const models = report.rows.filter((r) => r.algorithm !== 'oracle');
  const c = report.counts;
  const sections: ReportSection[] = [];
  const curve = curveChart(report);
  if (curve) {
    sections.push({
      heading: `Metrics at k = 1 … ${Math.max(...report.rows.map((r) => r.curve?.length ?? 0))}`,
      text:
        'Each user gets one ranked list; the metrics are read off its first k movies for every k, averaged over the evaluated users. ' +
        "A relevant movie is one in the user's held-out ratings (docs/evaluation.md)." +
        (report.rows.some((r) => r.algorithm === 'oracle')
          ? " Dashed: the oracle, ranking by the simulated world's true tastes."
          : ''),
      chart: curve,
    });
  }
  sections.push({
    heading: 'Catalogue coverage',
    text: `Distinct movies recommended in the top ${k} of all evaluated users, as a share of the ${count(c.candidates)} candidate movies. A model that shows everyone the same few movies scores low here whatever its accuracy.`,
    chart: horizontalBars(
      models.map((r) => ({ label: r.algorithm, value: r.coverage })),
      { x: `coverage at k = ${k}`, y: '', order, xFormat: '.1~%' },
    ),
  });
  sections.push({
    heading: 'Fit and recommend time',
    text: `Seconds to fit on the training part, and to rank a list for each of the ${count(c.evaluatedUsers)} evaluated users${
      models.some((r) => (r.curve?.length ?? 0) > k)
        ? ` (lists of ${Math.max(k, ...models.map((r) => r.curve?.length ?? 0))}, for the curves)`
        : ''
    }, on one core.`,
    chart: horizontalBars(
      models.flatMap((r) => [
        { label: r.algorithm, part: 'fit', value: r.fitSeconds },
        { label: r.algorithm, part: 'recommend', value: r.recommendSeconds },
      ]),
      { x: 'seconds', y: '', order, parts: ['fit', 'recommend'], xFormat: '~s' },
    ),
  });
  sections.push({
    heading: `All figures at k = ${k}`,
    table: {
      columns: [
        'algorithm',
        `P@${k}`,
        `R@${k}`,
        `nDCG@${k}`,
        `MAP@${k}`,
        'coverage',
        `beyond ${LONG_TAIL_RANK}`,
        'fit s',
        'recommend s',
      ],
      rows: [
        ...report.rows.filter((r) => r.algorithm === 'oracle'),
        ...order.map((a) => models.find((r) => r.algorithm === a)!),
      ].map((r) => [
        r.algorithm,
        r.precision.toFixed(4),
        r.recall.toFixed(4),
        r.ndcg.toFixed(4),
        r.map.toFixed(4),
        r.coverage.toFixed(3),
        r.longTail.toFixed(3),
        seconds(r.fitSeconds),
        seconds(r.recommendSeconds),
      ]),
    },
  });
  sections.push({
    heading: 'Data and protocol',
    text:
      `${context.source}: ${count(c.ratings)} ratings by ${count(c.users)} users of ${count(c.movies)} movies; ${SPLIT_WORDS[report.split]} (split ${report.split}, seed ${report.seed}), ` +
      `${count(c.trainRatings)} ratings to train on and ${count(c.testRatings)} held out; ${count(c.evaluatedUsers)} users evaluated over ${count(c.candidates)} candidate movies. ` +
      'Offline figures on one split: the split alone moves nDCG@10 by about ±0.007 on ml-latest-small, and a random split can favour models that exploit sessions (docs/evaluation.md).',
  });
  const made = (context.madeAt ?? new Date()).toISOString().slice(0, 16).replace('T', ' ');
  return {
    title: `Offline comparison of ${models.length} model${models.length === 1 ? '' : 's'}`,
    summary: evaluationVerdict(report),
    sections,
    footer: [`Made by reco evaluate on ${made} UTC.`, context.citation].filter(Boolean).join(' '),
  };
}

export function renderEvaluationHtml(report: EvaluationReport, context: EvaluationReportContext): Promise<string> {
  return renderHtmlReport(evaluationHtmlReport(report, context));
}
