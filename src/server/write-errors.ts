import { PgError } from '../core/db/pg-errors.js';
import { QuotaExceededError } from '../core/db/repositories/quotas.js';
import type { RecoMetrics } from '../core/metrics/registry.js';
import { HttpError } from './http-errors.js';

/**
 * What a failed API write (one transaction: nothing of it was stored) answers: a movie removed from the catalogue
 * after it was cached is a 422 to retry, a quota over its limit a 429 with Retry-After (and counted); anything else
 * is returned as it is. `movies` names what held the movie ("the events", "the history").
 */
export function writeError(metrics: RecoMetrics, err: unknown, movies: string): unknown {
  if ((err as { code?: unknown } | null)?.code === PgError.FOREIGN_KEY_VIOLATION)
    return new HttpError(422, `a movie of ${movies} is no longer in the catalogue: nothing was stored; retry`);
  if (err instanceof QuotaExceededError) {
    metrics.quotaRejectionsTotal.inc({ quota: err.what });
    return new HttpError(429, `${err.message}; nothing was stored`, 'quota_exceeded', {
      'Retry-After': String(err.retryAfterSeconds),
    });
  }
  return err;
}

/**
 * Whether the database refused the write — a movie not in the catalogue, a quota over its limit: the refusals
 * writeError answers — so that its statement stored nothing (any other failure may have come after the commit).
 */
export function refusedWrite(err: unknown): boolean {
  return (
    (err as { code?: unknown } | null)?.code === PgError.FOREIGN_KEY_VIOLATION || err instanceof QuotaExceededError
  );
}
