import pino, { type DestinationStream, type Logger } from 'pino';
type SonicBoom = ReturnType<typeof pino.destination>;

/**
 * JSON logs. The server logs to stdout (collected by Kubernetes); CLI commands log to stderr so that stdout
 * stays clean for their output and for --json.
 */
export function createLogger(
  options: { level?: string; destination?: 'stdout' | 'stderr'; name?: string } = {},
): Logger {
  const fd = options.destination === 'stdout' ? 1 : 2;
  const sink = pino.destination({ fd, sync: fd === 2 });
  return pino(
    { name: options.name ?? 'reco', level: options.level ?? 'info' },
    fd === 2 ? sink : new BatchedDestination(sink),
  );
}

/**
 * An asynchronous pino destination that hands sonic-boom the lines of up to `flushMs` (or `maxBytes`) at once.
 * Line by line, the server's access log cost more than any other part of a cached request
 * (docs/benchmarks/serve.md): sonic-boom (4.2 and 5.0 alike) measures its whole pending buffer with
 * Buffer.byteLength on every write, and starts a file-system write on libuv's thread pool whenever the previous one
 * has finished — at thousands of requests per second, two thread hand-offs every few requests. Batched, both are
 * paid a few times per second. sonic-boom still does the writing (partial writes, EAGAIN, flushSync); order is
 * kept; what is pending is written at exit, on logger.flush(), and at the latest `flushMs` after it was logged.
 */
export class BatchedDestination implements DestinationStream {
  private lines: string[] = [];
  private pending = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly onExit = () => this.flushSync();

  constructor(
    private readonly sink: SonicBoom,
    private readonly flushMs = 100,
    private readonly maxBytes = 64 * 1024,
  ) {
    // Lines still held must not be lost when the process exits.
    process.once('exit', this.onExit);
  }

  write(line: string): boolean {
    this.lines.push(line);
    this.pending += line.length;
    if (this.pending >= this.maxBytes) this.drain();
    else if (this.timer === undefined) this.timer = setTimeout(this.drain, this.flushMs).unref();
    return true;
  }

  /** Hands the held lines to sonic-boom (pino's logger.flush and the exit hook come through here too). */
  readonly drain = (): void => {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.lines.length === 0) return;
    const text = this.lines.length === 1 ? this.lines[0] : this.lines.join('');
    this.lines = [];
    this.pending = 0;
    this.sink.write(text);
  };

  flush(cb?: (err?: Error) => void): void {
    this.drain();
    this.sink.flush(cb ?? (() => {}));
  }

  flushSync(): void {
    this.drain();
    try {
      this.sink.flushSync();
    } catch {
      // Nothing left to write to (e.g. stdout closed): the lines cannot be saved.
    }
  }

  end(): void {
    process.off('exit', this.onExit);
    this.drain();
    this.sink.end();
  }
}

export type { Logger };
