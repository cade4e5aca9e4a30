import type { Logger } from 'pino';
import { ReconnectingListener } from '../core/db/listener.js';
import {
  findUserHistory,
  HISTORY_CHANNEL,
  notifyHistoryChanged,
  type UserHistory,
} from '../core/db/repositories/api-users.js';
import type { Database } from '../core/db/types.js';

/** The channel of migration 031's triggers and of `changed`: '*' or comma-separated users.id whose ratings changed. */
export { HISTORY_CHANNEL };

export type CachedHistory = UserHistory & { fingerprint: string };

/**
 * What an entry costs, so that the bound is in bytes: most API users have a handful of ratings, and an entry's
 * fixed part (its objects, map slots, typed-array headers, ids) then outweighs its ratings by 100 to 1.
 */
export const ENTRY_FIXED_BYTES = 900;

export function entryBytes(h: CachedHistory): number {
  return (
    ENTRY_FIXED_BYTES +
    2 * (h.externalId.length + h.fingerprint.length) +
    h.movieIds.byteLength +
    h.ratings.byteLength +
    h.excluded.byteLength +
    (h.tastes?.byteLength ?? 0)
  );
}

interface Slot {
  history: CachedHistory;
  clientId: number;
  /** The value of `clock` when the slot last moved to the young end of `order`. */
  moved: number;
}

export interface HistoryCacheOptions {
  /** Bytes held at most, over all cached users, as `entryBytes` counts them; 0 turns the cache off. */
  capacityBytes: number;
  /** How often the server checks that its LISTEN connection still delivers (default 1 s). */
  heartbeatMs?: number;
  /**
   * The least time between two NOTIFYs of this server's writes (default 2 ms). Idle, a write's NOTIFY goes at once;
   * busy, one NOTIFY names the users of every write that committed meanwhile. Each NOTIFY is a transaction that
   * wakes every listening server, and sent one per write it was more work than the write: under 16 connections of
   * single writes, 7,000 NOTIFYs for 8,100 writes, and 0.11 ms of this server's CPU per write.
   */
  notifyIntervalMs?: number;
  logger?: Logger;
}

/**
 * Users' histories in memory, so that a known user's request needs no query. Exact, not time-based: an entry is
 * dropped when the history changes — by this server's own writes at once (`changed`), by other replicas through the
 * NOTIFY their `changed` sends after the write's commit and before its answer, by any other writer (ingest,
 * restores, SQL) through the NOTIFY of migration 031's triggers, delivered at their commit.
 *
 * Races: a load that was in flight while any invalidation arrived is answered but not kept (`epoch`), because it
 * may have read the rows before that commit. If the LISTEN connection is lost or stops delivering
 * (ReconnectingListener: the connection's error, or a heartbeat NOTIFY the server sends itself), the cache empties
 * and is bypassed until notifications flow again: the stale window is then at most 3 heartbeats, otherwise the
 * time a NOTIFY takes to arrive (milliseconds).
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
  /** Notifications are known to arrive (the listener's heartbeat came back recently). */
  private live = false;
  private listener: ReconnectingListener | undefined;
  /** Users changed by this server's writes that the next NOTIFY names, and the writes waiting for it. */
  private unsent = new Set<number>();
  private waiting: (() => void)[] = [];
  private sending = false;
  /** When the last NOTIFY of `changed` was sent (performance.now()). */
  private lastSent = -Infinity;

  constructor(
    private readonly db: Database,
    private readonly options: HistoryCacheOptions,
  ) {}

  get enabled(): boolean {
    return this.options.capacityBytes > 0;
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
    const { logger } = this.options;
    this.listener = new ReconnectingListener(this.db, HISTORY_CHANNEL, (p) => this.onNotify(p), {
      heartbeatMs: this.options.heartbeatMs,
      logger,
      onUp: () => {
        // Loads that started before notifications were confirmed are not kept.
        this.epoch++;
        this.live = true;
      },
      onDown: (reason) => {
        this.live = false;
        this.invalidateAll();
        logger?.warn(`history-change notifications stopped arriving (${reason}): history cache off until they do`);
      },
    });
    await this.listener.start();
  }

  async stop(): Promise<void> {
    this.dropAll();
    await this.listener?.stop();
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

  /**
   * This server committed a write to these users' histories (migration 073's functions, which leave the NOTIFY to
   * their caller): they are dropped here at once, and the other servers are told by one NOTIFY, shared by the
   * writes that commit while one is being sent or within `notifyIntervalMs` of the last. Resolves once it was sent, so a write's answer comes after it; a
   * failure to send is logged (the write stays committed; its retry by the client sends it again).
   */
  changed(userIds: Iterable<number>): Promise<void> {
    for (const id of userIds) {
      this.invalidateUser(id);
      this.unsent.add(id);
    }
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      if (!this.sending) void this.send();
    });
  }

  private async send(): Promise<void> {
    this.sending = true;
    while (this.waiting.length > 0) {
      const wait = this.lastSent + (this.options.notifyIntervalMs ?? 2) - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      this.lastSent = performance.now();
      const users = this.unsent;
      const waiting = this.waiting;
      this.unsent = new Set();
      this.waiting = [];
      try {
        await notifyHistoryChanged(this.db, users);
      } catch (err) {
        this.options.logger?.error(
          { err, users: users.size },
          'could not send the history-change NOTIFY: other servers may answer from stale histories',
        );
      }
      for (const done of waiting) done();
    }
    this.sending = false;
  }

  /** This server changed the user's history (the next read must not wait for any NOTIFY). */
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
    this.held += entryBytes(h);
    for (const oldest of this.order) {
      if (this.held <= this.options.capacityBytes || this.order.size <= 1) break;
      this.remove(oldest);
    }
  }

  private remove(slot: Slot): void {
    if (!this.order.delete(slot)) return;
    const h = slot.history;
    this.byClient.get(slot.clientId)?.delete(h.externalId);
    this.slotOfUser.delete(h.userId);
    this.held -= entryBytes(h);
  }

  private dropAll(): void {
    this.byClient.clear();
    this.order.clear();
    this.slotOfUser.clear();
    this.held = 0;
  }

  private onNotify(payload: string): void {
    if (payload === '*' || payload === '') return this.invalidateAll();
    this.epoch++;
    for (const part of payload.split(',')) {
      const id = Number(part);
      if (!Number.isSafeInteger(id)) return this.invalidateAll();
      const slot = this.slotOfUser.get(id);
      if (slot !== undefined) this.remove(slot);
    }
  }
}
