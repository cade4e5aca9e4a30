/**
 * Thompson sampling between an experiment's variants (docs/experiments.md, "Bandit allocation"; the simulator's `--compare-allocation`).
 *
 * Each variant's per-impression conversion rate has a Beta(1 + conversions, 1 + impressions − conversions)
 * posterior (uniform prior). A new user gets the variant whose posterior draw is highest, and keeps it: the user
 * stays the unit of analysis. Per-impression counts are what the server can read cheaply (impressions and their
 * attributed conversions per variant); their within-user correlation makes the posterior somewhat narrower than
 * a per-user model's, so the allocator settles a little sooner than it strictly should.
 */

/** The source of randomness: uniform draws in [0, 1) and standard normal draws (the data module's Rng fits). */
export interface RandomSource {
  next(): number;
  normal(): number;
}

export interface VariantCounts {
  name: string;
  impressions: number;
  conversions: number;
}

export type Allocation = 'fixed' | 'bandit';
export const ALLOCATIONS: readonly Allocation[] = ['fixed', 'bandit'];

/**
 * A Gamma(shape, 1) draw: Marsaglia and Tsang's method (shape < 1 through the boost U^(1/shape)). Hand-written
 * because jStat's samplers read one global random function, and the draws here must come from a seeded source.
 */
export function gammaSample(shape: number, rng: RandomSource): number {
  if (!(shape > 0)) throw new RangeError(`gamma shape ${shape}`);
  if (shape < 1) return gammaSample(shape + 1, rng) * Math.pow(1 - rng.next(), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = rng.normal();
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = 1 - rng.next();
    if (u < 1 - 0.0331 * x * x * x * x || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

export function betaSample(a: number, b: number, rng: RandomSource): number {
  const x = gammaSample(a, rng);
  const y = gammaSample(b, rng);
  return x / (x + y);
}

/** The posterior parameters of a variant's conversion rate. */
export function posterior(c: VariantCounts): { alpha: number; beta: number } {
  const conversions = Math.max(0, Math.min(c.conversions, c.impressions));
  return { alpha: 1 + conversions, beta: 1 + Math.max(0, c.impressions - conversions) };
}

/** Thompson sampling's pick: the index of the variant with the highest posterior draw (ties to the first). */
export function thompsonPick(counts: readonly VariantCounts[], rng: RandomSource): number {
  if (counts.length === 0) throw new RangeError('no variants');
  let best = 0;
  let top = -1;
  counts.forEach((c, i) => {
    const p = posterior(c);
    const x = betaSample(p.alpha, p.beta, rng);
    if (x > top) {
      top = x;
      best = i;
    }
  });
  return best;
}

/** Each variant's posterior probability of having the highest conversion rate, from `draws` joint draws. */
export function probabilityBest(counts: readonly VariantCounts[], rng: RandomSource, draws = 4000): number[] {
  const wins = counts.map(() => 0);
  for (let d = 0; d < draws; d++) wins[thompsonPick(counts, rng)]++;
  return wins.map((w) => w / draws);
}
