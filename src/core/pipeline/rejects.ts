import fs from 'node:fs';
import { stringify } from 'csv-stringify/sync';
import { FileSink } from './file-sink.js';
import { emptyReasonCounts, type ReasonCounts, type RejectReason } from './reasons.js';

/**
 * The rejected rows of one file: no_injected_data/…/<file>.rejected.csv with the source line number, the
 * reason code and the original fields (as many as the line had). Created on the first rejected row only.
 */
export class RejectWriter {
  readonly counts: ReasonCounts = emptyReasonCounts();
  total = 0;
  private sink?: FileSink;

  constructor(
    readonly path: string,
    private readonly header: readonly string[],
  ) {}

  async add(line: number, reason: RejectReason, fields: readonly string[]): Promise<void> {
    this.counts[reason]++;
    this.total++;
    if (!this.sink) {
      this.sink = await FileSink.open(this.path);
      await this.sink.write(stringify([['line', 'reason', ...this.header]]));
    }
    await this.sink.write(stringify([[line, reason, ...fields]]));
  }

  /** Closes the file; with no rejected rows, removes a stale one left by an earlier attempt. */
  async close(): Promise<string | undefined> {
    if (this.sink) {
      await this.sink.close();
      return this.path;
    }
    await fs.promises.rm(this.path, { force: true });
    return undefined;
  }

  async discard(): Promise<void> {
    await this.sink?.discard();
  }
}
