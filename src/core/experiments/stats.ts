import jStat from 'jstat';

/**
 * The statistics of an experiment's report (docs/experiments.md, "Reading the report"). Users are the unit of
 * randomisation, so every variance is computed over users: a user's lists are not independent of each other.
 * Distribution functions come from jstat.
 */

/** Sums over the users of one variant: n = a user's impressions, c = the user's conversions. */
export interface UserSums {
  users: number;
  n: number;
  c: number;
  nn: number;
  cc: number;
  nc: number;
  /** Users with at least one conversion. */
  converted: number;
}

/** The sums of per-user impressions `n[i]` and conversions `c[i]` (for callers that hold users in memory). */
export function userSums(n: readonly number[], c: readonly number[]): UserSums {
  const s: UserSums = { users: n.length, n: 0, c: 0, nn: 0, cc: 0, nc: 0, converted: 0 };
  for (let i = 0; i < n.length; i++) {
    s.n += n[i];
    s.c += c[i];
    s.nn += n[i] * n[i];
    s.cc += c[i] * c[i];
    s.nc += n[i] * c[i];
    if (c[i] > 0) s.converted++;
  }
  return s;
}

export const CONFIDENCE = 0.95;
const Z = jStat.normal.inv(1 - (1 - CONFIDENCE) / 2, 0, 1);

export interface Estimate {
  value: number | null;
  /** Standard error; null when it cannot be estimated (fewer than two users). */
  se: number | null;
  ciLow: number | null;
  ciHigh: number | null;
}

export type TestName = 'delta-method z' | 'welch t' | 'two-proportion z' | 'stratified z';

export interface Comparison {
  test: TestName;
  /** Treatment minus control. */
  difference: number | null;
  /** The difference relative to the control's value. */
  relative: number | null;
  ciLow: number | null;
  ciHigh: number | null;
  statistic: number | null;
  /** Welch t only. */
  df: number | null;
  /** Two-sided, for one look at the data (see docs/experiments.md on peeking). */
  pValue: number | null;
  /** Normal approximation of P(treatment > control) under a flat prior. */
  probabilityBetter: number | null;
}

export function normalCdf(x: number): number {
  return jStat.normal.cdf(x, 0, 1);
}

export function twoSidedNormalP(z: number): number {
  return 2 * (1 - normalCdf(Math.abs(z)));
}

export function twoSidedTP(t: number, df: number): number {
  return 2 * (1 - jStat.studentt.cdf(Math.abs(t), df));
}

const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);

function sampleVariance(sum: number, sumSq: number, k: number): number {
  return k > 1 ? Math.max(0, (sumSq - (sum * sum) / k) / (k - 1)) : NaN;
}

function sampleCovariance(sumX: number, sumY: number, sumXY: number, k: number): number {
  return k > 1 ? (sumXY - (sumX * sumY) / k) / (k - 1) : NaN;
}

/**
 * The variance of the ratio Σc / Σn over users by the delta method: (s²_c − 2R·s_cn + R²·s²_n) / (k·n̄²), the
 * variance of a ratio of per-user sums when users, not impressions, are the independent units.
 */
export function ratioVariance(s: UserSums): number {
  const k = s.users;
  if (k < 2 || s.n <= 0) return NaN;
  const r = s.c / s.n;
  const meanN = s.n / k;
  const v =
    sampleVariance(s.c, s.cc, k) - 2 * r * sampleCovariance(s.n, s.c, s.nc, k) + r * r * sampleVariance(s.n, s.nn, k);
  return Math.max(0, v) / (k * meanN * meanN);
}

function normalEstimate(value: number, variance: number): Estimate {
  const se = Math.sqrt(variance);
  return { value: finite(value), se: finite(se), ciLow: finite(value - Z * se), ciHigh: finite(value + Z * se) };
}

/** Click-through rate: conversions / impressions, with a delta-method interval. */
export function ctrEstimate(s: UserSums): Estimate {
  if (s.n <= 0) return { value: null, se: null, ciLow: null, ciHigh: null };
  return normalEstimate(s.c / s.n, ratioVariance(s));
}

/** Conversions per user, with a t interval. */
export function perUserEstimate(s: UserSums): Estimate {
  const k = s.users;
  if (k === 0) return { value: null, se: null, ciLow: null, ciHigh: null };
  const mean = s.c / k;
  const se = Math.sqrt(sampleVariance(s.c, s.cc, k) / k);
  const t = k > 1 ? jStat.studentt.inv(1 - (1 - CONFIDENCE) / 2, k - 1) : NaN;
  return { value: mean, se: finite(se), ciLow: finite(mean - t * se), ciHigh: finite(mean + t * se) };
}

/** Share of users with at least one conversion, with a Wilson score interval (sound near 0 and 1). */
export function shareEstimate(s: UserSums): Estimate {
  const k = s.users;
  if (k === 0) return { value: null, se: null, ciLow: null, ciHigh: null };
  const p = s.converted / k;
  const z2 = Z * Z;
  const centre = (p + z2 / (2 * k)) / (1 + z2 / k);
  const half = (Z * Math.sqrt((p * (1 - p)) / k + z2 / (4 * k * k))) / (1 + z2 / k);
  return { value: p, se: Math.sqrt((p * (1 - p)) / k), ciLow: centre - half, ciHigh: centre + half };
}

function empty(test: TestName): Comparison {
  return {
    test,
    difference: null,
    relative: null,
    ciLow: null,
    ciHigh: null,
    statistic: null,
    df: null,
    pValue: null,
    probabilityBetter: null,
  };
}

function relativeTo(difference: number, control: number): number | null {
  return control !== 0 ? difference / control : null;
}

/** Difference of two click-through rates: a z test with the delta-method variances of each. */
export function compareCtr(control: UserSums, treatment: UserSums): Comparison {
  if (control.n <= 0 || treatment.n <= 0) return empty('delta-method z');
  const rc = control.c / control.n;
  const rt = treatment.c / treatment.n;
  return normalComparison('delta-method z', rt - rc, ratioVariance(control) + ratioVariance(treatment), rc);
}

function normalComparison(
  test: TestName,
  d: number,
  variance: number,
  controlValue: number,
  testSe = Math.sqrt(variance),
): Comparison {
  const se = Math.sqrt(variance);
  const z = testSe > 0 ? d / testSe : d === 0 ? 0 : NaN;
  return {
    test,
    difference: d,
    relative: relativeTo(d, controlValue),
    ciLow: finite(d - Z * se),
    ciHigh: finite(d + Z * se),
    statistic: finite(z),
    df: null,
    pValue: Number.isFinite(z) ? twoSidedNormalP(z) : null,
    probabilityBetter: se > 0 ? normalCdf(d / se) : null,
  };
}

/** Moments of one sample: the count, the mean and the (n − 1) variance. */
export interface SampleMoments {
  count: number;
  mean: number;
  variance: number;
}

export function moments(xs: readonly number[]): SampleMoments {
  const k = xs.length;
  let sum = 0;
  let sq = 0;
  for (const x of xs) {
    sum += x;
    sq += x * x;
  }
  return { count: k, mean: k > 0 ? sum / k : NaN, variance: sampleVariance(sum, sq, k) };
}

/** Welch's unequal-variance t test of treatment − control, with the Welch–Satterthwaite degrees of freedom. */
export function welchTest(control: SampleMoments, treatment: SampleMoments): Comparison {
  if (control.count < 2 || treatment.count < 2) return empty('welch t');
  const vc = control.variance / control.count;
  const vt = treatment.variance / treatment.count;
  const d = treatment.mean - control.mean;
  const se = Math.sqrt(vc + vt);
  const df = (vc + vt) ** 2 / (vc ** 2 / (control.count - 1) + vt ** 2 / (treatment.count - 1));
  if (!(se > 0))
    return {
      ...empty('welch t'),
      difference: d,
      relative: relativeTo(d, control.mean),
      ciLow: d,
      ciHigh: d,
      statistic: d === 0 ? 0 : null,
      pValue: d === 0 ? 1 : null,
    };
  const t = d / se;
  const q = jStat.studentt.inv(1 - (1 - CONFIDENCE) / 2, df);
  return {
    test: 'welch t',
    difference: d,
    relative: relativeTo(d, control.mean),
    ciLow: d - q * se,
    ciHigh: d + q * se,
    statistic: t,
    df,
    pValue: twoSidedTP(t, df),
    probabilityBetter: 1 - jStat.studentt.cdf(-t, df),
  };
}

/** Conversions per user: Welch's t test over the users' conversion counts. */
export function comparePerUser(control: UserSums, treatment: UserSums): Comparison {
  const m = (s: UserSums): SampleMoments => ({
    count: s.users,
    mean: s.users > 0 ? s.c / s.users : NaN,
    variance: sampleVariance(s.c, s.cc, s.users),
  });
  return welchTest(m(control), m(treatment));
}

/**
 * Conversions per user when the allocation changed over time (a bandit, docs/experiments.md): users are grouped by the
 * period they were assigned in (a day), within which every user had the same chance of each variant and the same
 * time to convert; the difference is the mean of the periods' differences weighted by their users, its variance
 * Σ w² (s²_c/n_c + s²_t/n_t), tested with a normal approximation. Periods without two users in each arm are left
 * out. Pooling the users instead compares late arrivals (mostly on the leading variant, with less time to convert)
 * with early ones, which biases the naive difference.
 */
export function stratifiedPerUser(strata: readonly { control: SampleMoments; treatment: SampleMoments }[]): Comparison {
  const used = strata.filter((s) => s.control.count >= 2 && s.treatment.count >= 2);
  const total = used.reduce((a, s) => a + s.control.count + s.treatment.count, 0);
  if (total === 0) return empty('stratified z');
  let d = 0;
  let variance = 0;
  let control = 0;
  for (const s of used) {
    const w = (s.control.count + s.treatment.count) / total;
    d += w * (s.treatment.mean - s.control.mean);
    control += w * s.control.mean;
    variance += w * w * (s.control.variance / s.control.count + s.treatment.variance / s.treatment.count);
  }
  const se = Math.sqrt(variance);
  if (!(se > 0)) return { ...empty('stratified z'), difference: d, relative: relativeTo(d, control) };
  const z = d / se;
  return {
    test: 'stratified z',
    difference: d,
    relative: relativeTo(d, control),
    ciLow: d - Z * se,
    ciHigh: d + Z * se,
    statistic: z,
    df: null,
    pValue: twoSidedNormalP(z),
    probabilityBetter: normalCdf(z),
  };
}

/**
 * Share of users converted: the two-proportion z test (pooled variance under the null hypothesis), with an
 * interval from the unpooled variance.
 */
export function compareShares(control: UserSums, treatment: UserSums): Comparison {
  const k1 = control.users;
  const k2 = treatment.users;
  if (k1 === 0 || k2 === 0) return empty('two-proportion z');
  const p1 = control.converted / k1;
  const p2 = treatment.converted / k2;
  const pooled = (control.converted + treatment.converted) / (k1 + k2);
  const pooledSe = Math.sqrt(pooled * (1 - pooled) * (1 / k1 + 1 / k2));
  return normalComparison('two-proportion z', p2 - p1, (p1 * (1 - p1)) / k1 + (p2 * (1 - p2)) / k2, p1, pooledSe);
}

/**
 * An always-valid p-value (mixture sequential probability ratio test, normal approximation): for each look i at
 * the cumulative difference d_i with variance V_i, Λ_i = √(V_i/(V_i+τ²))·exp(d_i²τ² / (2V_i(V_i+τ²))), and
 * p = min over looks of 1/Λ_i (capped at 1). It may be read after every look without inflating the false-positive
 * rate; τ is the size of effect the test is tuned to find.
 */
export function alwaysValidPValue(
  looks: readonly { difference: number; variance: number }[],
  tau: number,
): number | null {
  if (!(tau > 0)) return null;
  const t2 = tau * tau;
  let p = 1;
  let any = false;
  for (const { difference: d, variance: v } of looks) {
    if (!(v > 0) || !Number.isFinite(d)) continue;
    any = true;
    const logLambda = 0.5 * Math.log(v / (v + t2)) + (d * d * t2) / (2 * v * (v + t2));
    p = Math.min(p, Math.exp(-logLambda));
  }
  return any ? p : null;
}
