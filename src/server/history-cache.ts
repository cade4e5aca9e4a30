import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { findUserHistory, type UserHistory } from '../core/db/repositories/api-users.js';
import type { Database } from '../core/db/types.js';

/** The channel of migration 031's triggers: '*' or comma-separated users.id whose ratings changed. */
export const HISTORY_CHANNEL = 'reco_history_changed';

export type CachedHistory = UserHistory & { fingerprint: string };

interface Slot {
  history: CachedHistory;
  clientId: number;
  /** The value of `clock` when the slot last moved to the young end of `order`. */
  moved: number;
}

export interface HistoryCacheOptions {
  /** Ratings held at most, over all cached users (a user without ratings counts as one). */
  capacityRatings: number;
  /** How often the server checks that its LISTEN connection still delivers (default 1 s). */
  heartbeatMs?: number;
  logger?: Logger;
}

/**
 * Users' histories in memory, so that a known user's request needs no query. Exact, not time-based: an entry is
 * dropped when the history changes — by this server's own writes at once (`invalidateUser`), by any other writer
 * (ingest, other replicas, restores) through the NOTIFY of migration 031's triggers, delivered at their commit.
 *
 * Races: a load that was in flight while any invalidation arrived is answered but not kept (`epoch`), because it
 * may have read the rows before that commit. If the LISTEN connection stops delivering (checked by a heartbeat
 * NOTIFY the server sends itself), the cache empties and is bypassed until notifications flow again: the stale
 * window is then at most 3 heartbeats, otherwise the time a NOTIFY takes to arrive (milliseconds).
 * Least-recently-used eviction on a Map (insertion order), approximately: a hit moves its entry to the young end
 * only when it is not among the most recently moved half, so that a busy user costs a lookup, not a delete and a
 * re-insert, on every request.
 */
export class HistoryCache {
  /** Per client, per user id of that client (users.external_id). */
  private readonly byClient = new Map<number, Map<string, Slot>>();
  /** Every slot, least recently used first (a Set keeps insertion order). */
  private readonly order = new Set<Slot>();
  /** Counts moves to the young end; a slot's `moved` says when it last moved. */
  private clock = 0;
  private readonly slotOfUser = new Map<number, Slot>();
  private held = 0;
  private epoch = 0;
  /** Notifications are known to arrive (a heartbeat of ours came back recently). */
  private live = false;
  private lastBeatAt = 0;
  private beat = 0;
  private readonly beatPrefix = `ping:${randomBytes(6).toString('hex')}:`;
  private unlisten: (() => Promise<void>) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private relistening = false;
  private listenedAt = 0;
  private stopped = false;
  private firstBeat: (() => void) | undefined;

  constructor(
    private readonly db: Database,
    private readonly options: HistoryCacheOptions,
  ) {}

  get enabled(): boolean {
    return this.options.capacityRatings > 0;
  }

  get size(): number {
    return this.order.size;
  }

  /** Whether entries are kept now (LISTEN confirmed); false while it is not, and then every get reads the database. */
  get active(): boolean {
    return this.live;
  }

  /** LISTEN, then the heartbeat; resolves once the first heartbeat came back (or after 2 s without it). */
  async start(): Promise<void> {
    if (!this.enabled) return;
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
    this.dropAll();
    await this.unlisten?.().catch(() => {});
  }

  /** The user's history (cached, else one query), or undefined when this client has no such user. */
  async get(clientId: number, externalId: string): Promise<CachedHistory | undefined> {
    const hit = this.peek(clientId, externalId);
    if (hit) return hit;
    const epoch = this.epoch;
    const loaded = await findUserHistory(this.db, clientId, externalId);
    // Kept only if no invalidation arrived meanwhile: the read may predate that commit.
    if (loaded && this.live && this.enabled && epoch === this.epoch) this.put(clientId, loaded);
    return loaded;
  }

  /** The user's history when it is in memory (marked as recently used), else undefined: never a query. */
  peek(clientId: number, externalId: string): CachedHistory | undefined {
    const slot = this.byClient.get(clientId)?.get(externalId);
    if (slot === undefined) return undefined;
    if (this.clock - slot.moved >= this.order.size >>> 1) {
      this.order.delete(slot);
      this.order.add(slot);
      slot.moved = ++this.clock;
    }
    return slot.history;
  }

  /** This server changed the user's history (the NOTIFY will follow; the next read must not wait for it). */
  invalidateUser(userId: number): void {
    this.epoch++;
    const slot = this.slotOfUser.get(userId);
    if (slot !== undefined) this.remove(slot);
  }

  invalidateAll(): void {
    this.epoch++;
    this.dropAll();
  }

  private put(clientId: number, h: CachedHistory): void {
    let users = this.byClient.get(clientId);
    if (users === undefined) this.byClient.set(clientId, (users = new Map()));
    const previous = users.get(h.externalId) ?? this.slotOfUser.get(h.userId);
    if (previous) this.remove(previous);
    const slot: Slot = { history: h, clientId, moved: ++this.clock };
    users.set(h.externalId, slot);
    this.order.add(slot);
    this.slotOfUser.set(h.userId, slot);
    this.held += Math.max(1, h.movieIds.length);
    for (const oldest of this.order) {
      if (this.held <= this.options.capacityRatings || this.order.size <= 1) break;
      this.remove(oldest);
    }
  }

  private remove(slot: Slot): void {
    if (!this.order.delete(slot)) return;
    const h = slot.history;
    this.byClient.get(slot.clientId)?.delete(h.externalId);
    this.slotOfUser.delete(h.userId);
    this.held -= Math.max(1, h.movieIds.length);
  }

  private dropAll(): void {
    this.byClient.clear();
    this.order.clear();
    this.slotOfUser.clear();
    this.held = 0;
  }

  private onNotify(payload: string): void {
    if (payload.startsWith('ping:')) {
      if (!payload.startsWith(this.beatPrefix)) return; // another replica's heartbeat
      this.lastBeatAt = Date.now();
      if (!this.live) {
        // Loads that started before notifications were confirmed are not kept.
        this.epoch++;
        this.live = true;
        this.firstBeat?.();
      }
      return;
    }
    if (payload === '*' || payload === '') return this.invalidateAll();
    this.epoch++;
    for (const part of payload.split(',')) {
      const id = Number(part);
      if (!Number.isSafeInteger(id)) return this.invalidateAll();
      const slot = this.slotOfUser.get(id);
      if (slot !== undefined) this.remove(slot);
    }
  }

  private async listen(): Promise<void> {
    this.listenedAt = Date.now();
    try {
      this.unlisten = await this.db.listen(HISTORY_CHANNEL, (p) => this.onNotify(p));
    } catch (err) {
      this.options.logger?.warn({ err }, 'cannot LISTEN for history changes: the history cache stays off until it can');
    }
  }

  private sendBeat(): void {
    this.db.query('SELECT pg_notify($1, $2)', [HISTORY_CHANNEL, `${this.beatPrefix}${++this.beat}`]).catch(() => {});
  }

  private tick(heartbeatMs: number): void {
    if (this.stopped) return;
    const now = Date.now();
    if (this.live && now - this.lastBeatAt > 3 * heartbeatMs) {
      this.live = false;
      this.invalidateAll();
      this.options.logger?.warn('history-change notifications stopped arriving: history cache off until they do');
      this.relisten();
    } else if (!this.live && now - this.listenedAt > 5 * heartbeatMs) {
      this.relisten();
    }
    this.sendBeat();
  }

  /** A new LISTEN connection (the old one may be dead without having said so). */
  private relisten(): void {
    if (this.relistening) return;
    this.relistening = true;
    const old = this.unlisten;
    this.unlisten = undefined;
    void (old ? old().catch(() => {}) : Promise.resolve())
      .then(() => (this.stopped ? undefined : this.listen()))
      .finally(() => (this.relistening = false));
  }
}
