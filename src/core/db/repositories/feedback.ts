import type { QuotaLimits } from '../../config.js';
import { genreProfileText } from '../../features/genre-profile.js';
import type { Database, Queryable } from '../types.js';
import { chargeQuota } from './quotas.js';
import { lockRatedMovies } from './ratings.js';
import { PgError } from '../pg-errors.js';

/**
 * POST /feedback's writes (migration 072): events stored once by their identity (user, movie, type, time), and
 * their effect on the user — ratings, views and likes into `ratings` (a view or like as a liked movie, which never
 * overwrites a stated rating), dislikes and skips into `user_exclusions` — all in one transaction per batch.
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
  /** users.id of the users whose history or exclusions changed (for the history caches). */
  changedUsers: number[];
  /** Users this batch created. */
  createdUsers: number;
  /** Rating rows written: ratings, and views or likes stored as liked movies. */
  ratingsStored: number;
}

/** Stored as a liked movie, as a history item without a rating (schemas.ts DEFAULT_RATING). */
export const LIKED_RATING = 4;

const POSITIVE = new Set<FeedbackType>(['rating', 'view', 'like']);

/** SQLSTATEs worth one more try of the whole batch: deadlock, serialization failure. */
const RETRYABLE = new Set<unknown>([PgError.DEADLOCK_DETECTED, PgError.SERIALIZATION_FAILURE]);

/**
 * With `quota`, the users created and the ratings, views and likes stored count against the client's hourly quota,
 * and a batch over it stores nothing (QuotaExceededError), as a history of POST /recommendations.
 */
export async function storeFeedback(db: Database, clientId: number, rows: readonly FeedbackRow[], liked = LIKED_RATING, quota?: QuotaLimits): Promise<StoredFeedback> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction(async (tx) => {
        const out = await storeIn(tx, clientId, rows, liked);
        if (quota) await chargeQuota(tx, clientId, { users: out.createdUsers, ratings: out.ratingsStored }, quota);
        return out;
      });
    } catch (err: any) {
      if (attempt >= 3 || !RETRYABLE.has(err?.code)) throw err;
    }
  }
}

async function storeIn(tx: Queryable, clientId: number, rows: readonly FeedbackRow[], liked: number): Promise<StoredFeedback> {
  const externalIds = [...new Set(rows.map((r) => r.externalId))].sort();
  // Unknown ids are created on first use; the users are then locked in id order (as every writer of a user's
  // profile does), so concurrent batches over the same users wait for each other instead of deadlocking.
  const made = await tx.query(
    `INSERT INTO users (client_id, external_id)
     SELECT $1, e FROM unnest($2::text[]) AS e ORDER BY e
     ON CONFLICT (client_id, external_id) DO NOTHING`,
    [clientId, externalIds],
  );
  const users = await tx.query<{ id: number; external_id: string }>(
    'SELECT id, external_id FROM users WHERE client_id = $1 AND external_id = ANY($2::text[]) ORDER BY id FOR UPDATE',
    [clientId, externalIds],
  );
  const idOf = new Map(users.rows.map((u) => [u.external_id, Number(u.id)]));

  const positives = rows.filter((r) => POSITIVE.has(r.type));
  if (positives.length > 0) await lockRatedMovies(tx, [...new Set(positives.map((r) => r.movieId))]);

  const fresh = await tx.query<{ user_id: number; movie_id: number; type: FeedbackType; rating: number | null; at: string }>(
    `INSERT INTO feedback_events (user_id, movie_id, type, occurred_at, rating, recommendation_id)
     SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[], $4::timestamptz[], $5::real[], $6::text[])
     ON CONFLICT DO NOTHING
     RETURNING user_id, movie_id, type, rating, occurred_at::text AS at`,
    [
      rows.map((r) => idOf.get(r.externalId)!),
      rows.map((r) => r.movieId),
      rows.map((r) => r.type),
      rows.map((r) => r.occurredAt),
      rows.map((r) => r.rating),
      rows.map((r) => r.recommendationId),
    ],
  );

  // The effect of the new events, one row per user and movie: the latest rating wins, else a view or like.
  const rated = new Map<string, { user: number; movie: number; rating: number; at: number; atText: string }>();
  const likedPairs = new Map<string, { user: number; movie: number }>();
  const excluded = new Map<string, { user: number; movie: number }>();
  for (const e of fresh.rows) {
    const user = Number(e.user_id);
    const key = `${user}:${e.movie_id}`;
    if (e.type === 'rating') {
      const at = Date.parse(e.at);
      const prev = rated.get(key);
      if (!prev || at >= prev.at) rated.set(key, { user, movie: e.movie_id, rating: Number(e.rating), at, atText: e.at });
    } else if (e.type === 'view' || e.type === 'like') likedPairs.set(key, { user, movie: e.movie_id });
    else excluded.set(key, { user, movie: e.movie_id });
  }
  for (const key of rated.keys()) likedPairs.delete(key);
  const byPair = <T extends { user: number; movie: number }>(xs: Iterable<T>) => [...xs].sort((a, b) => a.user - b.user || a.movie - b.movie);
  const changed = new Set<number>();
  for (const m of [rated, likedPairs, excluded]) for (const v of m.values()) changed.add(v.user);
  const changedUsers = [...changed].sort((a, b) => a - b);
  const storedByType: Partial<Record<FeedbackType, number>> = {};
  for (const e of fresh.rows) storedByType[e.type] = (storedByType[e.type] ?? 0) + 1;
  if (changedUsers.length === 0) return { stored: fresh.rows.length, storedByType, changedUsers, createdUsers: made.rowCount, ratingsStored: 0 };

  // Names the users for the history caches (migrations 031 and 072 read it at their statement's end).
  await tx.query(`SELECT set_config('reco.changed_users', $1, true)`, [changedUsers.join(',')]);
  if (rated.size > 0) {
    const r = byPair(rated.values());
    // An older rating arriving late does not overwrite a newer one.
    await tx.query(
      `INSERT INTO ratings (user_id, movie_id, rating, rated_at)
       SELECT * FROM unnest($1::bigint[], $2::int[], $3::real[], $4::timestamptz[])
       ON CONFLICT (user_id, movie_id) DO UPDATE SET rating = EXCLUDED.rating, rated_at = EXCLUDED.rated_at
       WHERE ratings.rated_at <= EXCLUDED.rated_at`,
      [r.map((x) => x.user), r.map((x) => x.movie), r.map((x) => x.rating), r.map((x) => x.atText)],
    );
  }
  if (likedPairs.size > 0) {
    const l = byPair(likedPairs.values());
    await tx.query(
      `INSERT INTO ratings (user_id, movie_id, rating, rated_at)
       SELECT u, m, $3, now() FROM unnest($1::bigint[], $2::int[]) AS t(u, m)
       ON CONFLICT (user_id, movie_id) DO NOTHING`,
      [l.map((x) => x.user), l.map((x) => x.movie), liked],
    );
  }
  if (excluded.size > 0) {
    const x = byPair(excluded.values());
    await tx.query(
      `INSERT INTO user_exclusions (user_id, movie_id)
       SELECT * FROM unnest($1::bigint[], $2::int[])
       ON CONFLICT (user_id, movie_id) DO NOTHING`,
      [x.map((v) => v.user), x.map((v) => v.movie)],
    );
  }
  if (rated.size > 0 || likedPairs.size > 0) await recomputeProfiles(tx, [...new Set([...rated.values(), ...likedPairs.values()].map((v) => v.user))].sort((a, b) => a - b));
  return { stored: fresh.rows.length, storedByType, changedUsers, createdUsers: made.rowCount, ratingsStored: rated.size + likedPairs.size };
}

/**
 * The genre profile and rating count of these users from all of their ratings, computed here by genreProfileText (as
 * the history path does: one read and one UPDATE, where the set-based SQL of ingest costs more for a few hundred
 * users).
 */
async function recomputeProfiles(tx: Queryable, users: readonly number[]): Promise<void> {
  const r = await tx.query<{ user_id: number; rating: number; genres: string[] }>(
    'SELECT r.user_id, r.rating, m.genres FROM ratings r JOIN movies m ON m.movie_id = r.movie_id WHERE r.user_id = ANY($1::bigint[])',
    [users],
  );
  const byUser = new Map<number, { genres: string[]; rating: number }[]>();
  for (const row of r.rows) {
    const id = Number(row.user_id);
    let list = byUser.get(id);
    if (!list) byUser.set(id, (list = []));
    list.push({ genres: row.genres, rating: Number(row.rating) });
  }
  const ids: number[] = [];
  const vectors: string[] = [];
  const counts: number[] = [];
  for (const [id, items] of byUser) {
    ids.push(id);
    vectors.push(genreProfileText(items));
    counts.push(items.length);
  }
  await tx.query(
    `UPDATE users u SET characteristic = t.v::real[], rating_count = t.n, updated_at = now()
       FROM unnest($1::bigint[], $2::text[], $3::int[]) AS t(id, v, n) WHERE u.id = t.id`,
    [ids, vectors, counts],
  );
}
