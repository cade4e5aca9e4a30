import { moments, stratifiedPerUser, welchTest } from '../../experiments/stats.js';

/**
 * Per-user outcomes of a loop run, by arm (the unit of randomisation is the user), and the summary an
 * experiment report shows per variant.
 */
export interface UserOutcome {
  user: string;
  arm: string;
  /** The day (0-based) of the user's first list: when the user was assigned. */
  firstDay: number;
  lists: number;
  impressions: number;
  conversions: number;
  skips: number;
  /** Sum of the 1-based ranks of the conversions. */
  positionSum: number;
}

export interface ArmSummary {
  arm: string;
  users: number;
  lists: number;
  impressions: number;
  conversions: number;
  skips: number;
  /** Conversions / impressions. */
  ctr: number;
  conversions_per_user: number;
  /** Share of users with at least one conversion. */
  converted_share: number;
  /** Mean 1-based rank of the conversions (null without any). */
  mean_position: number | null;
}

export function summarize(outcomes: readonly UserOutcome[]): ArmSummary[] {
  const arms = new Map<string, ArmSummary & { positionSum: number; converted: number }>();
  for (const o of outcomes) {
    let a = arms.get(o.arm);
    if (!a)
      arms.set(
        o.arm,
        (a = {
          arm: o.arm,
          users: 0,
          lists: 0,
          impressions: 0,
          conversions: 0,
          skips: 0,
          ctr: 0,
          conversions_per_user: 0,
          converted_share: 0,
          mean_position: null,
          positionSum: 0,
          converted: 0,
        }),
      );
    a.users++;
    a.lists += o.lists;
    a.impressions += o.impressions;
    a.conversions += o.conversions;
    a.skips += o.skips;
    a.positionSum += o.positionSum;
    if (o.conversions > 0) a.converted++;
  }
  return [...arms.values()]
    .sort((x, y) => (x.arm < y.arm ? -1 : x.arm > y.arm ? 1 : 0))
    .map(({ positionSum, converted, ...a }) => ({
      ...a,
      ctr: a.impressions ? a.conversions / a.impressions : 0,
      conversions_per_user: a.users ? a.conversions / a.users : 0,
      converted_share: a.users ? converted / a.users : 0,
      mean_position: a.conversions ? positionSum / a.conversions : null,
    }));
}

/** The conversions of each user of an arm (the sample a test on conversions per user compares). */
export function conversionsOf(outcomes: readonly UserOutcome[], arm: string): number[] {
  return outcomes.filter((o) => o.arm === arm).map((o) => o.conversions);
}

export interface Comparison {
  /** Mean of b − mean of a. */
  difference: number;
  ci_low: number;
  ci_high: number;
  p_value: number;
}

/** Welch's t test of mean(b) − mean(a), two-sided: the experiments statistics' test of conversions per user. */
export function welch(a: readonly number[], b: readonly number[]): Comparison {
  const c = welchTest(moments(a), moments(b));
  return { difference: c.difference ?? NaN, ci_low: c.ciLow ?? NaN, ci_high: c.ciHigh ?? NaN, p_value: c.pValue ?? 1 };
}

/** Conversions per user of b − a, stratified by the day users were assigned (stats.ts stratifiedPerUser). */
export function stratifiedWelch(outcomes: readonly UserOutcome[], a: string, b: string): Comparison {
  const days = [...new Set(outcomes.map((o) => o.firstDay))].sort((x, y) => x - y);
  const c = stratifiedPerUser(
    days.map((d) => {
      const today = outcomes.filter((o) => o.firstDay === d);
      return { control: moments(conversionsOf(today, a)), treatment: moments(conversionsOf(today, b)) };
    }),
  );
  return { difference: c.difference ?? NaN, ci_low: c.ciLow ?? NaN, ci_high: c.ciHigh ?? NaN, p_value: c.pValue ?? 1 };
}
