import { Router, type RequestHandler } from 'express';
import { clientOf } from '../auth.js';
import type { AppContext } from '../context.js';
import { parseInput } from '../http-errors.js';
import { recommendationJson, recommendFor, toRecommendInput } from '../recommend.js';
import { RecommendationRequest } from '../schemas.js';

export function recommendationsRouter(ctx: AppContext, auth: RequestHandler): Router {
  const r = Router();
  r.post('/recommendations', auth, async (req, res) => {
    const body = parseInput(RecommendationRequest, req.body);
    const { clientId } = clientOf(req);
    const out = await recommendFor(ctx, toRecommendInput(clientId, body));
    // What res.json would send (same Content-Type), with the cached list's JSON.
    res.set('Content-Type', 'application/json').send(recommendationJson(out));
  });
  return r;
}
