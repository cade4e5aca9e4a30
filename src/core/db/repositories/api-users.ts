import { genreVocabulary } from '../../features/genre-profile.js';
import { prepared, type PreparedStatement, type Queryable } from '../types.js';
import { float4ArrayOf, int4ArrayOf } from '../binary-arrays.js';
import type { QuotaLimits } from '../../config.js';
import { PgError } from '../pg-errors.js';
import { quotaErrorOf, quotaParams } from './quotas.js';

/**
 * The API's view of a platform's users: always scoped by client, addressed by the external id the client
 * knows. A user of another client is indistinguishable from one that does not exist.
 */
export interface UserHistory {
  /** users.id (internal). */
  userId: number;
  /** The id the client knows (users.external_id): its own id, or the decimal form of an integer id. */
  externalId: string;
  movieIds: Int32Array;
  ratings: Float32Array;
  /** Movies the user disliked or skipped (user_exclusions), never recommended to the user. */
  excluded: Int32Array;
  /** Stated genre tastes (GENRES order, −1…1) of a user without ratings (saveStatedTastes), else undefined. */
  tastes?: Float32Array;
}

export interface HistoryItem {
  movieId: number;
  rating: number;
}

const FIND_USER_HISTORY = prepared(
  `SELECT u.id,
          CASE WHEN u.rating_count = 0 THEN u.characteristic END AS tastes,
          array_send(array_agg(r.movie_id ORDER BY r.movie_id) FILTER (WHERE r.movie_id IS NOT NULL)) AS movie_ids,
          array_send(array_agg(r.rating ORDER BY r.movie_id) FILTER (WHERE r.movie_id IS NOT NULL)) AS ratings,
          array_send((SELECT array_agg(x.movie_id ORDER BY x.movie_id) FROM user_exclusions x WHERE x.user_id = u.id))
            AS excluded
     FROM users u LEFT JOIN ratings r ON r.user_id = u.id
    WHERE u.client_id = $1 AND u.external_id = $2
    GROUP BY u.id`,
);

/**
 * One indexed query: the user's ratings and exclusions, or undefined when this client has no such user (the
 * history cache fingerprints it, src/server/history-cache.ts).
 */
export async function findUserHistory(
  db: Queryable,
  clientId: number,
  externalId: string,
): Promise<UserHistory | undefined> {
  const r = await db.query<{
    id: number;
    movie_ids: Buffer | null;
    ratings: Buffer | null;
    excluded: Buffer | null;
    tastes: number[] | null;
  }>(FIND_USER_HISTORY, [clientId, externalId]);
  const row = r.rows[0];
  if (!row) return undefined;
  const movieIds = int4ArrayOf(row.movie_ids);
  return {
    userId: Number(row.id),
    externalId,
    movieIds,
    ratings: float4ArrayOf(row.ratings),
    excluded: int4ArrayOf(row.excluded),
    tastes: row.tastes && movieIds.length === 0 ? Float32Array.from(row.tastes) : undefined,
  };
}

export interface SavedHistory extends UserHistory {
  created: boolean;
}

/**
 * What a history write answers for a user whose history its caller said it holds (`known`): the user, not its
 * history, which the write did not read (migration 099).
 */
export interface HeldHistory {
  userId: number;
  externalId: string;
  created: false;
  held: true;
}

export type WrittenHistory = SavedHistory | HeldHistory;

/** Options of the API's writes. */
export interface WriteOptions {
  /**
   * The writing server's tag in the history NOTIFY (reco_notify_history, migration 098), so that it can tell its
   * own writes from others'; without it the NOTIFY names the users alone.
   */
  origin?: string;
}

/**
 * The columns to select from what reco_save_history and reco_save_history_users return (migration 099): the
 * history's arrays in binary form (binary-arrays.ts), NULL for a user whose history the caller holds.
 */
export const SAVED_HISTORY_COLUMNS = `user_key, user_external_id, user_created, array_send(history_movie_ids) AS history_movie_ids,
                array_send(history_ratings) AS history_ratings, array_send(excluded_movie_ids) AS excluded_movie_ids`;

/** A row of SAVED_HISTORY_COLUMNS. */
export interface SavedHistoryRow {
  user_key: number;
  user_external_id: string;
  user_created: boolean;
  history_movie_ids: Buffer | null;
  history_ratings: Buffer | null;
  excluded_movie_ids: Buffer | null;
}

export function savedHistoryOf(row: SavedHistoryRow): WrittenHistory {
  const userId = Number(row.user_key);
  if (row.history_movie_ids === null) return { userId, externalId: row.user_external_id, created: false, held: true };
  return {
    userId,
    externalId: row.user_external_id,
    created: row.user_created,
    movieIds: int4ArrayOf(row.history_movie_ids),
    ratings: float4ArrayOf(row.history_ratings),
    excluded: int4ArrayOf(row.excluded_movie_ids),
  };
}

/** A write's whole history, for a caller that did not say it held it. */
export function wholeHistory(w: WrittenHistory): SavedHistory {
  if ('held' in w)
    throw new Error(`the write did not read user ${w.externalId}'s history back: it was said to be held`);
  return w;
}

/** SQLSTATEs worth one more try of the whole write: deadlock, serialization failure. */
const RETRYABLE = new Set<unknown>([PgError.DEADLOCK_DETECTED, PgError.SERIALIZATION_FAILURE]);

/**
 * Stores a history in one statement (reco_save_history, migrations 073 and 099), committed before this resolves: the
 * user is locked, or created when the client does not have it yet (without an id: the client's largest integer
 * id + 1), the ratings upserted (a movie rated again keeps the newest rating; `items` name distinct movies), and the
 * user's genre profile and rating count updated from what changed. Returns the user's whole history after the
 * change. With `quota`, the write counts against the client's hourly quota and a write over it stores nothing
 * (QuotaExceededError); a movie not in the catalogue stores nothing (SQLSTATE 23503). The user is sent on the
 * history channel at the commit (notifyingWrite).
 */
export async function saveHistory(
  db: Queryable,
  clientId: number,
  externalId: string | undefined,
  items: readonly HistoryItem[],
  quota?: QuotaLimits,
  options: WriteOptions = {},
): Promise<SavedHistory> {
  return wholeHistory(await writeHistory(db, clientId, externalId, items, quota, { ...options, known: false }));
}

/**
 * saveHistory for a caller that may hold the user's history already (`known`, src/server/write-groups.ts): then
 * the write does not read it back and answers HeldHistory, unless it created the user.
 */
export async function writeHistory(
  db: Queryable,
  clientId: number,
  externalId: string | undefined,
  items: readonly HistoryItem[],
  quota: QuotaLimits | undefined,
  options: WriteOptions & { known: boolean },
): Promise<WrittenHistory> {
  const params = [
    clientId,
    externalId ?? null,
    items.map((i) => i.movieId),
    items.map((i) => i.rating),
    genreVocabulary(),
    ...quotaParams(quota),
    options.known,
    options.origin ?? null,
  ];
  const r = await retriedWrite(() => db.query<SavedHistoryRow>(SAVE_HISTORY, params));
  return savedHistoryOf(r.rows[0]);
}

/** A one-statement write, tried up to three times on a deadlock or serialization failure; quota errors typed. */
export async function retriedWrite<T>(write: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (err: any) {
      const quotaError = quotaErrorOf(err);
      if (quotaError) throw quotaError;
      if (attempt >= 3 || !RETRYABLE.has(err?.code)) throw err;
    }
  }
}

/** The channel of the history caches (src/server/history-cache.ts): '*' or comma-separated users.id. */
export const HISTORY_CHANNEL = 'reco_history_changed';

/**
 * A statement that calls the write function `call` (a set-returning function of migrations 073–099, which notify
 * nothing themselves) and, in the same statement, sends the users it wrote on the history channel
 * (reco_notify_history, migration 098): `users` is a query over the write's rows `s` that gives their users.id as
 * an array, `origin` the placeholder of the writer's tag (WriteOptions). The NOTIFY is delivered at the write's
 * commit, atomically with it, and needs no transaction of its own. The write's rows come back in the function's
 * order, with the columns `columns`. Prepared: every such write is a statement of the API's request path, made once
 * at module level.
 */
export function notifyingWrite(columns: string, call: string, users: string, origin: string): PreparedStatement {
  return prepared(`WITH s AS MATERIALIZED (SELECT * FROM ${call} WITH ORDINALITY)
SELECT ${columns} FROM s CROSS JOIN (SELECT reco_notify_history((${users}), ${origin}) AS notified) AS n ORDER BY s.ordinality`);
}

const SAVE_HISTORY = notifyingWrite(
  SAVED_HISTORY_COLUMNS,
  'reco_save_history($1::int, $2::text, $3::int[], $4::real[], $5::text[], $6::int, $7::int, $8::boolean)',
  'SELECT array_agg(s.user_key) FROM s',
  '$9::text',
);

const SAVE_TASTES = notifyingWrite(
  'user_key, user_external_id, user_created, stored',
  'reco_save_tastes($1::int, $2::text, $3::real[], $4::int, $5::int)',
  'SELECT array_agg(s.user_key) FROM s',
  '$6::text',
);

/**
 * Stores a user's stated genre tastes (GENRES order, −1…1) as its characteristic vector, creating the user like
 * saveHistory does and charging a created user to the users `quota` (QuotaExceededError over it), in one statement
 * (reco_save_tastes, migrations 093 and 101) committed before this resolves; a user that has ratings keeps the
 * vector computed from them (`stored` false). The user is sent on the history channel at the commit
 * (notifyingWrite), as for a rating.
 */
export async function saveStatedTastes(
  db: Queryable,
  clientId: number,
  externalId: string | undefined,
  tastes: readonly number[],
  quota?: QuotaLimits,
  options: WriteOptions = {},
): Promise<{ userId: number; externalId: string; created: boolean; stored: boolean }> {
  const r = await retriedWrite(() =>
    db.query<{ user_key: number; user_external_id: string; user_created: boolean; stored: boolean }>(SAVE_TASTES, [
      clientId,
      externalId ?? null,
      tastes,
      ...quotaParams(quota),
      options.origin ?? null,
    ]),
  );
  const row = r.rows[0];
  return {
    userId: Number(row.user_key),
    externalId: row.user_external_id,
    created: row.user_created,
    stored: row.stored,
  };
}

/** Whether the client exists and may use the API (not disabled). */
export async function clientIsActive(db: Queryable, clientId: number): Promise<boolean> {
  const r = await db.query<{ disabled: boolean }>('SELECT disabled FROM clients WHERE id = $1', [clientId]);
  return r.rows.length > 0 && !r.rows[0].disabled;
}
