import bytes from 'bytes';
import { MAX_FEEDBACK_EVENTS, MAX_RECOMMENDATION_ID_LENGTH } from './schemas.js';

/** The body limit of every route but those of ROUTE_BODY_LIMITS (body-parser notation). */
export const DEFAULT_BODY_LIMIT = '256kb';

/**
 * The largest event POST /feedback accepts, as JSON.stringify writes it (no spaces, no escapes), in bytes:
 *
 *   {"user_id":"<128 characters>","movie_id":2147483647,"type":"rating","rating":4.5,
 *    "timestamp":"2026-01-02T03:04:05.123456789+05:30","recommendation_id":"<100 characters>"}
 *
 * 12 + 128 + 2 (user_id) + 22 (movie_id) + 16 (type) + 13 (rating) + 13 + 35 + 2 (timestamp: ISO 8601 to the
 * nanosecond with an offset) + 21 + 100 + 2 (recommendation_id) = 366. A longer form of the same values (spaces,
 * \u escapes, more fraction digits than nanoseconds) is valid JSON too, but no client library writes one.
 */
export const LARGEST_FEEDBACK_EVENT_BYTES =
  12 + 128 + 2 + 22 + 16 + 13 + 13 + 35 + 2 + 21 + MAX_RECOMMENDATION_ID_LENGTH + 2;

/** The largest POST /feedback body: `{"events":[` (11), the events and their commas, `]}` (2) = 367,012 bytes. */
export const LARGEST_FEEDBACK_BODY_BYTES = 11 + MAX_FEEDBACK_EVENTS * (LARGEST_FEEDBACK_EVENT_BYTES + 1) - 1 + 2;

/**
 * POST /feedback's body limit: the largest body with room to spare — 512 KB (524,288 bytes), which also holds it
 * indented by 2 or 4 spaces or by tabs (JSON.stringify(body, null, 4): 469,024 bytes).
 */
export const FEEDBACK_BODY_LIMIT = 512 * 1024;

/** Routes whose largest valid body needs more than the default limit (the routes' paths as Express routes them). */
const ROUTE_BODY_LIMITS: ReadonlyMap<string, number> = new Map([['/feedback', FEEDBACK_BODY_LIMIT]]);

/** The body limits of a server: the configured (or default) limit, and the larger ones of some routes. */
export interface BodyLimits {
  /** The limit of every other route, in bytes. */
  readonly default: number;
  /** The limit of the route at `path` (a request's path, without query string), in bytes. */
  of(path: string): number;
}

/**
 * The limits for a configured `bodyLimit` (body-parser notation or bytes): that limit for every route, and for a
 * route of ROUTE_BODY_LIMITS the larger of it and the route's own, so every body its schema accepts fits.
 */
export function bodyLimits(configured: string | number = DEFAULT_BODY_LIMIT): BodyLimits {
  const limit = typeof configured === 'number' ? configured : bytes.parse(configured);
  if (limit === null || !(limit >= 0)) throw new Error(`bodyLimit: ${String(configured)} is not a size`);
  const routes = new Map<string, number>();
  for (const [path, own] of ROUTE_BODY_LIMITS) routes.set(path, Math.max(limit, own));
  return {
    default: limit,
    // As Express's router matches a route: letter case aside, one trailing slash allowed.
    of: (path) => {
      if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
      return routes.get(path.toLowerCase()) ?? limit;
    },
  };
}
