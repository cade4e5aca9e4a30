import type { QuotaLimits } from '../../config.js';
import { genreVocabulary } from '../../features/genre-profile.js';
import type { Database } from '../types.js';
import { savedHistoryOf, type HistoryItem, type SavedHistory, type SavedHistoryRow } from './api-users.js';
import { storedFeedbackOf, type FeedbackRow, type StoredFeedback, type StoredFeedbackRow } from './feedback.js';
import { quotaErrorOf, quotaParams } from './quotas.js';

/**
 * Several requests' writes of one client in one call and one transaction (migration 092): each request stores what
 * storeFeedback or saveHistory would store for it alone, one after the other in the order given, and the answers
 * come back in that order. The group is all or nothing: on any error (a quota over its limit included) nothing is
 * stored and the caller writes each request alone (src/server/write-groups.ts).
 */

/** Where each request's items start in the concatenated arrays (1-based, as PostgreSQL's array slices). */
function starts(lengths: readonly number[]): number[] {
  const out: number[] = [];
  let next = 1;
  for (const n of lengths) {
    out.push(next);
    next += n;
  }
  return out;
}

export async function storeFeedbackGroup(
  db: Database,
  clientId: number,
  requests: readonly (readonly FeedbackRow[])[],
  liked: number,
  quota?: QuotaLimits,
): Promise<StoredFeedback[]> {
  const rows = requests.flat();
  try {
    const r = await db.query<StoredFeedbackRow>(
      `SELECT stored_types, user_ids, created_users, ratings_stored
         FROM reco_store_feedback_group($1::int, $2::int[], $3::text[], $4::int[], $5::text[], $6::timestamptz[], $7::real[], $8::text[], $9::real, $10::text[], $11::int, $12::int)`,
      [
        clientId,
        starts(requests.map((q) => q.length)),
        rows.map((x) => x.externalId),
        rows.map((x) => x.movieId),
        rows.map((x) => x.type),
        rows.map((x) => x.occurredAt),
        rows.map((x) => x.rating),
        rows.map((x) => x.recommendationId),
        liked,
        genreVocabulary(),
        ...quotaParams(quota),
      ],
    );
    return r.rows.map(storedFeedbackOf);
  } catch (err) {
    throw quotaErrorOf(err) ?? err;
  }
}

export async function saveHistoryGroup(
  db: Database,
  clientId: number,
  requests: readonly { externalId: string | undefined; items: readonly HistoryItem[] }[],
  quota?: QuotaLimits,
): Promise<SavedHistory[]> {
  const items = requests.flatMap((q) => q.items);
  try {
    const r = await db.query<SavedHistoryRow>(
      `SELECT user_key, user_external_id, user_created, history_movie_ids, history_ratings, excluded_movie_ids
         FROM reco_save_history_group($1::int, $2::int[], $3::text[], $4::int[], $5::real[], $6::text[], $7::int, $8::int)`,
      [
        clientId,
        starts(requests.map((q) => q.items.length)),
        requests.map((q) => q.externalId ?? null),
        items.map((i) => i.movieId),
        items.map((i) => i.rating),
        genreVocabulary(),
        ...quotaParams(quota),
      ],
    );
    return r.rows.map(savedHistoryOf);
  } catch (err) {
    throw quotaErrorOf(err) ?? err;
  }
}
