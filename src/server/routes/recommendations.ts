import { Router, type RequestHandler } from 'express';
import { clientOf } from '../auth.js';
import type { AppContext } from '../context.js';
import { parseInput } from '../http-errors.js';
import { recommendFor, toRecommendInput } from '../recommend.js';
import { RecommendationRequest } from '../schemas.js';

export function recommendationsRouter(ctx: AppContext, auth: RequestHandler): Router {
  const r = Router();
  r.post('/recommendations', auth, async (req, res) => {
    const body = parseInput(RecommendationRequest, req.body);
    const { clientId } = clientOf(req);
    const answer = await recommendFor(ctx, toRecommendInput(clientId, body));
    // What res.json would send (the same Content-Type), from the answer's bytes (answer-cache.ts).
    res.set('Content-Type', 'application/json; charset=utf-8').send(answer.body);
  });
  return r;
}
