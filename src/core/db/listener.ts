import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Database } from './types.js';

export interface ReconnectingListenerOptions {
  /** How often the listener checks that its LISTEN connection still delivers (default 1 s). */
  heartbeatMs?: number;
  /** Notifications are confirmed to arrive: after the first LISTEN, and again after every reconnection. */
  onUp?: () => void;
  /** Notifications may be missed from now on (the connection was lost or stopped delivering). */
  onDown?: (reason: string) => void;
  logger?: Pick<Logger, 'warn'>;
}

/** Heartbeat payloads start with this; they are never passed on (another replica's are ignored). */
const PING = 'ping:';

/**
 * A LISTEN that survives the loss of its connection (pg_terminate_backend, a PostgreSQL restart, a failover, a
 * dropped TCP connection). It notices a loss two ways: at once when the engine reports the connection's error,
 * and by a heartbeat — a NOTIFY it sends itself every `heartbeatMs` over the ordinary pool — that has not come
 * back for 3 beats (a connection that died without a word). Either way it says `onDown`, LISTENs again on a new
 * connection (retried every 5 beats while the database is away) and says `onUp` once its heartbeat arrives, so
 * the caller can catch up on what it may have missed.
 */
export class ReconnectingListener {
  private live = false;
  private lastBeatAt = 0;
  private beat = 0;
  private readonly beatPrefix = `${PING}${randomBytes(6).toString('hex')}:`;
  private unlisten: (() => Promise<void>) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private relistening = false;
  private listenedAt = 0;
  private stopped = false;
  private firstBeat: (() => void) | undefined;
  /** A failed LISTEN was logged since notifications last arrived (one warning per outage, not one per retry). */
  private warned = false;
  /** Counts LISTEN connections, so that an error of a replaced one is not taken for the current one's. */
  private generation = 0;

  constructor(
    private readonly db: Database,
    readonly channel: string,
    private readonly onNotify: (payload: string) => void,
    private readonly options: ReconnectingListenerOptions = {},
  ) {}

  /** Whether notifications are known to arrive now (a heartbeat of ours came back recently). */
  get active(): boolean {
    return this.live;
  }

  /** LISTEN, then the heartbeat; resolves once the first heartbeat came back (or after 2 s without it). */
  async start(): Promise<void> {
    const heartbeatMs = this.options.heartbeatMs ?? 1000;
    const first = new Promise<void>((resolve) => {
      this.firstBeat = resolve;
      setTimeout(resolve, 2000).unref();
    });
    await this.listen();
    this.timer = setInterval(() => this.tick(heartbeatMs), heartbeatMs);
    this.timer.unref();
    this.sendBeat();
    await first;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    const unlisten = this.unlisten;
    this.unlisten = undefined;
    await unlisten?.().catch(() => {});
  }

  private received(payload: string): void {
    if (!payload.startsWith(PING)) return this.onNotify(payload);
    if (!payload.startsWith(this.beatPrefix)) return; // another replica's heartbeat
    this.lastBeatAt = Date.now();
    if (!this.live) {
      this.live = true;
      this.warned = false;
      this.firstBeat?.();
      this.options.onUp?.();
    }
  }

  private async listen(): Promise<void> {
    this.listenedAt = Date.now();
    const generation = ++this.generation;
    try {
      this.unlisten = await this.db.listen(
        this.channel,
        (p) => this.received(p),
        (err) => {
          if (generation === this.generation) this.lost(`the LISTEN connection failed: ${err.message}`);
        },
      );
      if (this.stopped) await this.stop();
      else this.sendBeat();
    } catch (err) {
      if (!this.warned)
        this.options.logger?.warn({ err, channel: this.channel }, 'cannot LISTEN: retrying until the database answers');
      this.warned = true;
    }
  }

  private sendBeat(): void {
    this.db.query('SELECT pg_notify($1, $2)', [this.channel, `${this.beatPrefix}${++this.beat}`]).catch(() => {});
  }

  private tick(heartbeatMs: number): void {
    if (this.stopped) return;
    const now = Date.now();
    if (this.live && now - this.lastBeatAt > 3 * heartbeatMs) this.lost('notifications stopped arriving');
    else if (!this.live && now - this.listenedAt > 5 * heartbeatMs) this.relisten();
    this.sendBeat();
  }

  private lost(reason: string): void {
    if (this.stopped) return;
    if (this.live) {
      this.live = false;
      this.options.onDown?.(reason);
    }
    this.relisten();
  }

  /** A new LISTEN connection (the old one may be dead without having said so). */
  private relisten(): void {
    if (this.relistening || this.stopped) return;
    this.relistening = true;
    this.generation++;
    const old = this.unlisten;
    this.unlisten = undefined;
    void (old ? old().catch(() => {}) : Promise.resolve())
      .then(() => (this.stopped ? undefined : this.listen()))
      .finally(() => (this.relistening = false));
  }
}
