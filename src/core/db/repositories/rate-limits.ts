import type { Queryable } from '../types.js';

/** A key's attempts in its current window (migration 042). */
export interface RateLimitCount {
  hits: number;
  resetAt: Date;
}

const TABLE = 'reco_transient.rate_limit_hits';

/**
 * Counts one attempt, atomically across every process on the database: the first attempt of a window (or the first
 * after it ended) starts a new one of `windowMs`. ON CONFLICT … DO UPDATE takes the row lock, so concurrent attempts
 * from several replicas are all counted.
 */
export async function countRateLimitHit(db: Queryable, key: string, windowMs: number): Promise<RateLimitCount> {
  const r = await db.query<{ hits: number; reset_at: Date }>(
    `INSERT INTO ${TABLE} AS h (key, hits, reset_at) VALUES ($1, 1, now() + make_interval(secs => $2::double precision / 1000))
     ON CONFLICT (key) DO UPDATE
        SET hits     = CASE WHEN h.reset_at <= now() THEN 1 ELSE h.hits + 1 END,
            reset_at = CASE WHEN h.reset_at <= now() THEN EXCLUDED.reset_at ELSE h.reset_at END
     RETURNING hits, reset_at`,
    [key, windowMs],
  );
  return { hits: Number(r.rows[0].hits), resetAt: new Date(r.rows[0].reset_at) };
}

/** The key's count in its current window, or undefined when it has none. */
export async function readRateLimitHits(db: Queryable, key: string): Promise<RateLimitCount | undefined> {
  const r = await db.query<{ hits: number; reset_at: Date }>(
    `SELECT hits, reset_at FROM ${TABLE} WHERE key = $1 AND reset_at > now()`,
    [key],
  );
  const row = r.rows[0];
  return row ? { hits: Number(row.hits), resetAt: new Date(row.reset_at) } : undefined;
}

/** Takes back one attempt of the current window (express-rate-limit's skipSuccessfulRequests and the like). */
export async function uncountRateLimitHit(db: Queryable, key: string): Promise<void> {
  await db.query(`UPDATE ${TABLE} SET hits = hits - 1 WHERE key = $1 AND hits > 0 AND reset_at > now()`, [key]);
}

export async function resetRateLimitKey(db: Queryable, key: string): Promise<void> {
  await db.query(`DELETE FROM ${TABLE} WHERE key = $1`, [key]);
}

/** Forgets windows that have ended (each would restart at its next attempt anyway). */
export async function purgeEndedRateLimitWindows(db: Queryable): Promise<number> {
  const r = await db.query(`DELETE FROM ${TABLE} WHERE reset_at <= now()`);
  return r.rowCount;
}
