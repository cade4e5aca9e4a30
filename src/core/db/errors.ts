import { PgError } from './pg-errors.js';
/**
 * Which failures mean "the database is unreachable or dropped the connection" (the service is down, not the
 * request wrong): the server answers them with 503, the jobs exit with their database-failure code, and
 * `reco serve` retries them at start.
 */

/** Socket errors, and the SQLSTATEs of a shutdown, a terminated backend or a server not accepting connections yet. */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  PgError.ADMIN_SHUTDOWN,
  PgError.CRASH_SHUTDOWN,
  PgError.CANNOT_CONNECT_NOW,
  PgError.CONNECTION_EXCEPTION,
  PgError.UNABLE_TO_CONNECT,
  PgError.CONNECTION_DOES_NOT_EXIST,
  PgError.CONNECTION_FAILURE,
]);

/** node-postgres reports a lost connection in plain messages without a code. */
const UNAVAILABLE_MESSAGE =
  /timeout exceeded when trying to connect|Connection terminated|connection error and is not queryable|Cannot use a pool after calling end|Client was closed and is not queryable/;

export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e: any = err, depth = 0; e && depth < 4; e = e.cause, depth++) {
    if (UNAVAILABLE_CODES.has(e.code)) return true;
    if (UNAVAILABLE_MESSAGE.test(String(e.message ?? ''))) return true;
  }
  return false;
}
