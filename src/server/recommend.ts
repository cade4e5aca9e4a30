import { findUserFingerprint, findUserHistory, saveHistory, type HistoryItem } from '../core/db/repositories/api-users.js';
import type { Recommendation } from '../core/models/types.js';
import type { AppContext } from './context.js';
import { HttpError } from './http-errors.js';
import { FALLBACK_VERSION } from './model-holder.js';
import { RecommendationCache } from './recommendation-cache.js';
import { DEFAULT_RATING } from './schemas.js';

const EMPTY_IDS = new Int32Array(0);
const EMPTY_RATINGS = new Float32Array(0);

export interface RecommendInput {
  clientId: number;
  userId?: number;
  history?: readonly { movie_id: number; rating?: number }[];
  n: number;
}

export interface RecommendOutput {
  user_id: number;
  created: boolean;
  model: { algorithm: string; version: string };
  recommendations: { movie_id: number; title: string; genres: string[]; score: number }[];
  ignored_movie_ids: number[];
}

/**
 * The three cases of POST /recommendations: a known user (its stored history, plus a new one stored first),
 * a history alone (a new user), neither (422). Scoring happens in memory on the model read once at the start,
 * so a model swap in the middle cannot mix two models in one answer.
 */
export async function recommendFor(ctx: AppContext, input: RecommendInput): Promise<RecommendOutput> {
  const loaded = ctx.models.current;
  if (!loaded) throw new HttpError(503, 'no model is loaded yet: try again shortly');
  const given = input.history ?? [];
  if (input.userId === undefined && given.length === 0) {
    throw new HttpError(422, 'give a user_id, a history, or both (a history without user_id creates a user)');
  }

  // Last rating of a movie wins within one request.
  const byMovie = new Map<number, number>();
  for (const h of given) byMovie.set(h.movie_id, h.rating ?? DEFAULT_RATING);
  const ignored: number[] = [];
  const items: HistoryItem[] = [];
  if (byMovie.size > 0) {
    const known = await ctx.catalogue.lookup([...byMovie.keys()]);
    for (const [movieId, rating] of byMovie) {
      if (known.has(movieId)) items.push({ movieId, rating });
      else ignored.push(movieId);
    }
    if (items.length === 0) {
      throw new HttpError(422, `none of the history's movies is in the catalogue: ${ignored.slice(0, 20).join(', ')}${ignored.length > 20 ? ', …' : ''}`);
    }
  }

  const labels = { algorithm: loaded.algorithm, version: loaded.version };
  let history: { externalId: number; movieIds: Int32Array; ratings: Float32Array };
  let created = false;
  let recs: Recommendation[] | undefined;
  let cacheKey: string | undefined;
  if (items.length > 0) {
    const saved = await store(ctx, input.clientId, input.userId, items);
    if (!saved) throw new HttpError(404, `user ${input.userId} not found`);
    history = saved;
    created = saved.created;
  } else {
    // A known user with nothing new: the cached list when the history has not changed since.
    const fp = await findUserFingerprint(ctx.db, input.clientId, input.userId!);
    if (!fp) throw new HttpError(404, `user ${input.userId} not found`);
    recs = ctx.recommendations.get(RecommendationCache.key(loaded.version, fp.userId, input.n, fp.fingerprint));
    if (recs) {
      ctx.metrics.recommendationCacheHitsTotal.inc(labels);
      history = { externalId: input.userId!, movieIds: EMPTY_IDS, ratings: EMPTY_RATINGS };
    } else {
      const found = await findUserHistory(ctx.db, input.clientId, input.userId!);
      if (!found) throw new HttpError(404, `user ${input.userId} not found`);
      history = found;
      cacheKey = RecommendationCache.key(loaded.version, found.userId, input.n, found.fingerprint);
    }
  }
  if (created) ctx.metrics.usersCreatedTotal.inc();

  if (!recs) {
    const start = process.hrtime.bigint();
    recs = loaded.model.recommend({ movieIds: history.movieIds, ratings: history.ratings }, input.n);
    ctx.metrics.recommendationDuration.observe(labels, Number(process.hrtime.bigint() - start) / 1e9);
    if (cacheKey) ctx.recommendations.set(cacheKey, recs);
  }
  ctx.metrics.recommendationsTotal.inc(labels);
  if (loaded.version === FALLBACK_VERSION) ctx.metrics.recommendationFallbacksTotal.inc();

  const entries = await ctx.catalogue.lookup(recs.map((r) => r.movieId));
  const recommendations = [];
  for (const r of recs) {
    const e = entries.get(r.movieId);
    if (!e) continue; // a movie of the model that left the catalogue
    recommendations.push({ movie_id: r.movieId, title: e.title, genres: e.genres, score: Number.isFinite(r.score) ? r.score : 0 });
  }
  return { user_id: history.externalId, created, model: labels, recommendations, ignored_movie_ids: ignored };
}

async function store(ctx: AppContext, clientId: number, userId: number | undefined, items: HistoryItem[]) {
  try {
    return await saveHistory(ctx.db, clientId, userId, items);
  } catch (err: any) {
    // A movie removed from the catalogue after it was cached: nothing was stored (one transaction).
    if (err?.code === '23503') throw new HttpError(422, 'a movie of the history is no longer in the catalogue: nothing was stored; retry');
    throw err;
  }
}
