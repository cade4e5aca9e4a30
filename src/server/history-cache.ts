import { createHash, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { ReconnectingListener } from '../core/db/listener.js';
import { findUserHistory, HISTORY_CHANNEL, type UserHistory } from '../core/db/repositories/api-users.js';
import type { Database } from '../core/db/types.js';

/**
 * The channel of migration 031's triggers and of the API's writes (migration 098): '*' or comma-separated users.id
 * whose ratings changed, after `<origin>;` when an API write sent it.
 */
export { HISTORY_CHANNEL };

export type CachedHistory = UserHistory & { fingerprint: string };

/**
 * A fingerprint of a user's whole history and exclusions (the answer cache's key, answer-cache.ts): a hash of the
 * arrays' bytes, so equal histories — read from the database or merged after a write — have equal fingerprints.
 */
export function fingerprintOf(h: Pick<UserHistory, 'movieIds' | 'ratings' | 'excluded'>): string {
  const bytes = (a: Int32Array | Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  return createHash('sha1')
    .update(Uint32Array.of(h.movieIds.length, h.excluded.length))
    .update(bytes(h.movieIds))
    .update(bytes(h.ratings))
    .update(bytes(h.excluded))
    .digest('base64url');
}

/** As the cache keeps it: with its fingerprint. */
export function cached(h: UserHistory): CachedHistory {
  return {
    userId: h.userId,
    externalId: h.externalId,
    movieIds: h.movieIds,
    ratings: h.ratings,
    excluded: h.excluded,
    tastes: h.tastes,
    fingerprint: fingerprintOf(h),
  };
}

/**
 * A write of this server to some users' histories, from before it is sent until its answer is applied
 * (HistoryCache.beginWrite, endWrite).
 */
export interface WriteTicket {
  readonly clientId: number;
  readonly externalIds: readonly string[];
  /** The invalidation count when the write was sent. */
  readonly since: number;
}

/** Invalidations remembered for writes and loads in flight (a write or load older than that is not kept). */
const LOG_SIZE = 4096;

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
  logger?: Logger;
}

/**
 * Users' histories in memory, so that a known user's request needs no query. Exact, not time-based: an entry is
 * dropped when the history changes — by this server's own writes when their answers come (`endWrite`), by other
 * replicas through the NOTIFY their writes send in their own statement, by any other writer (ingest, restores, SQL)
 * through the NOTIFY of migration 031's triggers; each NOTIFY is delivered at its write's commit. This server's own
 * NOTIFYs (tagged with `origin`) are ignored: their writes were accounted for already.
 *
 * Write-through: a write of this server answers the user's whole history after it, and that is kept in the old
 * entry's place — read back by the write, or, when the write started from the cached history (`base`), that history
 * with the write's ratings merged in (history-writes.ts), which the write then need not read back.
 *
 * Races: a load, or a write's answer, is kept only if no invalidation of its user arrived since it was sent
 * (`keeps`), because it may predate that commit; and no write starts from a cached history while another write of
 * this server to the same user is in flight. A write that started from the cached history while another replica's
 * write to the user committed, before that NOTIFY arrived, answers from the history without that write, as a read
 * at that moment would: the staleness of any cached read. If the LISTEN connection is lost or stops delivering
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
  /**
   * Invalidations so far: `logged[n % LOG_SIZE]` is the users.id of the n-th, `allAt` the number of the last that
   * dropped everything. A load or a write's answer is kept only if no invalidation of its user came after it was
   * sent (untouchedSince): it may predate that commit.
   */
  private count = 0;
  private allAt = 0;
  private readonly logged = new Float64Array(LOG_SIZE);
  /** This server's writes in flight, per client and user id (`${clientId}:${externalId}`). */
  private readonly writing = new Map<string, number>();
  /** This server's tag in the NOTIFYs of its writes (WriteOptions.origin), unique per cache. */
  readonly origin = randomBytes(9).toString('base64url');
  /** Notifications are known to arrive (the listener's heartbeat came back recently). */
  private live = false;
  private listener: ReconnectingListener | undefined;

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
        this.allAt = ++this.count;
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
    const since = this.count;
    const found = await findUserHistory(this.db, clientId, externalId);
    if (!found) return undefined;
    const loaded = cached(found);
    if (this.keeps(loaded, since)) this.put(clientId, loaded);
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
   * This server is about to write to these users' histories: until `endWrite`, no other write of this server to
   * them may start from their cached history (`base`).
   */
  beginWrite(clientId: number, externalIds: Iterable<string>): WriteTicket {
    const ids = [...new Set(externalIds)];
    for (const id of ids) {
      const key = `${clientId}:${id}`;
      this.writing.set(key, (this.writing.get(key) ?? 0) + 1);
    }
    return { clientId, externalIds: ids, since: this.count };
  }

  /**
   * The user's cached history, for a write of `ticket` that then need not read it back (migration 099), when the
   * cache holds it, notifications arrive, and no other write of this server to the user is in flight (its answer
   * would change the history under this one); else undefined.
   */
  base(ticket: WriteTicket, externalId: string): CachedHistory | undefined {
    if (!this.live || this.writing.get(`${ticket.clientId}:${externalId}`) !== 1) return undefined;
    return this.peek(ticket.clientId, externalId);
  }

  /**
   * The write of `ticket` has committed (its statement also sent its users' NOTIFY to the other servers): its users
   * are dropped here at once, and each history it gives — the user's whole history after the write — is kept in
   * their place when nothing else changed the user since the write was sent. A user the write `created` under an id
   * the database generated (not one of the ticket's) is kept too: no other write can name it before this answer.
   * `failed`: the write's outcome is not known (committed or not): the ticket's users are dropped, since this
   * server ignores its own NOTIFYs.
   */
  endWrite(
    ticket: WriteTicket,
    written: readonly { userId: number; history?: CachedHistory; created?: boolean }[] | 'failed',
  ): void {
    if (written === 'failed') {
      // Nothing read or written meanwhile is kept either: the users' ids are not all known here.
      this.allAt = ++this.count;
      const users = this.byClient.get(ticket.clientId);
      for (const id of ticket.externalIds) {
        const slot = users?.get(id);
        if (slot !== undefined) this.invalidateUser(slot.history.userId);
      }
    } else {
      for (const w of written) {
        const keep =
          w.history !== undefined &&
          (ticket.externalIds.includes(w.history.externalId)
            ? this.writing.get(`${ticket.clientId}:${w.history.externalId}`) === 1
            : w.created === true) &&
          this.keeps(w.history, ticket.since);
        this.invalidateUser(w.userId);
        if (keep) this.put(ticket.clientId, w.history!);
      }
    }
    for (const id of ticket.externalIds) {
      const key = `${ticket.clientId}:${id}`;
      const n = this.writing.get(key) ?? 0;
      if (n <= 1) this.writing.delete(key);
      else this.writing.set(key, n - 1);
    }
  }

  /** This server changed the user's history (the next read must not wait for any NOTIFY). */
  invalidateUser(userId: number): void {
    this.logged[++this.count % LOG_SIZE] = userId;
    const slot = this.slotOfUser.get(userId);
    if (slot !== undefined) this.remove(slot);
  }

  /** Whether a history read or written since invalidation number `since` may be kept: nothing changed it since. */
  private keeps(h: CachedHistory, since: number): boolean {
    if (!this.live || !this.enabled || this.allAt > since || this.count - since >= LOG_SIZE) return false;
    for (let n = since + 1; n <= this.count; n++) if (this.logged[n % LOG_SIZE] === h.userId) return false;
    return true;
  }

  invalidateAll(): void {
    this.allAt = ++this.count;
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

  /** A NOTIFY on the history channel: '*', or users.id, after `<origin>;` when an API write sent it (migration 098). */
  private onNotify(payload: string): void {
    const mark = payload.indexOf(';');
    if (mark >= 0) {
      // This server's own writes are accounted for when their answers come (endWrite).
      if (payload.slice(0, mark) === this.origin) return;
      payload = payload.slice(mark + 1);
    }
    if (payload === '*' || payload === '') return this.invalidateAll();
    for (const part of payload.split(',')) {
      const id = Number(part);
      if (!Number.isSafeInteger(id)) return this.invalidateAll();
      this.invalidateUser(id);
    }
  }
}
