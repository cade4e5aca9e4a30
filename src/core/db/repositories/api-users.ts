import { genreProfile } from '../../features/genre-profile.js';
import type { Database, Queryable } from '../types.js';
import type { QuotaLimits } from '../../config.js';
import { chargeQuota } from './quotas.js';
import { lockRatedMovies } from './ratings.js';

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

/** Advisory-lock namespace (first key) for "next external id of a client"; the second key is the client id. */
const NEXT_EXTERNAL_ID_LOCK = 30;

/**
 * The client's largest integer external id, as the expression index of migration 071 holds it (the same
 * expression, so that max() is one index lookup).
 */
const INTEGER_EXTERNAL_ID = `CASE WHEN external_id ~ '^[1-9][0-9]{0,17}$' THEN external_id::bigint END`;

/**
 * A fingerprint of a user's whole history (count and sum of per-rating hashes) and exclusions, computed by the
 * database from the same rows as the history: equal fingerprints mean an equal history, with a collision chance
 * around 2^-32. hashint8 is stable within one server, which is all an in-memory cache needs.
 */
const FINGERPRINT = `count(r.movie_id)::text || ':' || coalesce(sum(hashint8(r.movie_id::bigint * 16 + (r.rating * 2)::int)), 0)::text
            || ':' || coalesce((SELECT count(*)::text || ':' || sum(hashint8(x.movie_id::bigint))::text FROM user_exclusions x WHERE x.user_id = u.id), '0')`;

/** One indexed query: the user's ratings and their fingerprint, or undefined when this client has no such user. */
export async function findUserHistory(db: Queryable, clientId: number, externalId: string): Promise<(UserHistory & { fingerprint: string }) | undefined> {
  const r = await db.query<{ id: number; movie_ids: number[] | null; ratings: number[] | null; excluded: number[] | null; tastes: number[] | null; fingerprint: string }>(
    `SELECT u.id,
            CASE WHEN u.rating_count = 0 THEN u.characteristic END AS tastes,
            array_agg(r.movie_id ORDER BY r.movie_id) FILTER (WHERE r.movie_id IS NOT NULL) AS movie_ids,
            array_agg(r.rating ORDER BY r.movie_id) FILTER (WHERE r.movie_id IS NOT NULL) AS ratings,
            (SELECT array_agg(x.movie_id ORDER BY x.movie_id) FROM user_exclusions x WHERE x.user_id = u.id) AS excluded,
            ${FINGERPRINT} AS fingerprint
       FROM users u LEFT JOIN ratings r ON r.user_id = u.id
      WHERE u.client_id = $1 AND u.external_id = $2
      GROUP BY u.id`,
    [clientId, externalId],
  );
  const row = r.rows[0];
  if (!row) return undefined;
  return {
    userId: Number(row.id),
    externalId,
    movieIds: Int32Array.from(row.movie_ids ?? []),
    ratings: Float32Array.from(row.ratings ?? []),
    excluded: Int32Array.from(row.excluded ?? []),
    tastes: row.tastes && (row.movie_ids ?? []).length === 0 ? Float32Array.from(row.tastes) : undefined,
    fingerprint: row.fingerprint,
  };
}

/**
 * Names the user whose ratings this transaction writes, for the trigger of migration 031: servers' history
 * caches then drop just this user instead of everything. Transaction-local (is_local = true).
 */
const NAME_CHANGED_USER = `set_config('reco.changed_users', id::text, true) AS changed_users`;

export interface SavedHistory extends UserHistory {
  created: boolean;
}

/**
 * The user `externalId` of the client, locked FOR UPDATE (two concurrent writes to one user recompute its profile
 * one after the other) and named as the changed user; created when the client does not have it yet. Without an
 * id, a new user gets the client's largest integer id + 1 (serialised by an advisory lock so concurrent creations
 * never collide).
 */
export async function lockOrCreateUser(tx: Queryable, clientId: number, externalId: string | undefined): Promise<{ userId: number; externalId: string; created: boolean }> {
  if (externalId !== undefined) {
    const found = await tx.query<{ id: number }>(`SELECT id, ${NAME_CHANGED_USER} FROM users WHERE client_id = $1 AND external_id = $2 FOR UPDATE`, [clientId, externalId]);
    if (found.rows.length > 0) return { userId: Number(found.rows[0].id), externalId, created: false };
    // Created on first use; a concurrent request creating the same id wins the race and this one locks its row.
    const made = await tx.query<{ id: number }>(
      `INSERT INTO users (client_id, external_id) VALUES ($1, $2) ON CONFLICT (client_id, external_id) DO NOTHING RETURNING id, ${NAME_CHANGED_USER}`,
      [clientId, externalId],
    );
    if (made.rows.length > 0) return { userId: Number(made.rows[0].id), externalId, created: true };
    const again = await tx.query<{ id: number }>(`SELECT id, ${NAME_CHANGED_USER} FROM users WHERE client_id = $1 AND external_id = $2 FOR UPDATE`, [clientId, externalId]);
    return { userId: Number(again.rows[0].id), externalId, created: false };
  }
  await tx.query('SELECT pg_advisory_xact_lock($1, $2)', [NEXT_EXTERNAL_ID_LOCK, clientId]);
  // A platform may send the very id being generated at the same moment: then the next one is taken.
  for (;;) {
    const r = await tx.query<{ id: number; external_id: string }>(
      `INSERT INTO users (client_id, external_id)
       SELECT $1, (coalesce(max(${INTEGER_EXTERNAL_ID}), 0) + 1)::text FROM users WHERE client_id = $1
       ON CONFLICT (client_id, external_id) DO NOTHING
       RETURNING id, external_id, ${NAME_CHANGED_USER}`,
      [clientId],
    );
    if (r.rows.length > 0) return { userId: Number(r.rows[0].id), externalId: r.rows[0].external_id, created: true };
  }
}

/**
 * Stores a history in one transaction: the user is locked, or created when the client does not have it yet
 * (lockOrCreateUser), the ratings upserted (a movie rated again keeps the newest rating), and the user's genre
 * profile and rating count recomputed. Returns the user's whole history after the change. With `quota`, the
 * write counts against the client's hourly quota and a write over it stores nothing (QuotaExceededError).
 */
export async function saveHistory(
  db: Database,
  clientId: number,
  externalId: string | undefined,
  items: readonly HistoryItem[],
  quota?: QuotaLimits,
): Promise<SavedHistory> {
  return db.transaction(async (tx) => {
    const user = await lockOrCreateUser(tx, clientId, externalId);
    const userId = user.userId;
    if (items.length > 0) {
      // ratings has no foreign keys (migration 011): check and lock the movies as one did (23503 if one is gone).
      await lockRatedMovies(tx, items.map((i) => i.movieId));
      await tx.query(
        `INSERT INTO ratings (user_id, movie_id, rating, rated_at)
         SELECT $1, t.movie_id, t.rating, now() FROM unnest($2::int[], $3::real[]) AS t(movie_id, rating)
         ON CONFLICT (user_id, movie_id) DO UPDATE SET rating = EXCLUDED.rating, rated_at = EXCLUDED.rated_at`,
        [userId, items.map((i) => i.movieId), items.map((i) => i.rating)],
      );
    }
    const all = await tx.query<{ movie_id: number; rating: number; genres: string[] }>(
      `SELECT r.movie_id, r.rating, m.genres FROM ratings r JOIN movies m ON m.movie_id = r.movie_id
        WHERE r.user_id = $1 ORDER BY r.movie_id`,
      [userId],
    );
    const excluded = user.created
      ? { rows: [] }
      : await tx.query<{ movie_id: number }>('SELECT movie_id FROM user_exclusions WHERE user_id = $1 ORDER BY movie_id', [userId]);
    const profile = genreProfile(all.rows.map((row) => ({ genres: row.genres, rating: Number(row.rating) })));
    await tx.query('UPDATE users SET characteristic = $2::real[], rating_count = $3, updated_at = now() WHERE id = $1', [
      userId,
      Array.from(profile),
      all.rows.length,
    ]);
    if (quota) await chargeQuota(tx, clientId, { users: user.created ? 1 : 0, ratings: items.length }, quota);
    return {
      userId,
      externalId: user.externalId,
      created: user.created,
      movieIds: Int32Array.from(all.rows, (row) => row.movie_id),
      ratings: Float32Array.from(all.rows, (row) => Number(row.rating)),
      excluded: Int32Array.from(excluded.rows, (row) => row.movie_id),
    };
  });
}

/**
 * Stores a user's stated genre tastes (GENRES order, −1…1) as its characteristic vector, creating the user like
 * saveHistory does; a user that has ratings keeps the vector computed from them (`stored` false). Servers' history
 * caches hear of it through the history channel of migration 031, as for a rating.
 */
export async function saveStatedTastes(
  db: Database,
  clientId: number,
  externalId: string | undefined,
  tastes: readonly number[],
): Promise<{ userId: number; externalId: string; created: boolean; stored: boolean }> {
  return db.transaction(async (tx) => {
    const user = await lockOrCreateUser(tx, clientId, externalId);
    const r = await tx.query('UPDATE users SET characteristic = $2::real[], updated_at = now() WHERE id = $1 AND rating_count = 0', [user.userId, tastes]);
    await tx.query(`SELECT pg_notify('reco_history_changed', $1)`, [String(user.userId)]);
    return { ...user, stored: r.rowCount > 0 };
  });
}

/** Whether the client exists and may use the API (not disabled). */
export async function clientIsActive(db: Queryable, clientId: number): Promise<boolean> {
  const r = await db.query<{ disabled: boolean }>('SELECT disabled FROM clients WHERE id = $1', [clientId]);
  return r.rows.length > 0 && !r.rows[0].disabled;
}
