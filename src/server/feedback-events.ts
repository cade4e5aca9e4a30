import {
  FEEDBACK_TYPES,
  FeedbackEvent,
  type FeedbackEventInput,
  IsoTimestamp,
  MAX_FEEDBACK_TIMESTAMP,
  MAX_RECOMMENDATION_ID_LENGTH,
} from './schemas.js';
import { USER_ID_PATTERN } from './user-ids.js';

/**
 * One event of POST /feedback, read as FeedbackEvent (schemas.ts) reads it: the event, or the reason it is rejected
 * (the first issue, as `path: message`).
 *
 * A batch of 500 events was parsed by zod one event at a time, a large part of the server's time per batch
 * (docs/benchmarks/feedback.md, "Batches"). plainEvent accepts the events that are plainly valid — a plain object
 * with only the schema's keys, each value of the simplest valid form — and returns what FeedbackEvent would;
 * anything else (an invalid event, an unusual but valid one) goes to FeedbackEvent itself, so the answers and the
 * reasons stay the schema's. test/server/feedback-events.test.ts compares both on generated events.
 */
export function readFeedbackEvent(
  raw: unknown,
): { ok: true; event: FeedbackEventInput } | { ok: false; reason: string } {
  const plain = plainEvent(raw);
  if (plain !== undefined) return { ok: true, event: plain };
  const p = FeedbackEvent.safeParse(raw);
  if (p.success) return { ok: true, event: p.data };
  const issue = p.error.issues[0];
  return { ok: false, reason: `${issue.path.length ? issue.path.join('.') : 'event'}: ${issue.message}` };
}

const KEYS = new Set(['user_id', 'movie_id', 'type', 'rating', 'timestamp', 'recommendation_id']);
const TYPES: ReadonlySet<unknown> = new Set(FEEDBACK_TYPES);

const positiveInt = (v: unknown, max: number): v is number =>
  typeof v === 'number' && Number.isSafeInteger(v) && v > 0 && v <= max;

/**
 * The event when it is plainly valid (FeedbackEvent accepts it and gives back the same values), else undefined:
 * then FeedbackEvent decides. Exported for the differential test.
 */
export function plainEvent(raw: unknown): FeedbackEventInput | undefined {
  if (typeof raw !== 'object' || raw === null || Object.getPrototypeOf(raw) !== Object.prototype) return undefined;
  const e = raw as Record<string, unknown>;
  for (const k of Object.keys(e)) if (!KEYS.has(k) || e[k] === undefined) return undefined;
  const { user_id, movie_id, type, rating, timestamp, recommendation_id } = e;
  if (!(
    positiveInt(user_id, Number.MAX_SAFE_INTEGER) ||
    (typeof user_id === 'string' && USER_ID_PATTERN.test(user_id))
  ))
    return undefined;
  if (!positiveInt(movie_id, 2_147_483_647) || !TYPES.has(type)) return undefined;
  if (type === 'rating') {
    if (typeof rating !== 'number' || !(rating >= 0.5 && rating <= 5) || !Number.isInteger(rating * 2))
      return undefined;
  } else if (rating !== undefined) return undefined;
  if (timestamp !== undefined) {
    const ok =
      typeof timestamp === 'number'
        ? Number.isSafeInteger(timestamp) && timestamp >= 0 && timestamp <= MAX_FEEDBACK_TIMESTAMP
        : typeof timestamp === 'string' && IsoTimestamp.safeParse(timestamp).success;
    if (!ok) return undefined;
  }
  if (
    recommendation_id !== undefined &&
    !(typeof recommendation_id === 'string' && recommendation_id.length <= MAX_RECOMMENDATION_ID_LENGTH)
  )
    return undefined;
  const out: FeedbackEventInput = {
    user_id: user_id as number | string,
    movie_id,
    type: type as FeedbackEventInput['type'],
  };
  if (rating !== undefined) out.rating = rating as number;
  if (timestamp !== undefined) out.timestamp = timestamp as number | string;
  if (recommendation_id !== undefined) out.recommendation_id = recommendation_id as string;
  return out;
}
