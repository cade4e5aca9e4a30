import { groupedBars, lineWithBand, type BandPoint } from '../reports/charts.js';
import { renderHtmlReport, type ReportSection } from '../reports/html.js';
import type { Comparison, Estimate } from './stats.js';
import type { ExperimentReport } from './report.js';

/** `reco experiments report --html`: the report as one self-contained page (src/core/reports/html.ts). */

const pct = (x: number | null, digits = 2) => (x === null ? '-' : `${(100 * x).toFixed(digits)} %`);
/** A difference of two rates, in percentage points. */
const points = (x: number | null, digits = 2) =>
  x === null ? '-' : `${x >= 0 ? '+' : '−'}${(100 * Math.abs(x)).toFixed(digits)} pts`;
const num = (x: number | null, digits = 3) => (x === null ? '-' : x.toFixed(digits));
const count = (n: number) => n.toLocaleString('en-US');
const withCi = (e: Estimate, f: (x: number | null) => string) =>
  e.value === null ? '-' : `${f(e.value)} [${f(e.ciLow)}, ${f(e.ciHigh)}]`;
const pValue = (p: number | null) => (p === null ? '-' : p < 0.001 ? '< 0.001' : p.toFixed(3));

function rateChart(r: ExperimentReport): object {
  const points: BandPoint[] = r.daily
    .filter((d) => d.rate !== null)
    .map((d) => ({
      x: d.date,
      series: d.variant,
      y: d.rate!,
      ...(d.ciLow !== null && d.ciHigh !== null ? { low: d.ciLow, high: d.ciHigh } : {}),
    }));
  return lineWithBand(points, {
    x: 'day (UTC)',
    y: 'click-through rate (cumulative)',
    series: 'variant',
    yFormat: '.1%',
    order: r.variants.map((v) => v.name),
  });
}

function positionChart(r: ExperimentReport): object {
  const totals = new Map<string, number>();
  for (const p of r.positions) totals.set(p.variant, (totals.get(p.variant) ?? 0) + p.conversions);
  const values = r.positions.map((p) => ({
    category: p.position,
    series: p.variant,
    value: p.conversions / (totals.get(p.variant) || 1),
  }));
  return groupedBars(values, {
    x: 'position in the list (1 = top)',
    y: "share of the variant's conversions",
    series: 'variant',
    yFormat: '.0%',
    order: r.variants.map((v) => v.name),
  });
}

function comparisonRow(
  variant: string,
  metric: string,
  c: Comparison,
  f: (x: number | null) => string,
  alwaysValid?: number | null,
): (string | number)[] {
  return [
    variant,
    metric,
    f(c.difference),
    c.difference === null ? '-' : `[${f(c.ciLow)}, ${f(c.ciHigh)}]`,
    c.test,
    pValue(c.pValue),
    alwaysValid === undefined ? '' : pValue(alwaysValid),
    pct(c.probabilityBetter, 1),
  ];
}

export function experimentSections(r: ExperimentReport): ReportSection[] {
  const sections: ReportSection[] = [];
  sections.push({
    heading: 'Click-through rate over time',
    text: `Conversions per impression of the lists shown up to each day (cumulative), with the ${Math.round(100 * r.confidence)} % interval as a band. Bands that stop overlapping as the days go by are a difference taking shape; read the p-values below, not the picture, to decide.`,
    chart: rateChart(r),
  });
  if (r.positions.length > 0)
    sections.push({
      heading: 'Where in the list conversions happen',
      text: "The share of each variant's conversions at each position of the list. A model that puts the right movie first converts near the top.",
      chart: positionChart(r),
    });
  sections.push({
    heading: 'Per variant',
    text: `A conversion is a view, a like or a rating of 4 or more of a recommended movie within ${r.experiment.attributionWindowDays} days of the list that showed it; dislikes and skips of recommended movies are counted apart.`,
    table: {
      columns: ['variant', 'model version', 'users', 'lists', 'impressions', 'conversions', 'dislikes', 'skips'],
      rows: r.variants.map((v) => [
        `${v.name}${v.control && v.name !== 'control' ? ' (control)' : ''}`,
        v.modelVersion,
        count(v.users),
        count(v.lists),
        count(v.impressions),
        count(v.conversions),
        count(v.dislikes),
        count(v.skips),
      ]),
    },
  });
  sections.push({
    heading: 'Rates',
    text: `${Math.round(100 * r.confidence)} % intervals in brackets. The click-through rate is conversions per impression (a movie shown in a list).`,
    table: {
      columns: [
        'variant',
        'click-through rate',
        'conversions per user',
        'users converted',
        'mean position of conversions',
      ],
      rows: r.variants.map((v) => [
        v.name,
        withCi(v.ctr, (x) => pct(x)),
        withCi(v.conversionsPerUser, (x) => num(x)),
        withCi(v.shareConverted, (x) => pct(x, 1)),
        num(v.meanConversionPosition, 2),
      ]),
    },
  });
  const rows = r.variants
    .filter((v) => v.vsControl)
    .flatMap((v) => [
      comparisonRow(v.name, 'click-through rate', v.vsControl!.ctr, (x) => points(x), v.vsControl!.alwaysValidP),
      comparisonRow(v.name, 'conversions per user', v.vsControl!.conversionsPerUser, (x) => num(x)),
      comparisonRow(v.name, 'users converted', v.vsControl!.shareConverted, (x) => points(x, 1)),
    ]);
  sections.push({
    heading: r.control === 'control' ? 'Against the control' : `Against the control (${r.control})`,
    text: "Differences are variant minus control (rates in percentage points). The p-value is two-sided and holds for one look at the data, decided in advance; the always-valid p-value may be read every day while the test runs. Users are the unit: each test treats a user's lists together.",
    table: {
      columns: ['variant', 'metric', 'difference', 'interval', 'test', 'p-value', 'always-valid p', 'P(better)'],
      rows,
    },
  });
  return sections;
}

export function renderExperimentHtml(r: ExperimentReport, madeAt = new Date()): Promise<string> {
  const e = r.experiment;
  const scope = e.client ? `client ${e.client}` : 'every client';
  const period = `${e.startedAt.slice(0, 16).replace('T', ' ')} UTC to ${e.stoppedAt ? `${e.stoppedAt.slice(0, 16).replace('T', ' ')} UTC` : 'now (running)'}`;
  return renderHtmlReport({
    title: `Experiment ${e.name}`,
    summary: r.verdict.sentence,
    sections: experimentSections(r),
    footer: `Experiment ${e.name} for ${scope}, ${period}${e.status === 'running' ? '' : `, ${e.status}`}${e.promotedVariant ? `, promoted ${e.promotedVariant}` : ''}. Made by reco experiments report at ${madeAt.toISOString()}.`,
  });
}
