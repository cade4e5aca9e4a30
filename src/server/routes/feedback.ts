import { Router, type RequestHandler } from 'express';
import type { FeedbackRow } from '../../core/db/repositories/feedback.js';
import type { AppContext } from '../context.js';
import { parseInput } from '../http-errors.js';
import { expressJsonRoute, type JsonRoute } from '../json-routes.js';
import { recommendationIds } from '../recommendation-ids.js';
import { FEEDBACK_TYPES, FeedbackRequest } from '../schemas.js';
import { readFeedbackEvent } from '../feedback-events.js';
import { userKey } from '../user-ids.js';
import { writeError } from '../write-errors.js';

/**
 * POST /feedback: each event is validated on its own; the valid ones are stored in one transaction before the
 * answer, the others come back with their index and reason (nothing is dropped silently).
 */
export const feedbackRoute: JsonRoute = async (ctx, clientId, input) => {
  const body = parseInput(FeedbackRequest, input);
  const receivedAt = new Date().toISOString();
  const rejected: { index: number; reason: string }[] = [];
  const valid: { index: number; row: FeedbackRow }[] = [];
  body.events.forEach((raw, index) => {
    const read = readFeedbackEvent(raw);
    if (!read.ok) {
      rejected.push({ index, reason: read.reason });
      return;
    }
    const e = read.event;
    if (e.recommendation_id !== undefined && !recommendationIds(ctx).belongsTo(clientId, e.recommendation_id)) {
      rejected.push({ index, reason: 'recommendation_id: not an id this API gave you' });
      return;
    }
    const occurredAt =
      e.timestamp === undefined
        ? receivedAt
        : typeof e.timestamp === 'number'
          ? new Date(e.timestamp * 1000).toISOString()
          : e.timestamp;
    valid.push({
      index,
      row: {
        externalId: userKey(e.user_id),
        movieId: e.movie_id,
        type: e.type,
        rating: e.rating ?? null,
        occurredAt,
        recommendationId: e.recommendation_id ?? null,
      },
    });
  });
  const known =
    valid.length > 0 ? await ctx.catalogue.lookup([...new Set(valid.map((v) => v.row.movieId))]) : new Map();
  const rows: FeedbackRow[] = [];
  for (const v of valid) {
    if (known.has(v.row.movieId)) rows.push(v.row);
    else rejected.push({ index: v.index, reason: `movie_id: ${v.row.movieId} is not in the catalogue` });
  }
  rejected.sort((a, b) => a.index - b.index);
  let stored = 0;
  const counter = ctx.metrics.feedbackEventsTotal;
  for (const r of rejected) {
    const type = (body.events[r.index] as { type?: unknown } | null)?.type;
    counter.inc({
      type: (FEEDBACK_TYPES as readonly unknown[]).includes(type) ? String(type) : 'unknown',
      outcome: 'rejected',
    });
  }
  if (rows.length > 0) {
    try {
      const out = await ctx.writes.storeFeedback(clientId, rows);
      stored = out.stored;
      const accepted: Record<string, number> = {};
      for (const row of rows) accepted[row.type] = (accepted[row.type] ?? 0) + 1;
      for (const [type, n] of Object.entries(accepted)) {
        const fresh = out.storedByType[type as keyof typeof out.storedByType] ?? 0;
        if (fresh > 0) counter.inc({ type, outcome: 'stored' }, fresh);
        if (n - fresh > 0) counter.inc({ type, outcome: 'duplicate' }, n - fresh);
      }
      if (out.createdUsers > 0) ctx.metrics.usersCreatedTotal.inc(out.createdUsers);
    } catch (err) {
      throw writeError(ctx.metrics, err, 'the events');
    }
  }
  return JSON.stringify({ accepted: rows.length, duplicates: rows.length - stored, rejected });
};

export function feedbackRouter(ctx: AppContext, auth: RequestHandler): Router {
  const r = Router();
  r.post('/feedback', auth, expressJsonRoute(ctx, feedbackRoute));
  return r;
}
