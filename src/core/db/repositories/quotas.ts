import type { QuotaLimits } from '../../config.js';
import { RecoError } from '../../errors.js';

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

/** The SQLSTATE that reco_charge_quota (migration 073) raises over a limit, its message "quota exceeded: <what> <limit> <seconds>". */
const QUOTA_EXCEEDED = 'RQ001';

/**
 * The limits as the write functions of migration 073 take them (0 = no limit). They count each write against the
 * client's hourly quota in sharded rows (exact for writes one at a time; see the migration for the tolerance of
 * concurrent ones) and roll the whole write back over a limit.
 */
export function quotaParams(limits: QuotaLimits | undefined): [usersPerHour: number, ratingsPerHour: number] {
  return [limits?.usersPerHour ?? 0, limits?.ratingsPerHour ?? 0];
}

/** The QuotaExceededError a write function's error stands for, else undefined. */
export function quotaErrorOf(err: unknown): QuotaExceededError | undefined {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (e?.code !== QUOTA_EXCEEDED || typeof e.message !== 'string') return undefined;
  const m = /quota exceeded: (users|ratings) (\d+) (\d+)/.exec(e.message);
  if (!m) return undefined;
  return new QuotaExceededError(m[1] as 'users' | 'ratings', Number(m[2]), Number(m[3]));
}
