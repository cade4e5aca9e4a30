import { genreProfile } from '../../features/genres.js';
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
  /** The id the client knows (users.external_id). */
  externalId: number;
  movieIds: Int32Array;
  ratings: Float32Array;
}

export interface HistoryItem {
  movieId: number;
  rating: number;
}

/** Advisory-lock namespace (first key) for "next external id of a client"; the second key is the client id. */
const NEXT_EXTERNAL_ID_LOCK = 30;

/**
 * A fingerprint of a user's whole history (count and sum of per-rating hashes), computed by the database from
 * the same rows as the history: equal fingerprints mean an equal history, with a collision chance around 2^-32.
 * hashint8 is stable within one server, which is all an in-memory cache needs.
 */
const FINGERPRINT = `count(r.movie_id)::text || ':' || coalesce(sum(hashint8(r.movie_id::bigint * 16 + (r.rating * 2)::int)), 0)::text`;

/** One indexed query: the user's ratings and their fingerprint, or undefined when this client has no such user. */
export async function findUserHistory(db: Queryable, clientId: number, externalId: number): Promise<(UserHistory & { fingerprint: string }) | undefined> {
  const r = await db.query<{ id: number; movie_ids: number[] | null; ratings: number[] | null; fingerprint: string }>(
    `SELECT u.id,
            array_agg(r.movie_id ORDER BY r.movie_id) FILTER (WHERE r.movie_id IS NOT NULL) AS movie_ids,
            array_agg(r.rating ORDER BY r.movie_id) FILTER (WHERE r.movie_id IS NOT NULL) AS ratings,
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
 * Stores a history in one transaction: creates the user when `externalId` is undefined (the next external id
 * of that client, serialised by an advisory lock so concurrent creations never collide), upserts the ratings
 * (a movie rated again keeps the newest rating), and recomputes the user's genre profile and rating count.
 * Returns the user's whole history after the change, or undefined when `externalId` is not this client's user.
 * With `quota`, the write counts against the client's hourly quota and a write over it stores nothing
 * (QuotaExceededError).
 */
export async function saveHistory(
  db: Database,
  clientId: number,
  externalId: number | undefined,
  items: readonly HistoryItem[],
  quota?: QuotaLimits,
): Promise<SavedHistory | undefined> {
  return db.transaction(async (tx) => {
    let userId: number;
    let ext: number;
    const created = externalId === undefined;
    if (externalId === undefined) {
      await tx.query('SELECT pg_advisory_xact_lock($1, $2)', [NEXT_EXTERNAL_ID_LOCK, clientId]);
      const r = await tx.query<{ id: number; external_id: number }>(
        `INSERT INTO users (client_id, external_id)
         SELECT $1, coalesce(max(external_id), 0) + 1 FROM users WHERE client_id = $1
         RETURNING id, external_id, ${NAME_CHANGED_USER}`,
        [clientId],
      );
      userId = Number(r.rows[0].id);
      ext = Number(r.rows[0].external_id);
    } else {
      // FOR UPDATE: two concurrent histories of one user recompute its profile one after the other.
      const r = await tx.query<{ id: number }>(`SELECT id, ${NAME_CHANGED_USER} FROM users WHERE client_id = $1 AND external_id = $2 FOR UPDATE`, [
        clientId,
        externalId,
      ]);
      if (r.rows.length === 0) return undefined;
      userId = Number(r.rows[0].id);
      ext = externalId;
    }
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
    const profile = genreProfile(all.rows.map((row) => ({ genres: row.genres, rating: Number(row.rating) })));
    await tx.query('UPDATE users SET characteristic = $2::real[], rating_count = $3, updated_at = now() WHERE id = $1', [
      userId,
      Array.from(profile),
      all.rows.length,
    ]);
    if (quota) await chargeQuota(tx, clientId, { users: created ? 1 : 0, ratings: items.length }, quota);
    return {
      userId,
      externalId: ext,
      created,
      movieIds: Int32Array.from(all.rows, (row) => row.movie_id),
      ratings: Float32Array.from(all.rows, (row) => Number(row.rating)),
    };
  });
}

/** Whether the client exists and may use the API (not disabled). */
export async function clientIsActive(db: Queryable, clientId: number): Promise<boolean> {
  const r = await db.query<{ disabled: boolean }>('SELECT disabled FROM clients WHERE id = $1', [clientId]);
  return r.rows.length > 0 && !r.rows[0].disabled;
}
