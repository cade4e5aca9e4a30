import type { Logger } from 'pino';
import { ReconnectingListener } from '../core/db/listener.js';
import type { Database } from '../core/db/types.js';

export interface RegistryWatchOptions {
  /** Also re-read every this many ms (a pooler may drop LISTEN); 0 = never. Default 30 s. */
  pollMs?: number;
  heartbeatMs?: number;
  logger?: Logger;
  /** What the notifications announce, for the log line when they stop arriving. */
  what: string;
}

/**
 * Keeps a server's copy of something in the registry fresh: it calls `refreshOnce` at start, on each NOTIFY of
 * `channel` (a LISTEN that reconnects, and re-reads after a reconnect since a notification may have been missed
 * meanwhile) and on a poll. Calls are serialised and a failing one never stops the next. The model holder and the
 * experiment holder share it.
 */
export class RegistryWatch {
  private refreshing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private listener: ReconnectingListener | undefined;
  private stopped = false;

  constructor(
    private readonly db: Database,
    private readonly channel: string,
    private readonly refreshOnce: () => Promise<void>,
    private readonly options: RegistryWatchOptions,
  ) {}

  get isStopped(): boolean {
    return this.stopped;
  }

  async start(): Promise<void> {
    await this.refresh();
    const { logger, what } = this.options;
    this.listener = new ReconnectingListener(this.db, this.channel, () => void this.refresh(), {
      heartbeatMs: this.options.heartbeatMs,
      logger,
      onUp: () => void this.refresh(),
      onDown: (reason) => logger?.warn(`${what} notifications stopped arriving (${reason}): listening again`),
    });
    await this.listener.start();
    const pollMs = this.options.pollMs ?? 30_000;
    if (pollMs > 0) {
      this.timer = setInterval(() => void this.refresh(), pollMs);
      this.timer.unref();
    }
  }

  refresh(): Promise<void> {
    this.refreshing = this.refreshing.then(() => (this.stopped ? undefined : this.refreshOnce())).catch(() => {});
    return this.refreshing;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.listener?.stop();
    await this.refreshing;
  }
}
