import type { LabelValues, Registry } from 'prom-client';

/** One label set's observations: counts per bucket (the last one above every bound), their sum and number. */
export interface HistogramSlot<T extends string> {
  readonly labels: LabelValues<T>;
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

/**
 * A histogram for a hot path, exported through a prom-client Registry exactly as prom-client's Histogram exports
 * one (same series, same text; test/core/batched-histogram.test.ts compares them). prom-client's `observe` builds a
 * closure, a label key and a property key from the bucket's bound on every call (docs/benchmarks/serve.md); here
 * the caller keeps a slot per label set and an observation is a short scan of the bounds and three additions.
 * Written by hand because prom-client has no bulk or keyed observation; `npm run bench:metrics` and a CPU
 * profile of `reco serve` measure whether it still pays (docs/benchmarks/serve.md).
 */
export class BatchedHistogram<T extends string> {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly slots = new Map<string, HistogramSlot<T>>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly T[],
    readonly upperBounds: readonly number[],
    registers: Registry[],
  ) {
    // A Registry takes any object with prom-client's metric shape (name, help, type, get()).
    for (const r of registers) r.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  /** The slot of a label set, found by a key that identifies it (the same object every time). */
  slot(key: string, labels: () => LabelValues<T>): HistogramSlot<T> {
    let s = this.slots.get(key);
    if (s === undefined) {
      s = { labels: labels(), counts: new Float64Array(this.upperBounds.length + 1), sum: 0, count: 0 };
      this.slots.set(key, s);
    }
    return s;
  }

  observe(slot: HistogramSlot<T>, value: number): void {
    const bounds = this.upperBounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]) i++;
    slot.counts[i]++;
    slot.sum += value;
    slot.count++;
  }

  /** As prom-client's Histogram.getForPromString: `le` first, then the series' labels (sharedLabels). */
  async getForPromString() {
    const values: {
      labels: Record<string, string | number>;
      sharedLabels: LabelValues<T>;
      value: number;
      metricName: string;
      exemplar?: null;
    }[] = [];
    for (const s of this.slots.values()) {
      if (s.count === 0) continue; // as prom-client: no series before the first observation
      let acc = 0;
      this.upperBounds.forEach((le, i) => {
        acc += s.counts[i];
        values.push({
          labels: { le },
          sharedLabels: s.labels,
          value: acc,
          metricName: `${this.name}_bucket`,
          exemplar: null,
        });
      });
      values.push({
        labels: { le: '+Inf' },
        sharedLabels: s.labels,
        value: s.count,
        metricName: `${this.name}_bucket`,
        exemplar: null,
      });
      values.push({ labels: {}, sharedLabels: s.labels, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: {}, sharedLabels: s.labels, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** As prom-client's Histogram.get: each value's labels merged. */
  async get() {
    const data = await this.getForPromString();
    return {
      ...data,
      values: data.values.map(({ labels, sharedLabels, ...rest }) => ({
        ...rest,
        labels: { ...sharedLabels, ...labels },
      })),
    };
  }

  reset(): void {
    this.slots.clear();
  }
}
