/**
 * Per-user outcomes of a loop run, by arm (the unit of randomisation is the user), and the summary an
 * experiment report shows per variant.
 */
export interface UserOutcome {
  user: string;
  arm: string;
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
    if (!a) arms.set(o.arm, (a = { arm: o.arm, users: 0, lists: 0, impressions: 0, conversions: 0, skips: 0, ctr: 0, conversions_per_user: 0, converted_share: 0, mean_position: null, positionSum: 0, converted: 0 }));
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

/**
 * Welch's test of the difference of two means, with the normal reference distribution (the samples here are
 * hundreds of users per arm, where Student's t and the normal agree to the third decimal). Two-sided.
 */
export function welch(a: readonly number[], b: readonly number[]): Comparison {
  const m = (x: readonly number[]) => x.reduce((s, v) => s + v, 0) / x.length;
  const v = (x: readonly number[], mean: number) => x.reduce((s, y) => s + (y - mean) ** 2, 0) / Math.max(1, x.length - 1);
  const ma = m(a);
  const mb = m(b);
  const se = Math.sqrt(v(a, ma) / a.length + v(b, mb) / b.length);
  const difference = mb - ma;
  const z = se > 0 ? difference / se : 0;
  return { difference, ci_low: difference - 1.959964 * se, ci_high: difference + 1.959964 * se, p_value: se > 0 ? erfc(Math.abs(z) / Math.SQRT2) : 1 };
}

/** erfc by the Numerical Recipes Chebyshev fit (relative error below 1.2e-7 everywhere). */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? r : 2 - r;
}
