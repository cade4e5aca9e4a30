import { experimentOutcomes, type VariantDayRow, type VariantOutcomeRow } from '../db/repositories/experiments.js';
import type { Database } from '../db/types.js';
import { getExperiment, type ExperimentRecord } from './manage.js';
import {
  alwaysValidPValue,
  comparePerUser,
  compareShares,
  compareCtr,
  ctrEstimate,
  perUserEstimate,
  ratioVariance,
  shareEstimate,
  CONFIDENCE,
  type Comparison,
  type Estimate,
  type UserSums,
} from './stats.js';

/**
 * `reco experiments report`: per variant the users, lists, impressions, conversions and their rates with 95 %
 * intervals, each treatment against the control (the first variant), a verdict, and the series the HTML report
 * draws. The primary metric is the click-through rate (conversions / impressions).
 */

export const SIGNIFICANCE = 1 - CONFIDENCE;
/** The effect size the always-valid p-value is tuned to: this share of the control's click-through rate. */
export const SEQUENTIAL_TAU_RELATIVE = 0.25;

export interface VariantComparison {
  ctr: Comparison;
  conversionsPerUser: Comparison;
  shareConverted: Comparison;
  /** Of the click-through rate difference, valid however often the report was read while the test ran. */
  alwaysValidP: number | null;
}

export interface VariantReport {
  name: string;
  modelVersion: string;
  weight: number;
  control: boolean;
  users: number;
  lists: number;
  impressions: number;
  conversions: number;
  dislikes: number;
  skips: number;
  ctr: Estimate;
  conversionsPerUser: Estimate;
  shareConverted: Estimate;
  /** 1 = top of the list; null without conversions. */
  meanConversionPosition: number | null;
  /** Against the control; null for the control itself. */
  vsControl: VariantComparison | null;
}

export interface DailyPoint {
  variant: string;
  date: string;
  /** That day's lists' impressions and conversions. */
  impressions: number;
  conversions: number;
  /** Cumulative click-through rate up to the end of that day, with its 95 % interval. */
  rate: number | null;
  ciLow: number | null;
  ciHigh: number | null;
}

export interface ExperimentReport {
  experiment: {
    name: string;
    status: string;
    client: string | null;
    allocation: string;
    startedAt: string;
    stoppedAt: string | null;
    attributionWindowDays: number;
    promotedVariant: string | null;
  };
  control: string;
  primaryMetric: 'ctr';
  confidence: number;
  variants: VariantReport[];
  daily: DailyPoint[];
  positions: { variant: string; position: number; conversions: number }[];
  verdict: {
    /** The variant better than the control on the primary metric at the 5 % level; null when none is. */
    winner: string | null;
    significant: boolean;
    sentence: string;
  };
}

const sumsOf = (
  r: Pick<VariantOutcomeRow, 'users' | 'n' | 'c' | 'nn' | 'cc' | 'nc'> & { converted?: number },
): UserSums => ({
  users: r.users,
  n: r.n,
  c: r.c,
  nn: r.nn,
  cc: r.cc,
  nc: r.nc,
  converted: r.converted ?? 0,
});

const ZERO: VariantOutcomeRow = {
  variant: '',
  users: 0,
  lists: 0,
  n: 0,
  c: 0,
  nn: 0,
  cc: 0,
  nc: 0,
  converted: 0,
  dislikes: 0,
  skips: 0,
};

export async function experimentReport(db: Database, name: string): Promise<ExperimentReport> {
  const e = await getExperiment(db, name);
  const outcomes = await experimentOutcomes(db, e.id);
  return buildReport(e, outcomes.variants, outcomes.days, outcomes.positions);
}

/** The report from the repository's rows (pure: unit-tested on hand-made rows). */
export function buildReport(
  e: ExperimentRecord,
  totals: readonly VariantOutcomeRow[],
  days: readonly VariantDayRow[],
  positions: readonly { variant: string; position: number; conversions: number }[],
): ExperimentReport {
  const control = e.variants[0];
  const rowOf = (v: string) => totals.find((t) => t.variant === v) ?? { ...ZERO, variant: v };
  const controlSums = sumsOf(rowOf(control.name));
  const controlCtr = controlSums.n > 0 ? controlSums.c / controlSums.n : 0;
  const dates = [...new Set(days.map((d) => d.day))].sort();

  const variants: VariantReport[] = e.variants.map((v, i) => {
    const row = rowOf(v.name);
    const sums = sumsOf(row);
    const pos = positions.filter((p) => p.variant === v.name);
    const posCount = pos.reduce((a, p) => a + p.conversions, 0);
    let vsControl: VariantComparison | null = null;
    if (i > 0) {
      vsControl = {
        ctr: compareCtr(controlSums, sums),
        conversionsPerUser: comparePerUser(controlSums, sums),
        shareConverted: compareShares(controlSums, sums),
        alwaysValidP: alwaysValidPValue(
          sequentialLooks(days, dates, control.name, v.name),
          SEQUENTIAL_TAU_RELATIVE * controlCtr,
        ),
      };
    }
    return {
      name: v.name,
      modelVersion: v.modelVersion,
      weight: v.weight,
      control: i === 0,
      users: row.users,
      lists: row.lists,
      impressions: row.n,
      conversions: row.c,
      dislikes: row.dislikes,
      skips: row.skips,
      ctr: ctrEstimate(sums),
      conversionsPerUser: perUserEstimate(sums),
      shareConverted: shareEstimate(sums),
      meanConversionPosition: posCount > 0 ? pos.reduce((a, p) => a + p.position * p.conversions, 0) / posCount : null,
      vsControl,
    };
  });

  const daily: DailyPoint[] = days.map((d) => {
    const est = ctrEstimate(sumsOf(d));
    return {
      variant: d.variant,
      date: d.day,
      impressions: d.dayN,
      conversions: d.dayC,
      rate: est.value,
      ciLow: est.ciLow,
      ciHigh: est.ciHigh,
    };
  });

  return {
    experiment: {
      name: e.name,
      status: e.status,
      client: e.clientUsername,
      allocation: e.allocation,
      startedAt: e.startedAt.toISOString(),
      stoppedAt: e.stoppedAt ? e.stoppedAt.toISOString() : null,
      attributionWindowDays: e.attributionWindowSeconds / 86_400,
      promotedVariant: e.promotedVariant,
    },
    control: control.name,
    primaryMetric: 'ctr',
    confidence: CONFIDENCE,
    variants,
    daily,
    positions: [...positions],
    verdict: verdict(variants),
  };
}

/** The cumulative difference and its variance at the end of each day both variants had data. */
function sequentialLooks(days: readonly VariantDayRow[], dates: readonly string[], control: string, treatment: string) {
  const looks: { difference: number; variance: number }[] = [];
  let c: VariantDayRow | undefined;
  let t: VariantDayRow | undefined;
  for (const date of dates) {
    c = days.find((d) => d.variant === control && d.day === date) ?? c;
    t = days.find((d) => d.variant === treatment && d.day === date) ?? t;
    if (!c || !t || c.n <= 0 || t.n <= 0) continue;
    looks.push({ difference: t.c / t.n - c.c / c.n, variance: ratioVariance(sumsOf(c)) + ratioVariance(sumsOf(t)) });
  }
  return looks;
}

const pct = (x: number) => `${(100 * x).toFixed(2)} %`;
const signedPct = (x: number) => `${x >= 0 ? '+' : '−'}${(100 * Math.abs(x)).toFixed(1)} %`;
const pText = (p: number) => (p < 0.001 ? 'p < 0.001' : `p = ${p.toFixed(3)}`);

function verdict(variants: readonly VariantReport[]): ExperimentReport['verdict'] {
  const control = variants[0];
  const sentences: string[] = [];
  let winner: VariantReport | null = null;
  let significant = false;
  for (const v of variants.slice(1)) {
    const cmp = v.vsControl!.ctr;
    if (cmp.pValue === null || cmp.difference === null || v.ctr.value === null || control.ctr.value === null) {
      sentences.push(`Not enough data yet to compare ${v.name} with ${control.name}.`);
      continue;
    }
    const rel = cmp.relative !== null ? ` (${signedPct(cmp.relative)} relative)` : '';
    const detail = `click-through rate ${pct(v.ctr.value)} against ${pct(control.ctr.value)}${rel}, ${pText(cmp.pValue)}`;
    if (cmp.pValue < SIGNIFICANCE) {
      significant = true;
      const better = cmp.difference > 0;
      sentences.push(
        `${better ? `${v.name} is better than ${control.name}` : `${v.name} is worse than ${control.name}`}: ${detail}.`,
      );
      if (better && (!winner || (v.ctr.value ?? 0) > (winner.ctr.value ?? 0))) winner = v;
    } else sentences.push(`No significant difference between ${v.name} and ${control.name}: ${detail}.`);
  }
  return { winner: winner?.name ?? null, significant, sentence: sentences.join(' ') };
}
