import { Router, type RequestHandler } from 'express';
import type { AppContext } from '../context.js';
import { parseInput } from '../http-errors.js';
import { expressJsonRoute, type JsonRoute } from '../json-routes.js';
import { cachedRecommendationBody, recommendFor, toRecommendInput } from '../recommend.js';
import { RecommendationRequest } from '../schemas.js';

/**
 * POST /recommendations: the schema, then the answer — in this tick when the answer cache holds it (a known user
 * with nothing new to store), else recommendFor's.
 */
export const recommendationsRoute: JsonRoute = (ctx, clientId, body) => {
  const request = toRecommendInput(clientId, parseInput(RecommendationRequest, body));
  return cachedRecommendationBody(ctx, request) ?? recommendFor(ctx, request).then((answer) => answer.body);
};

export function recommendationsRouter(ctx: AppContext, auth: RequestHandler): Router {
  const r = Router();
  r.post('/recommendations', auth, expressJsonRoute(ctx, recommendationsRoute));
  return r;
}
