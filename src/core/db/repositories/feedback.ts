import type { QuotaLimits } from '../../config.js';
import { arrayLiteral } from '../array-literal.js';
import { genreVocabulary } from '../../features/genre-profile.js';
import type { Queryable } from '../types.js';
import { notifyingWrite, retriedWrite, type WriteOptions } from './api-users.js';
import { quotaParams } from './quotas.js';

/**
 * POST /feedback's writes (migrations 072 and 073): events stored once by their identity (user, movie, type, time),
 * and their effect on the user — ratings, views and likes into `ratings` (a view or like as a liked movie, which
 * never overwrites a stated rating), dislikes and skips into `user_exclusions` — all in one statement per batch
 * (reco_store_feedback), committed before this resolves.
 */

export type FeedbackType = 'rating' | 'view' | 'like' | 'dislike' | 'skip';

export interface FeedbackRow {
  /** users.external_id of the calling client; created when the client does not have it yet. */
  externalId: string;
  movieId: number;
  type: FeedbackType;
  /** Only for type rating. */
  rating: number | null;
  /** When it happened (ISO 8601). */
  occurredAt: string;
  recommendationId: string | null;
}

export interface StoredFeedback {
  /** Events new to the database (the others were stored before: same identity). */
  stored: number;
  /** The same, by type. */
  storedByType: Partial<Record<FeedbackType, number>>;
  /**
   * users.id of every user of the batch, also when the batch was all duplicates: the write sent them on the history
   * channel at its commit (notifyingWrite), and this server's own history cache drops them at once.
   */
  changedUsers: number[];
  /** Users this batch created. */
  createdUsers: number;
  /** Rating rows written: ratings, and views or likes stored as liked movies. */
  ratingsStored: number;
}

/** What reco_store_feedback returns (migration 073), per request also from a group (migration 092). */
export interface StoredFeedbackRow {
  stored_types: FeedbackType[];
  user_ids: number[] | null;
  created_users: number;
  ratings_stored: number;
}

export function storedFeedbackOf(row: StoredFeedbackRow): StoredFeedback {
  const storedByType: Partial<Record<FeedbackType, number>> = {};
  for (const type of row.stored_types) storedByType[type] = (storedByType[type] ?? 0) + 1;
  return {
    stored: row.stored_types.length,
    storedByType,
    changedUsers: (row.user_ids ?? []).map(Number),
    createdUsers: Number(row.created_users),
    ratingsStored: Number(row.ratings_stored),
  };
}

/** Stored as a liked movie, as a history item without a rating (schemas.ts DEFAULT_RATING). */
export const LIKED_RATING = 4;

/** The arguments of reco_store_feedback and reco_store_feedback_users (migrations 073 and 095), as feedbackParams gives them; $12 is free for the writer's origin. */
export const FEEDBACK_ARGS =
  '$1::int, $2::text[], $3::int[], $4::text[], $5::timestamptz[], $6::real[], $7::text[], $8::real, $9::text[], $10::int, $11::int';

/**
 * The events as the write functions take them: one array per field, in PostgreSQL's text form (arrayLiteral:
 * node-postgres's own serialisation of 500-element arrays cost more).
 */
export function feedbackParams(
  clientId: number,
  rows: readonly FeedbackRow[],
  liked: number,
  quota: QuotaLimits | undefined,
): unknown[] {
  return [
    clientId,
    arrayLiteral(rows.map((r) => r.externalId)),
    arrayLiteral(rows.map((r) => r.movieId)),
    arrayLiteral(rows.map((r) => r.type)),
    arrayLiteral(rows.map((r) => r.occurredAt)),
    arrayLiteral(rows.map((r) => r.rating)),
    arrayLiteral(rows.map((r) => r.recommendationId)),
    liked,
    genreVocabulary(),
    ...quotaParams(quota),
  ];
}

const STORE_FEEDBACK = notifyingWrite(
  'stored_types, user_ids, created_users, ratings_stored',
  `reco_store_feedback(${FEEDBACK_ARGS})`,
  'SELECT array_agg(u) FROM s, unnest(s.user_ids) AS u',
  '$12::text',
);

/**
 * With `quota`, the users created and the ratings, views and likes stored count against the client's hourly quota,
 * and a batch over it stores nothing (QuotaExceededError), as a history of POST /recommendations. A movie that is
 * not in the catalogue stores nothing either (SQLSTATE 23503).
 */
export async function storeFeedback(
  db: Queryable,
  clientId: number,
  rows: readonly FeedbackRow[],
  liked = LIKED_RATING,
  quota?: QuotaLimits,
  options: WriteOptions = {},
): Promise<StoredFeedback> {
  const params = [...feedbackParams(clientId, rows, liked, quota), options.origin ?? null];
  const r = await retriedWrite(() => db.query<StoredFeedbackRow>(STORE_FEEDBACK, params));
  return storedFeedbackOf(r.rows[0]);
}
