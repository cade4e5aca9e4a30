import type { Counter, LabelValues } from 'prom-client';

/** One label set's count since the last collection, and its labels (reusable for other metrics of the request). */
export interface CounterSlot<T extends string> {
  n: number;
  readonly labels: LabelValues<T>;
}

/**
 * Increments of a labelled prom-client Counter, counted in plain fields on a hot path and added to the Counter
 * when it is collected (its `collect` hook, which prom-client runs on every scrape and every `get()`), so what is
 * exported is always exact. prom-client's `inc` builds and validates a label key on every call, which
 * the API's hot route pays three times per request; `npm run bench:metrics` measures whether this still pays
 * (docs/benchmarks/serve.md).
 */
export class CounterBatch<T extends string> {
  private readonly slots = new Map<string, CounterSlot<T>>();

  /** The slot of a label set, found by a key that identifies it (the same object every time): add to `n`. */
  slot(key: string, labels: () => LabelValues<T>): CounterSlot<T> {
    let s = this.slots.get(key);
    if (s === undefined) {
      s = { n: 0, labels: labels() };
      this.slots.set(key, s);
    }
    return s;
  }

  /** For the Counter's collect hook. */
  flushInto(counter: Counter<T>): void {
    for (const s of this.slots.values()) {
      if (s.n === 0) continue;
      const n = s.n;
      s.n = 0;
      counter.inc(s.labels, n);
    }
  }
}
