import { assignmentPoint, assignVariant } from '../../../src/core/experiments/assignment.js';

const ab = {
  name: 'ranking-2026',
  variants: [
    { name: 'control', weight: 50 },
    { name: 'treatment', weight: 50 },
  ],
};
const users = (n: number, prefix = 'u') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

/** Pearson's chi-square statistic of observed counts against expected shares. */
function chiSquare(observed: number[], shares: number[]): number {
  const n = observed.reduce((a, b) => a + b, 0);
  return observed.reduce((s, o, i) => s + (o - n * shares[i]) ** 2 / (n * shares[i]), 0);
}

describe('assignVariant', () => {
  it('gives a user the same variant every time (a pure function of experiment, client and user)', () => {
    for (const u of users(200)) {
      const first = assignVariant(ab, 7, u).name;
      for (let k = 0; k < 3; k++)
        expect(assignVariant({ ...ab, variants: ab.variants.map((v) => ({ ...v })) }, 7, u).name).toBe(first);
    }
    // Fixed values: a change of the hash would move the users of running experiments to other variants.
    expect(assignmentPoint('ranking-2026', 7, 'u0')).toBe(0.6795634346692552);
    expect(['u0', 'u1', 'u2'].map((u) => assignVariant(ab, 7, u).name)).toEqual(['treatment', 'treatment', 'control']);
  });

  it('splits users in the proportions of the weights (chi-square, p > 0.001)', () => {
    const cases = [
      { weights: [50, 50], critical: 10.83 },
      { weights: [20, 30, 50], critical: 13.82 },
      { weights: [1, 9], critical: 10.83 },
    ];
    for (const { weights, critical } of cases) {
      const experiment = {
        name: `shares-${weights.join('-')}`,
        variants: weights.map((weight, i) => ({ name: `v${i}`, weight })),
      };
      const counts = weights.map(() => 0);
      for (const u of users(20_000)) counts[Number(assignVariant(experiment, 3, u).name.slice(1))]++;
      const total = weights.reduce((a, b) => a + b, 0);
      expect(
        chiSquare(
          counts,
          weights.map((w) => w / total),
        ),
      ).toBeLessThan(critical);
    }
  });

  it('reshuffles users for another experiment name and for another client', () => {
    const other = { ...ab, name: 'ranking-2027' };
    const n = 10_000;
    let sameExperiment = 0;
    let sameClient = 0;
    for (const u of users(n)) {
      if (assignVariant(ab, 7, u).name === assignVariant(other, 7, u).name) sameExperiment++;
      if (assignVariant(ab, 7, u).name === assignVariant(ab, 8, u).name) sameClient++;
    }
    // Independent 50/50 assignments agree for half the users (standard deviation 0.5 %).
    expect(Math.abs(sameExperiment / n - 0.5)).toBeLessThan(0.025);
    expect(Math.abs(sameClient / n - 0.5)).toBeLessThan(0.025);
  });

  it('does not confuse the parts of the key (name, client and user are separated)', () => {
    expect(assignmentPoint('a', 1, '23')).not.toBe(assignmentPoint('a', 12, '3'));
    expect(assignmentPoint('a1', 2, '3')).not.toBe(assignmentPoint('a', 12, '3'));
  });

  it('refuses an experiment without variants or with a weight that is not positive', () => {
    expect(() => assignVariant({ name: 'x', variants: [] }, 1, 'u')).toThrow(RangeError);
    expect(() => assignVariant({ name: 'x', variants: [{ name: 'a', weight: 0 }] }, 1, 'u')).toThrow(RangeError);
  });
});
