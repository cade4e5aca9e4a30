import type { QuotaLimits } from '../../config.js';
import { RecoError } from '../../errors.js';
import type { Queryable } from '../types.js';

/** A client wrote more than its hourly quota allows; nothing of that write was kept. */
export class QuotaExceededError extends RecoError {
  constructor(
    readonly what: 'users' | 'ratings',
    readonly limit: number,
    /** Seconds until the current window ends. */
    readonly retryAfterSeconds: number,
  ) {
    super(
      what === 'users'
        ? `this client may create ${limit} users per hour and has reached that; try again in ${retryAfterSeconds} s`
        : `this client may store ${limit} ratings per hour and this history would exceed that; try again in ${retryAfterSeconds} s`,
    );
  }
}

/**
 * Adds a write to the client's count for the current clock hour (migration 052) and throws QuotaExceededError
 * when that goes over a limit; the caller's transaction then rolls back, count included. Meant as the last
 * statement of the writing transaction: the client's counter row stays locked until commit, so concurrent
 * writes of one client (on any replica) queue only for the commit, and never overshoot the limit.
 */
export async function chargeQuota(tx: Queryable, clientId: number, write: { users: number; ratings: number }, limits: QuotaLimits): Promise<void> {
  if (limits.usersPerHour === 0 && limits.ratingsPerHour === 0) return;
  const r = await tx.query<{ users_created: number; ratings_stored: number; reset_in: number }>(
    `INSERT INTO client_quota_usage AS q (client_id, window_start, users_created, ratings_stored)
     VALUES ($1, date_trunc('hour', now()), $2, $3)
     ON CONFLICT (client_id) DO UPDATE SET
       window_start = EXCLUDED.window_start,
       users_created = CASE WHEN q.window_start = EXCLUDED.window_start THEN q.users_created ELSE 0 END + EXCLUDED.users_created,
       ratings_stored = CASE WHEN q.window_start = EXCLUDED.window_start THEN q.ratings_stored ELSE 0 END + EXCLUDED.ratings_stored
     RETURNING users_created, ratings_stored,
               ceil(extract(epoch FROM window_start + interval '1 hour' - clock_timestamp()))::int AS reset_in`,
    [clientId, write.users, write.ratings],
  );
  const row = r.rows[0];
  const retryAfter = Math.max(1, Number(row.reset_in));
  if (limits.usersPerHour > 0 && Number(row.users_created) > limits.usersPerHour) throw new QuotaExceededError('users', limits.usersPerHour, retryAfter);
  if (limits.ratingsPerHour > 0 && Number(row.ratings_stored) > limits.ratingsPerHour) throw new QuotaExceededError('ratings', limits.ratingsPerHour, retryAfter);
}
