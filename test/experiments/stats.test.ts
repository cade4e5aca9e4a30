import { Rng } from '../../src/core/data/random.js';
import {
  alwaysValidPValue,
  comparePerUser,
  compareShares,
  compareCtr,
  ctrEstimate,
  moments,
  perUserEstimate,
  ratioVariance,
  shareEstimate,
  welchTest,
  userSums,
  type UserSums,
} from '../../src/core/experiments/stats.js';
import { SEQUENTIAL_TAU_RELATIVE } from '../../src/core/experiments/report.js';

/**
 * The report's statistics against values computed independently (SciPy 1.17: scipy.stats.ttest_ind with
 * equal_var=False, scipy.stats.norm; the delta method and the Wilson interval written out with NumPy), and the
 * false-positive rate of the tests on seeded null data.
 */

const sums = userSums;

const close = (actual: number | null, expected: number, digits = 7) => expect(actual).toBeCloseTo(expected, digits);

describe('Welch t test', () => {
  // The classic unequal-variance example data (two samples of 15).
  const a = [27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4];
  const b = [27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4];

  it('matches scipy.stats.ttest_ind(b, a, equal_var=False): t, df, p and the interval of the difference', () => {
    const r = welchTest(moments(a), moments(b));
    close(r.statistic, 2.455356398286006);
    close(r.df, 24.988529290231416);
    close(r.pValue, 0.021378001462866992);
    close(r.ciLow, 0.3492370661924069);
    close(r.ciHigh, 3.984096267140929);
    expect(r.test).toBe('welch t');
  });

  it('is symmetric: swapping the samples flips the sign, keeps p', () => {
    const r = welchTest(moments(b), moments(a));
    close(r.statistic, -2.455356398286006);
    close(r.pValue, 0.021378001462866992);
  });

  it('per-user conversions of two variants: scipy ttest_ind(treatment, control, equal_var=False)', () => {
    const control = sums([10, 12, 8, 10, 15, 9, 11, 10], [1, 2, 0, 1, 3, 1, 0, 2]);
    const treatment = sums([10, 10, 14, 9, 11, 12, 10, 8, 10], [3, 2, 4, 1, 2, 3, 2, 1, 3]);
    const r = comparePerUser(control, treatment);
    close(r.statistic, 2.188486619609663);
    close(r.pValue, 0.04530500926655838);
    close(r.df, 14.624944351220847);
    const e = perUserEstimate(control);
    close(e.value, 1.25);
    close(e.ciLow, 0.38463613264052443);
    close(e.ciHigh, 2.1153638673594757);
  });
});

describe('click-through rate by the delta method (users are the unit)', () => {
  const control = sums([10, 12, 8, 10, 15, 9, 11, 10], [1, 2, 0, 1, 3, 1, 0, 2]);
  const treatment = sums([10, 10, 14, 9, 11, 12, 10, 8, 10], [3, 2, 4, 1, 2, 3, 2, 1, 3]);

  it('each rate and its standard error', () => {
    const c = ctrEstimate(control);
    close(c.value, 0.11764705882352941);
    close(c.se, 0.028615011393179308);
    close(Math.sqrt(ratioVariance(treatment)), 0.02255638054067258);
  });

  it('the z test of the difference, with its interval', () => {
    const r = compareCtr(control, treatment);
    close(r.difference, 0.10575719649561952);
    close(r.statistic, 2.9025172283143275);
    close(r.pValue, 0.0037017679820487578);
    close(r.ciLow, 0.03434322030443583);
    close(r.ciHigh, 0.1771711726868032);
    close(r.relative, 0.10575719649561952 / 0.11764705882352941);
    expect(r.probabilityBetter).toBeGreaterThan(0.99);
  });

  it('has no estimate without impressions, and no interval for one user', () => {
    expect(ctrEstimate(sums([], [])).value).toBeNull();
    const one = ctrEstimate(sums([5], [1]));
    expect(one.value).toBe(0.2);
    expect(one.se).toBeNull();
    expect(compareCtr(sums([], []), control).pValue).toBeNull();
  });
});

describe('share of users converted', () => {
  it('two-proportion z test (pooled) with an unpooled interval: 30/200 against 45/200', () => {
    const control: UserSums = { users: 200, n: 0, c: 0, nn: 0, cc: 0, nc: 0, converted: 30 };
    const treatment: UserSums = { ...control, converted: 45 };
    const r = compareShares(control, treatment);
    close(r.statistic, 1.921537845661046);
    close(r.pValue, 0.05466393589167507);
    close(r.ciLow, -0.001145925087854785);
    close(r.ciHigh, 0.1511459250878548);
  });

  it('Wilson interval of 2 in 10', () => {
    const e = shareEstimate({ users: 10, n: 0, c: 0, nn: 0, cc: 0, nc: 0, converted: 2 });
    close(e.value, 0.2);
    close(e.ciLow, 0.05668215145437519);
    close(e.ciHigh, 0.5098375284633583);
  });
});

describe('always-valid p-value (mSPRT)', () => {
  it('is the smallest 1/Λ over the looks', () => {
    const p = alwaysValidPValue(
      [
        { difference: 0.01, variance: 0.0001 },
        { difference: 0.02, variance: 0.00005 },
        { difference: 0.015, variance: 0.00003 },
      ],
      0.01,
    );
    close(p, 0.11631574450811494);
  });

  it('never exceeds 1 and needs a look with a variance', () => {
    expect(alwaysValidPValue([{ difference: 0, variance: 1 }], 0.1)).toBe(1);
    expect(alwaysValidPValue([], 0.1)).toBeNull();
    expect(alwaysValidPValue([{ difference: 0.1, variance: 0 }], 0.1)).toBeNull();
  });
});

/**
 * Null data: both variants draw from the same population. Users differ (each has a click probability of their
 * own), so a user's impressions are correlated, as on a real platform. Few draws per user: the generator runs
 * slowly inside jest's module sandbox.
 */
function nullVariant(rng: Rng, users: number, baseRate = 0.1) {
  const n: number[] = [];
  const c: number[] = [];
  for (let u = 0; u < users; u++) {
    const ni = 5 + rng.int(11);
    const p = baseRate * Math.exp(rng.normal(0, 1) - 0.5);
    n.push(ni);
    c.push(Math.min(ni, rng.poisson(ni * p)));
  }
  return { n, c };
}

describe('false-positive rate on null data (seeded)', () => {
  it('the delta-method z test and the Welch test reject about 5 % of A/A tests; the impression-level test too many', () => {
    const rng = new Rng(20261206, 'experiments null');
    const reps = 1000;
    let delta = 0;
    let welch = 0;
    let naive = 0;
    for (let r = 0; r < reps; r++) {
      const a = nullVariant(rng, 100);
      const b = nullVariant(rng, 100);
      const sa = sums(a.n, a.c);
      const sb = sums(b.n, b.c);
      if (compareCtr(sa, sb).pValue! < 0.05) delta++;
      if (comparePerUser(sa, sb).pValue! < 0.05) welch++;
      // Impressions as if independent: the two-proportion z test over impressions ignores the users.
      const naiveTest = compareShares({ ...sa, users: sa.n, converted: sa.c }, { ...sb, users: sb.n, converted: sb.c });
      if (naiveTest.pValue! < 0.05) naive++;
    }
    // 3 standard errors of a rate of 5 % over 1000 repetitions: ±2 points.
    expect(delta / reps).toBeGreaterThan(0.03);
    expect(delta / reps).toBeLessThan(0.07);
    expect(welch / reps).toBeGreaterThan(0.03);
    expect(welch / reps).toBeLessThan(0.07);
    expect(naive / reps).toBeGreaterThan(0.1);
  });

  /** Fourteen daily looks at a growing test; the treatment's base rate is `lift` times the control's. */
  function dailyLooks(rng: Rng, lift: number, tauRelative = SEQUENTIAL_TAU_RELATIVE) {
    const reps = 400;
    const days = 14;
    let peeked = 0;
    let sequential = 0;
    for (let r = 0; r < reps; r++) {
      let sa = sums([], []);
      let sb = sums([], []);
      const looks: { difference: number; variance: number }[] = [];
      let anySignificant = false;
      let tau = 0;
      for (let d = 0; d < days; d++) {
        const a = nullVariant(rng, 30);
        const b = nullVariant(rng, 30, 0.1 * lift);
        const da = sums(a.n, a.c);
        const db = sums(b.n, b.c);
        const add = (x: UserSums, y: UserSums): UserSums => ({
          users: x.users + y.users,
          n: x.n + y.n,
          c: x.c + y.c,
          nn: x.nn + y.nn,
          cc: x.cc + y.cc,
          nc: x.nc + y.nc,
          converted: x.converted + y.converted,
        });
        sa = add(sa, da);
        sb = add(sb, db);
        const cmp = compareCtr(sa, sb);
        if (cmp.pValue! < 0.05) anySignificant = true;
        looks.push({ difference: cmp.difference!, variance: ratioVariance(sa) + ratioVariance(sb) });
        tau = tauRelative * (sa.c / sa.n);
      }
      if (anySignificant) peeked++;
      if (alwaysValidPValue(looks, tau)! < 0.05) sequential++;
    }
    return { peeked: peeked / reps, sequential: sequential / reps };
  }

  it('peeking every day at the fixed-horizon p-value inflates false positives; the always-valid p-value does not', () => {
    const r = dailyLooks(new Rng(20261206, 'experiments peeking'), 1);
    expect(r.peeked).toBeGreaterThan(0.1);
    expect(r.sequential).toBeLessThan(0.05);
  });

  it('the always-valid p-value still finds a real difference (a 50 % higher rate)', () => {
    const r = dailyLooks(new Rng(20261206, 'experiments lift'), 1.5);
    expect(r.peeked).toBeGreaterThan(0.9);
    expect(r.sequential).toBeGreaterThan(0.6);
  });
});
