import type { Logger } from 'pino';
import type { ImpressionRow } from '../core/experiments/types.js';
import type { RecoMetrics } from '../core/metrics/registry.js';

/** Which lists are recorded: those served inside a running experiment (default), every list, or none. */
export type ImpressionsMode = 'experiments' | 'all' | 'off';
export const IMPRESSIONS_MODES: readonly ImpressionsMode[] = ['experiments', 'all', 'off'];

export interface ImpressionRecorderOptions {
  /** Writes one batch (the repository's insertImpressions). */
  write: (rows: readonly ImpressionRow[]) => Promise<unknown>;
  /** Rows held at most; a row beyond is dropped and counted (default 50,000, about 10 MB). */
  capacity?: number;
  /** A batch is written once this many rows wait (default 1,000) … */
  batchRows?: number;
  /** … or this long after the first of them arrived (default 1 s). */
  flushMs?: number;
  metrics?: RecoMetrics;
  logger?: Logger;
}

/** A row with its experiment's name, for the Prometheus labels. */
export type RecordedImpression = ImpressionRow & { experimentName: string | null };

/**
 * Impressions (each list served) written off the request path: `record` only appends to a bounded buffer; a
 * timer or a full batch starts one write at a time. While a write is in flight rows keep accumulating up to
 * the capacity; a row beyond it, and every row of a write that fails (the database is down, a timeout), is
 * dropped and counted in reco_impressions_dropped_total — a request never waits for the database, and nothing
 * is retried (a retry would hold memory for an outage of unknown length).
 */
export class ImpressionRecorder {
  private buffer: RecordedImpression[] = [];
  private writing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly capacity: number;
  private readonly batchRows: number;
  private readonly flushMs: number;
  /** Counts, for tests and the close log. */
  recorded = 0;
  written = 0;
  dropped = 0;
  private lastErrorLog = 0;

  constructor(private readonly options: ImpressionRecorderOptions) {
    this.capacity = options.capacity ?? 50_000;
    this.batchRows = Math.max(1, options.batchRows ?? 1000);
    this.flushMs = options.flushMs ?? 1000;
  }

  /** Rows waiting to be written. */
  get pending(): number {
    return this.buffer.length;
  }

  record(row: RecordedImpression): void {
    this.recorded++;
    if (this.closed || this.buffer.length >= this.capacity) {
      this.drop([row], 'overflow');
      return;
    }
    this.buffer.push(row);
    if (this.buffer.length >= this.batchRows) {
      if (!this.writing) this.startWrite();
    } else if (this.timer === undefined && !this.writing) {
      this.timer = setTimeout(() => this.startWrite(), this.flushMs);
      this.timer.unref();
    }
  }

  /** Writes everything buffered now (and waits for a write in flight first). */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
    if (this.buffer.length > 0) {
      this.startWrite();
      await this.writing;
    }
  }

  /**
   * Writes what is buffered (waiting at most `waitMs`: the database may be away), then records nothing more;
   * rows recorded afterwards, or still buffered after the wait, are dropped and counted.
   */
  async close(waitMs = 5000): Promise<void> {
    let timeout: NodeJS.Timeout | undefined;
    await Promise.race([this.flush(), new Promise<void>((resolve) => (timeout = setTimeout(resolve, waitMs)))]);
    clearTimeout(timeout);
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.buffer.length > 0) {
      this.drop(this.buffer, 'overflow');
      this.buffer = [];
    }
  }

  private startWrite(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.writing || this.buffer.length === 0) return;
    const rows = this.buffer.length <= this.batchRows ? this.buffer : this.buffer.slice(0, this.batchRows);
    this.buffer = rows === this.buffer ? [] : this.buffer.slice(this.batchRows);
    this.writing = this.options
      .write(rows)
      .then(
        () => {
          this.written += rows.length;
          const m = this.options.metrics;
          if (m) for (const [labels, n] of countByVariant(rows)) m.impressionsRecordedTotal.inc(labels, n);
        },
        (err: unknown) => {
          this.drop(rows, 'error');
          // One line per 10 s of an outage, not one per batch.
          if (Date.now() - this.lastErrorLog > 10_000) {
            this.lastErrorLog = Date.now();
            this.options.logger?.warn(
              { err, dropped: this.dropped },
              'writing impressions failed: dropped them (counted in reco_impressions_dropped_total)',
            );
          }
        },
      )
      .finally(() => {
        this.writing = undefined;
        // What arrived meanwhile: at once when a batch is full, else after the usual delay.
        if (this.buffer.length >= this.batchRows) this.startWrite();
        else if (this.buffer.length > 0 && this.timer === undefined) {
          this.timer = setTimeout(() => this.startWrite(), this.flushMs);
          this.timer.unref();
        }
      });
  }

  private drop(rows: readonly RecordedImpression[], reason: 'overflow' | 'error'): void {
    this.dropped += rows.length;
    const m = this.options.metrics;
    if (m) for (const [labels, n] of countByVariant(rows)) m.impressionsDroppedTotal.inc({ ...labels, reason }, n);
  }
}

function countByVariant(rows: readonly RecordedImpression[]): Map<{ experiment: string; variant: string }, number> {
  const byKey = new Map<string, { labels: { experiment: string; variant: string }; n: number }>();
  for (const r of rows) {
    const experiment = r.experimentName ?? '';
    const variant = r.variant ?? '';
    const key = `${experiment}\u0000${variant}`;
    const hit = byKey.get(key);
    if (hit) hit.n++;
    else byKey.set(key, { labels: { experiment, variant }, n: 1 });
  }
  return new Map([...byKey.values()].map((v) => [v.labels, v.n]));
}
