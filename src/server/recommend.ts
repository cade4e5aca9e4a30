import type { HistoryItem } from '../core/db/repositories/api-users.js';
import type { Recommendation, RecommendOptions } from '../core/models/types.js';
import type { Answer, AnswerKey } from './answer-cache.js';
import { coldStart, hasTastes, tastesVector } from './cold-start.js';
import type { AppContext } from './context.js';
import { explainRecommendations } from './explain.js';
import { excludedByFilter, hasFilter, passes, type MovieFilter } from './filters.js';
import { HttpError } from './http-errors.js';
import type { ExperimentLabel, ServedVariant } from './experiment-holder.js';
import type { CachedHistory } from './history-cache.js';
import { FALLBACK_VERSION, type LoadedModel } from './model-holder.js';
import { recommendationIds } from './recommendation-ids.js';
import { SetUnion } from './id-sets.js';
import { DEFAULT_RATING, type RecommendationRequest, type z } from './schemas.js';
import { publicUserId, userKey } from './user-ids.js';
import { writeError } from './write-errors.js';

export interface RecommendInput {
  clientId: number;
  /** The stored form of the client's user id (user-ids.ts). */
  userId?: string;
  history?: readonly { movie_id: number; rating?: number }[];
  n: number;
  filter?: MovieFilter;
  /** Add `because` or `reason` to each movie (explain.ts). */
  explain?: boolean;
  /** Stated genre tastes of a user without ratings (cold-start.ts). */
  genres?: Record<string, number>;
}

/** A validated request body as recommendFor's input (routes/recommendations.ts, for Express and the fast path). */
export function toRecommendInput(clientId: number, body: z.output<typeof RecommendationRequest>): RecommendInput {
  return {
    clientId,
    userId: body.user_id === undefined ? undefined : userKey(body.user_id),
    history: body.history,
    n: body.n,
    filter: hasFilter(body.filter) ? body.filter : undefined,
    explain: body.explain || undefined,
    genres: body.genres,
  };
}

export interface RecommendOutput {
  user_id: number | string;
  created: boolean;
  model: { algorithm: string; version: string };
  /** Inside a running experiment only. */
  experiment?: ExperimentLabel;
  recommendations: {
    movie_id: number;
    title: string;
    genres: string[];
    score: number;
    because?: { movie_id: number; title: string; weight: number }[];
    reason?: string;
  }[];
  ignored_movie_ids: number[];
  recommendation_id: string;
}

/**
 * The three cases of POST /recommendations: a known user (its stored history, plus a new one stored first),
 * a history alone (a new user), neither (422). The model is chosen once, before anything is read — the user's
 * variant inside a running experiment (experiment-holder.ts), else the active model — and scoring happens in
 * memory on it, so neither a model swap nor an experiment starting or stopping mixes two models in one answer.
 * A known user with nothing new to store is answered from the answer cache (answer-cache.ts) when it holds the
 * answer under the request's key, and the answer made otherwise is put there.
 */
export async function recommendFor(ctx: AppContext, input: RecommendInput): Promise<Answer> {
  const active = ctx.models.current;
  if (!active) throw new HttpError(503, 'no model is loaded yet: try again shortly');
  // A user created by this request (no user_id) gets its variant once its id is known, before scoring.
  let variant = input.userId === undefined ? undefined : ctx.experiments.choose(input.clientId, input.userId);
  let loaded = variant?.model ?? active;
  const given = input.history ?? [];
  if (input.userId === undefined && given.length === 0 && input.genres === undefined) {
    throw new HttpError(422, 'give a user_id, a history, or both (a history without user_id creates a user)');
  }
  if (input.genres !== undefined && given.length > 0) {
    throw new HttpError(422, 'genres: stated tastes are for a user without ratings; send either a history or genres');
  }
  const tastes = input.genres === undefined ? undefined : tastesVector(input.genres);

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
      throw new HttpError(
        422,
        `none of the history's movies is in the catalogue: ${ignored.slice(0, 20).join(', ')}${ignored.length > 20 ? ', …' : ''}`,
      );
    }
  }

  // Read before the filter and the titles are: an answer is kept under a generation no newer than the catalogue
  // it was made from, so no later generation is ever given an older answer.
  const catalogueGeneration = ctx.catalogue.answersGeneration;
  // Before any write: an unknown genre is a 422 that stores nothing.
  const filtered = input.filter ? excludedByFilter(ctx.catalogue, input.filter) : undefined;
  let history: CachedHistory;
  let created = false;
  // The history part of the answer cache's key and of the recommendation_id.
  let fingerprint: string;
  let cacheKey: AnswerKey | undefined;
  if (items.length > 0) {
    const saved = await store(ctx, input.clientId, input.userId, items);
    history = saved;
    fingerprint = historyFingerprint(saved);
    created = saved.created;
    if (input.userId === undefined) {
      variant = ctx.experiments.choose(input.clientId, saved.externalId);
      loaded = variant?.model ?? active;
    }
  } else if (tastes) {
    const saved = await ctx.writes.saveTastes(input.clientId, input.userId, tastes).catch((err: unknown) => {
      throw writeError(ctx.metrics, err, 'the stated tastes');
    });
    created = saved.created;
    if (input.userId === undefined) {
      variant = ctx.experiments.choose(input.clientId, saved.externalId);
      loaded = variant?.model ?? active;
    }
    const found = await ctx.histories.get(input.clientId, saved.externalId);
    if (!found) throw new HttpError(404, `user ${saved.externalId} not found`);
    history = found;
    fingerprint = `${found.fingerprint}:${tastes.join(',')}`;
  } else {
    // A known user with nothing new: the history from memory (exact: see history-cache.ts), else one query;
    // then the answer cache.
    const found = await ctx.histories.get(input.clientId, input.userId!);
    if (!found) throw new HttpError(404, `user ${input.userId} not found`);
    history = found;
    fingerprint = historyFingerprint(found);
    cacheKey = answerKey(input, found.userId, fingerprint, loaded, variant, catalogueGeneration);
    const hit = servedFromCache(ctx, input.clientId, found.userId, loaded, variant, cacheKey);
    if (hit) return hit;
  }
  if (created) ctx.metrics.usersCreatedTotal.inc();
  const labels = { algorithm: loaded.algorithm, version: loaded.version };

  const start = process.hrtime.bigint();
  const stated = history.movieIds.length === 0 ? (tastes ?? history.tastes) : undefined;
  const recs = hasTastes(stated)
    ? coldStart(loaded.model, ctx.catalogue, stated, input.n, exclusions(history.excluded, filtered))
    : loaded.model.recommend(
        { movieIds: history.movieIds, ratings: history.ratings },
        input.n,
        exclusions(history.excluded, filtered),
      );
  ctx.metrics.recommendationDuration.observe(labels, Number(process.hrtime.bigint() - start) / 1e9);
  countServed(ctx, loaded, labels, false, variant);

  let recommendations = await render(ctx, recs);
  if (input.filter) {
    const f = input.filter;
    recommendations = recommendations.filter((m) =>
      passes(m.movie_id, { genres: m.genres, year: ctx.catalogue.get(m.movie_id)?.year ?? null }, f),
    );
  }
  if (input.explain) recommendations = explainRecommendations(loaded.model, ctx.catalogue, history, recommendations);
  const recommendation_id = recommendationIds(ctx).make(input.clientId, [
    history.userId,
    loaded.version,
    input.n,
    input.filter ? JSON.stringify(input.filter) : '',
    input.explain ? 'explain' : '',
    fingerprint,
    // Inside an experiment the id also names it: the same list in two experiments is two impressions.
    ...(variant ? [variant.label.name, variant.label.variant] : []),
  ]);
  const out: RecommendOutput = {
    user_id: publicUserId(history.externalId),
    created,
    model: labels,
    experiment: variant?.label,
    recommendations,
    ignored_movie_ids: ignored,
    recommendation_id,
  };
  const answer: Answer = {
    body: Buffer.from(JSON.stringify(out), 'utf8'),
    recommendationId: recommendation_id,
    movieIds: recommendations.map((m) => m.movie_id),
    labels,
  };
  if (cacheKey !== undefined) ctx.answers.set(cacheKey, answer);
  recordImpression(ctx, input.clientId, history.userId, variant, loaded.version, recommendation_id, answer.movieIds);
  return answer;
}

/**
 * The body of POST /recommendations from the answer cache, without waiting for anything: a known user asking
 * again with nothing new, its history in memory (history-cache.ts) and its answer under this request's key —
 * else undefined (then recommendFor). The API's hot case: a platform refreshing its users' lists. It counts and
 * records what recommendFor counts and records for the same cache hit.
 */
export function cachedRecommendationBody(ctx: AppContext, input: RecommendInput): Buffer | undefined {
  if (input.userId === undefined || (input.history !== undefined && input.history.length > 0) || input.genres)
    return undefined;
  const active = ctx.models.current;
  if (!active) return undefined;
  const found = ctx.histories.peek(input.clientId, input.userId);
  if (!found) return undefined;
  // The model chosen for this user, as recommendFor chooses it.
  const variant = ctx.experiments.choose(input.clientId, input.userId);
  const loaded = variant?.model ?? active;
  const key = answerKey(
    input,
    found.userId,
    historyFingerprint(found),
    loaded,
    variant,
    ctx.catalogue.answersGeneration,
  );
  return servedFromCache(ctx, input.clientId, found.userId, loaded, variant, key)?.body;
}

/** The history part of the answer cache's key and of the recommendation_id: stated tastes count for a user without ratings. */
function historyFingerprint(found: CachedHistory): string {
  return found.tastes ? `${found.fingerprint}:${Array.from(found.tastes).join(',')}` : found.fingerprint;
}

/** The answer cache's key of a known user's request with nothing new to store (answer-cache.ts, AnswerKey). */
function answerKey(
  input: RecommendInput,
  userId: number,
  history: string,
  loaded: LoadedModel,
  variant: ServedVariant | undefined,
  catalogueGeneration: number,
): AnswerKey {
  return {
    clientId: input.clientId,
    userId,
    modelVersion: loaded.version,
    variant: variant ? `${variant.experimentId}/${variant.name}` : '',
    history,
    catalogue: catalogueGeneration,
    n: input.n,
    explain: input.explain === true,
    filter: input.filter ? JSON.stringify(input.filter) : '',
  };
}

/** The answer under `key`, counted and recorded as served (a cache hit), or undefined. */
function servedFromCache(
  ctx: AppContext,
  clientId: number,
  userId: number,
  loaded: LoadedModel,
  variant: ServedVariant | undefined,
  key: AnswerKey,
): Answer | undefined {
  const hit = ctx.answers.get(key);
  if (hit === undefined) return undefined;
  countServed(ctx, loaded, hit.labels, true, variant);
  recordImpression(ctx, clientId, userId, variant, loaded.version, hit.recommendationId, hit.movieIds);
  return hit;
}

/**
 * Queues the impression of a list just served (impressions.ts: a buffer, written off the request path), per
 * --impressions: lists inside a running experiment, every list, or none.
 */
function recordImpression(
  ctx: AppContext,
  clientId: number,
  userId: number,
  variant: ServedVariant | undefined,
  modelVersion: string,
  recommendationId: string,
  movieIds: number[],
): void {
  const recorder = ctx.impressions;
  if (recorder === undefined || (variant === undefined && !ctx.impressionsOfEveryList)) return;
  recorder.record({
    recommendationId,
    shownAt: new Date(),
    clientId,
    userId,
    experimentId: variant ? variant.experimentId : null,
    experimentName: variant ? variant.label.name : null,
    variant: variant ? variant.label.variant : null,
    modelVersion,
    movieIds,
  });
}

/** The models' `exclude` option: the user's dislikes and skips, and what the request's filter leaves out. */
function exclusions(excluded: Int32Array, filtered: ReadonlySet<number> | undefined): RecommendOptions | undefined {
  if (excluded.length === 0) return filtered ? { exclude: filtered } : undefined;
  const own = new Set<number>(excluded);
  return { exclude: filtered ? new SetUnion(filtered, own) : own };
}

/** The counters of one answered request, the same whichever way it was answered. */
function countServed(
  ctx: AppContext,
  loaded: { version: string },
  labels: { algorithm: string; version: string },
  cacheHit: boolean,
  variant: ServedVariant | undefined,
): void {
  const key = `${labels.algorithm} ${labels.version}`;
  if (cacheHit) ctx.metrics.counted.cacheHits.slot(key, () => labels).n++;
  ctx.metrics.counted.recommendations.slot(key, () => labels).n++;
  if (loaded.version === FALLBACK_VERSION) ctx.metrics.recommendationFallbacksTotal.inc();
  variant?.served.inc();
}

type RecommendedMovie = RecommendOutput['recommendations'][number];

/** Titles and genres from the catalogue. */
async function render(ctx: AppContext, recs: readonly Recommendation[]): Promise<RecommendedMovie[]> {
  // Titles from memory; a movie newer than the cached catalogue costs one query for all of them.
  const ids = recs.map((r) => r.movieId);
  const entries = ids.every((id) => ctx.catalogue.get(id)) ? undefined : await ctx.catalogue.lookup(ids);
  const items: RecommendedMovie[] = [];
  for (const r of recs) {
    const e = entries ? entries.get(r.movieId) : ctx.catalogue.get(r.movieId);
    if (!e) continue; // a movie of the model that left the catalogue
    items.push({
      movie_id: r.movieId,
      title: e.title,
      genres: e.genres,
      score: Number.isFinite(r.score) ? r.score : 0,
    });
  }
  return items;
}

async function store(ctx: AppContext, clientId: number, userId: string | undefined, items: HistoryItem[]) {
  try {
    // Committed, with its NOTIFY to the other servers; this server's history cache holds the answer.
    return await ctx.writes.saveHistory(clientId, userId, items);
  } catch (err) {
    throw writeError(ctx.metrics, err, 'the history');
  }
}
