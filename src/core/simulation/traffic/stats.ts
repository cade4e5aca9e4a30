/** Request outcomes of a traffic run: latencies on growable typed arrays, status counts, error samples. */
export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** One kind of call's figures in the report: how many, by status, and their latency. */
export interface CallFigures {
  requests: number;
  status_counts: Record<string, number>;
  latency_ms: LatencySummary;
}

/** Latencies of many requests, summarised by nearest-rank percentiles. */
class Latencies {
  private values = new Float64Array(256);
  n = 0;

  add(ms: number): void {
    if (this.n === this.values.length) {
      const bigger = new Float64Array(this.values.length * 2);
      bigger.set(this.values);
      this.values = bigger;
    }
    this.values[this.n++] = ms;
  }

  /** Nearest-rank percentiles in milliseconds (0s when nothing was sent). */
  summary(): LatencySummary {
    if (this.n === 0) return { p50: 0, p90: 0, p99: 0, max: 0, mean: 0 };
    const sorted = this.values.slice(0, this.n).sort();
    const at = (q: number) => sorted[Math.min(this.n - 1, Math.max(0, Math.ceil(q * this.n) - 1))];
    let sum = 0;
    for (let i = 0; i < this.n; i++) sum += sorted[i];
    return {
      p50: round(at(0.5)),
      p90: round(at(0.9)),
      p99: round(at(0.99)),
      max: round(sorted[this.n - 1]),
      mean: round(sum / this.n),
    };
  }
}

export class TrafficStats {
  private readonly all = new Latencies();
  private readonly byCall = new Map<string, { latencies: Latencies; statusCounts: Record<string, number> }>();
  readonly statusCounts: Record<string, number> = {};
  readonly sessions: Record<string, number> = {};
  /** Statuses a well-behaved server may answer under load (429 = rate limited). */
  rateLimited = 0;
  unexpected = 0;
  readonly errorSamples: string[] = [];

  get count(): number {
    return this.all.n;
  }

  record(session: string, status: number | 'network_error' | 'timeout', ms: number, error?: string): void {
    this.all.add(ms);
    const key = String(status);
    this.statusCounts[key] = (this.statusCounts[key] ?? 0) + 1;
    this.sessions[session] = (this.sessions[session] ?? 0) + 1;
    let call = this.byCall.get(session);
    if (!call) this.byCall.set(session, (call = { latencies: new Latencies(), statusCounts: {} }));
    call.latencies.add(ms);
    call.statusCounts[key] = (call.statusCounts[key] ?? 0) + 1;
    if (status === 429) this.rateLimited++;
    else if (typeof status !== 'number' || status >= 300)
      this.unexpectedError(`${session}: ${status}${error ? ` ${error}` : ''}`);
  }

  /** Something wrong in a 2xx answer (e.g. feedback events the server rejected): unexpected too. */
  unexpectedError(sample: string): void {
    this.unexpected++;
    if (this.errorSamples.length < 10) this.errorSamples.push(sample);
  }

  latency(): LatencySummary {
    return this.all.summary();
  }

  /** Each kind of call: requests, statuses and latency, in the order the kinds first appeared. */
  calls(): Record<string, CallFigures> {
    const out: Record<string, CallFigures> = {};
    for (const [name, c] of this.byCall)
      out[name] = { requests: c.latencies.n, status_counts: c.statusCounts, latency_ms: c.latencies.summary() };
    return out;
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
