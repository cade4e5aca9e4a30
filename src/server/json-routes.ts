import type { RequestHandler, Response } from 'express';
import { clientOf } from './auth.js';
import type { AppContext } from './context.js';

/**
 * A plain JSON POST route's logic, written once: the authenticated client's id and the parsed JSON body in, the
 * JSON text of its 200 answer out — at once when everything it needs is in memory, else as a promise — or an
 * error, thrown or rejected, that toHttpError maps (an HttpError with its status and headers). Its Express route
 * (expressJsonRoute) and the fast path (fast-path.ts) both call it, so the two cannot answer differently.
 */
export type JsonRoute = (
  ctx: AppContext,
  clientId: number,
  body: unknown,
) => string | Buffer | Promise<string | Buffer>;

/** The Express handler of a JsonRoute, after the auth middleware: what res.json would send, from the route's JSON. */
export function expressJsonRoute(ctx: AppContext, route: JsonRoute): RequestHandler {
  return async (req, res) => sendJsonText(res, await route(ctx, clientOf(req).clientId, req.body));
}

/** A route's JSON text as Express's res.json sends JSON: the same Content-Type, a 200. */
export function sendJsonText(res: Response, json: string | Buffer): void {
  res.set('Content-Type', 'application/json; charset=utf-8').send(json);
}
