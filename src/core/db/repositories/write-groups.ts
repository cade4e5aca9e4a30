import type { QuotaLimits } from '../../config.js';
import { genreVocabulary } from '../../features/genre-profile.js';
import type { Queryable } from '../types.js';
import {
  notifyingWrite,
  SAVED_HISTORY_COLUMNS,
  savedHistoryOf,
  wholeHistory,
  type HistoryItem,
  type SavedHistory,
  type SavedHistoryRow,
  type WriteOptions,
  type WrittenHistory,
} from './api-users.js';
import {
  FEEDBACK_ARGS,
  feedbackParams,
  storedFeedbackOf,
  type FeedbackRow,
  type FeedbackType,
  type StoredFeedback,
} from './feedback.js';
import { quotaErrorOf, quotaParams } from './quotas.js';

/**
 * Several requests' writes of one client in one call and one transaction (migrations 095 and 096): each request
 * stores what storeFeedback or saveHistory would store for it alone, one after the other in the order given, and
 * the answers come back in that order. The group is all or nothing: on any error (a quota over its limit included) nothing is
 * stored and the caller writes each request alone (src/server/write-groups.ts).
 */

/** A group's requests must each name a user, and no user twice: its writes are one set-based batch. */
function distinctUsers(users: readonly (string | undefined)[]): void {
  if (users.some((u) => u === undefined) || new Set(users).size !== users.length)
    throw new Error('a write group takes requests of one named user each, no two of the same user');
}

/** One user's part of a feedback batch (migration 095). */
interface FeedbackUserRow {
  external_id: string;
  user_id: number | string;
  created: boolean;
  stored_types: FeedbackType[];
  ratings_stored: number;
}

const STORE_FEEDBACK_USERS = notifyingWrite(
  'external_id, user_id, created, stored_types, ratings_stored',
  `reco_store_feedback_users(${FEEDBACK_ARGS})`,
  'SELECT array_agg(s.user_id::bigint) FROM s',
  '$12::text',
);

const SAVE_HISTORY_USERS = notifyingWrite(
  SAVED_HISTORY_COLUMNS,
  'reco_save_history_users($1::int, $2::text[], $3::text[], $4::int[], $5::real[], $6::text[], $7::int, $8::int, $9::text[])',
  'SELECT array_agg(s.user_key) FROM s',
  '$10::text',
);

/**
 * Requests of one user each, no two of the same user (src/server/write-groups.ts forms such groups): their events go
 * to reco_store_feedback_users as one batch, whose answer has a row per user, so each request gets its own.
 */
export async function storeFeedbackGroup(
  db: Queryable,
  clientId: number,
  requests: readonly (readonly FeedbackRow[])[],
  liked: number,
  quota?: QuotaLimits,
  options: WriteOptions = {},
): Promise<StoredFeedback[]> {
  const users = requests.map((rows) => rows[0]?.externalId);
  distinctUsers(users);
  if (requests.some((rows, i) => rows.some((r) => r.externalId !== users[i])))
    throw new Error('a feedback group takes requests of one user each');
  let answer: FeedbackUserRow[];
  try {
    answer = (
      await db.query<FeedbackUserRow>(STORE_FEEDBACK_USERS, [
        ...feedbackParams(clientId, requests.flat(), liked, quota),
        options.origin ?? null,
      ])
    ).rows;
  } catch (err) {
    throw quotaErrorOf(err) ?? err;
  }
  const byUser = new Map(answer.map((u) => [u.external_id, u]));
  return users.map((externalId) => {
    const u = byUser.get(externalId as string);
    if (u === undefined) throw new Error(`the feedback group's answer has no row for user ${externalId}`);
    return storedFeedbackOf({
      stored_types: u.stored_types,
      user_ids: [Number(u.user_id)],
      created_users: u.created ? 1 : 0,
      ratings_stored: u.ratings_stored,
    });
  });
}

/**
 * Histories that name their user, no two of the same user (src/server/write-groups.ts forms such groups): one call
 * of reco_save_history_users (migration 099), whose rows come back in the requests' order.
 */
export async function saveHistoryGroup(
  db: Queryable,
  clientId: number,
  requests: readonly { externalId: string; items: readonly HistoryItem[] }[],
  quota?: QuotaLimits,
  options: WriteOptions = {},
): Promise<SavedHistory[]> {
  const written = await writeHistoryGroup(
    db,
    clientId,
    requests.map((q) => ({ ...q, known: false })),
    quota,
    options,
  );
  return written.map(wholeHistory);
}

/**
 * saveHistoryGroup for a caller that may hold some of the users' histories already (`known`,
 * src/server/write-groups.ts): the write does not read those back and answers HeldHistory for them.
 */
export async function writeHistoryGroup(
  db: Queryable,
  clientId: number,
  requests: readonly { externalId: string; items: readonly HistoryItem[]; known: boolean }[],
  quota: QuotaLimits | undefined,
  options: WriteOptions,
): Promise<WrittenHistory[]> {
  distinctUsers(requests.map((q) => q.externalId));
  const items = requests.flatMap((q) => q.items);
  try {
    const r = await db.query<SavedHistoryRow>(SAVE_HISTORY_USERS, [
      clientId,
      requests.map((q) => q.externalId),
      requests.flatMap((q) => q.items.map(() => q.externalId)),
      items.map((i) => i.movieId),
      items.map((i) => i.rating),
      genreVocabulary(),
      ...quotaParams(quota),
      requests.filter((q) => q.known).map((q) => q.externalId),
      options.origin ?? null,
    ]);
    return r.rows.map(savedHistoryOf);
  } catch (err) {
    throw quotaErrorOf(err) ?? err;
  }
}
