import type { Logger } from 'pino';
import type { QuotaLimits } from '../core/config.js';
import {
  saveStatedTastes,
  writeHistory,
  type HistoryItem,
  type SavedHistory,
  type WrittenHistory,
} from '../core/db/repositories/api-users.js';
import { storeFeedback, type FeedbackRow, type StoredFeedback } from '../core/db/repositories/feedback.js';
import { storeFeedbackGroup, writeHistoryGroup } from '../core/db/repositories/write-groups.js';
import type { Database } from '../core/db/types.js';
import { cached, type CachedHistory, type HistoryCache, type WriteTicket } from './history-cache.js';
import { withRatings } from './history-writes.js';
import { refusedWrite } from './write-errors.js';

/**
 * Group commit of the API's single writes (docs/api.md, "Durability"). Platforms send feedback one event at a time
 * and histories one rating at a time; each alone is a round trip, a transaction and a commit, whose fixed costs
 * exceed the write's own work. The writes of one client that reach this server in the same turn of the event loop
 * (queued until setImmediate) go to the database as one set-based call and one transaction (migrations 095 and
 * 096), and each request is answered once that transaction has committed, so an answer still means the write is
 * durable.
 *
 * Rules:
 * - Only requests that name one user (a feedback request whose events share a user_id, a history with a user_id)
 *   are grouped, and a group holds one request per user: its users' writes touch disjoint rows, so the one call
 *   stores what the requests one after the other would. A user's next request starts the next group, written
 *   once the one before has finished, so one user's requests are stored in their order. The database functions
 *   lock a group's users in id order, as every writer does, so groups cannot deadlock each other.
 * - The quota is charged once for the group. If the group fails for any reason — a quota over its limit, a movie
 *   just removed, a lost connection — nothing of it is stored and each request is written alone, as without
 *   grouping: a request never fails because it shared a group.
 * - `enabled: false` (RECO_WRITE_GROUPS=off) writes every request alone: the plain path, kept as the reference.
 */
export interface WriteGroupsOptions {
  enabled: boolean;
  /**
   * Requests per group at most (default 16); more that arrive together form further groups, written in parallel
   * on other connections, so that one group's transaction stays short and the database's other cores get work.
   */
  maxGroup?: number;
  logger?: Logger;
}

interface Waiting<Req, Res> {
  request: Req;
  resolve: (out: Res) => void;
  reject: (err: unknown) => void;
}

/**
 * Requests of one kind, queued per client until the end of the event loop's turn, then written as groups of one
 * request per user (a group is one set-based batch).
 */
class Coalescer<Req, Res> {
  private queued = new Map<number, { waiting: Waiting<Req, Res>[]; users: Set<string>; after?: Promise<void> }>();
  private scheduled = false;

  constructor(
    private readonly alone: (clientId: number, request: Req) => Promise<Res>,
    private readonly together: (clientId: number, requests: Req[]) => Promise<Res[]>,
    private readonly userOf: (request: Req) => string,
    private readonly maxGroup: number,
    private readonly logger: Logger | undefined,
  ) {}

  submit(clientId: number, request: Req): Promise<Res> {
    return new Promise((resolve, reject) => {
      let group = this.queued.get(clientId);
      let after: Promise<void> | undefined;
      if (group !== undefined && group.users.has(this.userOf(request))) {
        // The user's earlier request is in the group being formed: that group is written now, and this request
        // starts the next one, written once that has finished, so one user's requests are stored in their order.
        this.queued.delete(clientId);
        after = this.write(clientId, group.waiting, group.after);
        group = undefined;
      }
      if (group === undefined) this.queued.set(clientId, (group = { waiting: [], users: new Set(), after }));
      group.waiting.push({ request, resolve, reject });
      group.users.add(this.userOf(request));
      if (group.waiting.length >= this.maxGroup) {
        this.queued.delete(clientId);
        void this.write(clientId, group.waiting, group.after);
      } else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const queued = this.queued;
    this.queued = new Map();
    for (const [clientId, group] of queued) void this.write(clientId, group.waiting, group.after);
  }

  /** Settles (never rejects) once every request of the queue has its answer. */
  private async write(clientId: number, queue: Waiting<Req, Res>[], after?: Promise<void>): Promise<void> {
    if (after !== undefined) await after;
    if (queue.length === 1) return this.writeAlone(clientId, queue[0]);
    let out: Res[];
    try {
      out = await this.together(
        clientId,
        queue.map((w) => w.request),
      );
    } catch (err) {
      // One after the other, in the group's order: what the group would have stored, less what failed.
      this.logger?.debug({ err, requests: queue.length }, 'a write group failed: writing its requests alone');
      for (const w of queue) await this.writeAlone(clientId, w);
      return;
    }
    queue.forEach((w, i) => w.resolve(out[i]));
  }

  private async writeAlone(clientId: number, w: Waiting<Req, Res>): Promise<void> {
    try {
      w.resolve(await this.alone(clientId, w.request));
    } catch (err) {
      w.reject(err);
    }
  }
}

interface HistoryWrite {
  externalId: string;
  items: readonly HistoryItem[];
}

/**
 * The API's writes, grouped or alone, and the history cache kept in step with them (history-cache.ts: beginWrite,
 * endWrite): what the routes call instead of the repositories. Each write's statement also sends its users'
 * history NOTIFY, tagged with this server's origin, at its commit.
 */
export class WriteGroups {
  private readonly feedback: Coalescer<readonly FeedbackRow[], StoredFeedback>;
  private readonly histories: Coalescer<HistoryWrite, SavedHistory & CachedHistory>;

  constructor(
    private readonly db: Database,
    /** The rating of a view or like (a liked movie). */
    private readonly liked: number,
    private readonly quota: QuotaLimits,
    private readonly cache: HistoryCache,
    private readonly options: WriteGroupsOptions,
  ) {
    const max = options.maxGroup ?? 16;
    const origin = { origin: cache.origin };
    this.feedback = new Coalescer(
      (clientId, rows) =>
        this.storingFeedback(clientId, [rows], () =>
          storeFeedback(db, clientId, rows, liked, quota, origin).then((out) => [out]),
        ).then((out) => out[0]),
      (clientId, requests) =>
        this.storingFeedback(clientId, requests, () =>
          storeFeedbackGroup(db, clientId, requests, liked, quota, origin),
        ),
      (rows) => rows[0].externalId,
      max,
      options.logger,
    );
    this.histories = new Coalescer(
      (clientId, w) => this.writeHistories(clientId, [w]).then((out) => out[0]),
      (clientId, ws) => this.writeHistories(clientId, ws),
      (w) => w.externalId,
      max,
      options.logger,
    );
  }

  /** storeFeedback, grouped with other single-user requests of the client when enabled. */
  storeFeedback(clientId: number, rows: readonly FeedbackRow[]): Promise<StoredFeedback> {
    const oneUser = rows.length > 0 && rows.every((r) => r.externalId === rows[0].externalId);
    if (!this.options.enabled || !oneUser)
      return this.storingFeedback(clientId, [rows], () =>
        storeFeedback(this.db, clientId, rows, this.liked, this.quota, { origin: this.cache.origin }).then((out) => [
          out,
        ]),
      ).then((out) => out[0]);
    return this.feedback.submit(clientId, rows);
  }

  /**
   * A history write (saveHistory's), grouped with other histories of the client when enabled; answers the user's
   * whole history after it, read back or merged into the cached one (writeHistories).
   */
  saveHistory(
    clientId: number,
    externalId: string | undefined,
    items: readonly HistoryItem[],
  ): Promise<SavedHistory & CachedHistory> {
    // A new user without an id is written alone: its id is generated by reco_save_history.
    if (!this.options.enabled || externalId === undefined)
      return this.writeHistories(clientId, [{ externalId, items }]).then((out) => out[0]);
    return this.histories.submit(clientId, { externalId, items });
  }

  /** saveStatedTastes, the user dropped from the history cache once it has committed. */
  saveTastes(clientId: number, externalId: string | undefined, tastes: readonly number[]) {
    return this.tracked(
      clientId,
      externalId === undefined ? [] : [externalId],
      () => saveStatedTastes(this.db, clientId, externalId, tastes, this.quota, { origin: this.cache.origin }),
      (saved) => [{ userId: saved.userId }],
    );
  }

  /** A feedback write of these requests (`write`), the users of its events dropped from the history cache. */
  private storingFeedback(
    clientId: number,
    requests: readonly (readonly FeedbackRow[])[],
    write: () => Promise<StoredFeedback[]>,
  ): Promise<StoredFeedback[]> {
    return this.tracked(
      clientId,
      requests.flatMap((rows) => rows.map((r) => r.externalId)),
      write,
      (out) => out.flatMap((o) => o.changedUsers.map((userId) => ({ userId }))),
    );
  }

  /**
   * Histories of distinct users, alone (reco_save_history) or as one group (reco_save_history_users): a user whose
   * history the cache holds, with no other write of this server to it in flight, is written without its read-back
   * (migration 099) and answered with the cached history and the new ratings merged (withRatings); the others are
   * read back. Either way the answer is kept in the cache when nothing else changed the user meanwhile.
   */
  private writeHistories(
    clientId: number,
    writes: readonly { externalId: string | undefined; items: readonly HistoryItem[] }[],
  ): Promise<(SavedHistory & CachedHistory)[]> {
    const origin = { origin: this.cache.origin };
    return this.tracked(
      clientId,
      writes.flatMap((w) => (w.externalId === undefined ? [] : [w.externalId])),
      async (ticket) => {
        const bases = writes.map((w) =>
          w.externalId === undefined ? undefined : this.cache.base(ticket, w.externalId),
        );
        const out: WrittenHistory[] =
          writes.length === 1
            ? [
                await writeHistory(this.db, clientId, writes[0].externalId, writes[0].items, this.quota, {
                  ...origin,
                  known: bases[0] !== undefined,
                }),
              ]
            : await writeHistoryGroup(
                this.db,
                clientId,
                writes.map((w, i) => ({ externalId: w.externalId!, items: w.items, known: bases[i] !== undefined })),
                this.quota,
                origin,
              );
        return out.map((o, i) => answerOf(o, bases[i], writes[i].items));
      },
      (answers) => answers.map((h) => ({ userId: h.userId, history: h, created: h.created })),
    );
  }

  /**
   * `write` as a write of this server to these users (HistoryCache.beginWrite), its answer applied to the history
   * cache (`written`: the users it changed, with their whole history when it has it). A write the database refused
   * changed nothing; after any other failure its outcome is not known (it may have committed), and its users are
   * dropped.
   */
  private async tracked<T>(
    clientId: number,
    externalIds: readonly string[],
    write: (ticket: WriteTicket) => Promise<T>,
    written: (out: T) => { userId: number; history?: CachedHistory; created?: boolean }[],
  ): Promise<T> {
    const ticket = this.cache.beginWrite(clientId, externalIds);
    let out: T;
    try {
      out = await write(ticket);
    } catch (err) {
      this.cache.endWrite(ticket, refusedWrite(err) ? [] : 'failed');
      throw err;
    }
    this.cache.endWrite(ticket, written(out));
    return out;
  }
}

/** A history write's answer as the user's whole history: read back, or the cached one with the write merged. */
function answerOf(
  out: WrittenHistory,
  base: CachedHistory | undefined,
  items: readonly HistoryItem[],
): SavedHistory & CachedHistory {
  if (!('held' in out)) return { ...cached(out), created: out.created };
  if (base === undefined || base.userId !== out.userId)
    throw new Error(`the write did not read back user ${out.externalId}'s history, which this server does not hold`);
  return { ...withRatings(base, items), created: false };
}
