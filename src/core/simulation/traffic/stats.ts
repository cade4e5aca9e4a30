/** Request outcomes of a traffic run: latencies on a growable typed array, status counts, error samples. */
export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export class TrafficStats {
  private latencies = new Float64Array(1024);
  private n = 0;
  readonly statusCounts: Record<string, number> = {};
  readonly sessions: Record<string, number> = {};
  /** Statuses a well-behaved server may answer under load (429 = rate limited). */
  rateLimited = 0;
  unexpected = 0;
  readonly errorSamples: string[] = [];

  get count(): number {
    return this.n;
  }

  record(session: string, status: number | 'network_error' | 'timeout', ms: number, error?: string): void {
    if (this.n === this.latencies.length) {
      const bigger = new Float64Array(this.latencies.length * 2);
      bigger.set(this.latencies);
      this.latencies = bigger;
    }
    this.latencies[this.n++] = ms;
    const key = String(status);
    this.statusCounts[key] = (this.statusCounts[key] ?? 0) + 1;
    this.sessions[session] = (this.sessions[session] ?? 0) + 1;
    if (status === 429) this.rateLimited++;
    else if (typeof status !== 'number' || status >= 300) {
      this.unexpected++;
      if (this.errorSamples.length < 10) this.errorSamples.push(`${session}: ${status}${error ? ` ${error}` : ''}`);
    }
  }

  /** Nearest-rank percentiles in milliseconds (0s when nothing was sent). */
  latency(): LatencySummary {
    if (this.n === 0) return { p50: 0, p90: 0, p99: 0, max: 0, mean: 0 };
    const sorted = this.latencies.slice(0, this.n).sort();
    const at = (q: number) => sorted[Math.min(this.n - 1, Math.max(0, Math.ceil(q * this.n) - 1))];
    let sum = 0;
    for (let i = 0; i < this.n; i++) sum += sorted[i];
    return { p50: round(at(0.5)), p90: round(at(0.9)), p99: round(at(0.99)), max: round(sorted[this.n - 1]), mean: round(sum / this.n) };
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
