import { saveStatedTastes, type HistoryItem } from '../core/db/repositories/api-users.js';
import { QuotaExceededError } from '../core/db/repositories/quotas.js';
import type { Recommendation, Recommender, RecommendOptions } from '../core/models/types.js';
import { coldStart, hasTastes, tastesVector } from './cold-start.js';
import type { AppContext } from './context.js';
import { explainRecommendations } from './explain.js';
import { excludedByFilter, hasFilter, passes, type MovieFilter } from './filters.js';
import { HttpError } from './http-errors.js';
import type { ExperimentLabel, ServedVariant } from './experiment-holder.js';
import { FALLBACK_VERSION } from './model-holder.js';
import { RecommendationCache } from './recommendation-cache.js';
import { recommendationIds } from './recommendation-ids.js';
import { DEFAULT_RATING, type RecommendationRequest, type z } from './schemas.js';
import { publicUserId, userKey } from './user-ids.js';
import { PgError } from '../core/db/pg-errors.js';

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

/** A validated request body as recommendFor's input (the Express route and the fast path both use this). */
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
 */
export async function recommendFor(ctx: AppContext, input: RecommendInput): Promise<RecommendOutput> {
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

  // Before any write: an unknown genre is a 422 that stores nothing.
  const filtered = input.filter ? excludedByFilter(ctx.catalogue, input.filter) : undefined;
  let history: {
    userId: number;
    externalId: string;
    movieIds: Int32Array;
    ratings: Float32Array;
    excluded: Int32Array;
    tastes?: Float32Array;
  };
  let created = false;
  let recs: Recommendation[] | undefined;
  let cacheKey: string | undefined;
  let fingerprint: string | undefined;
  if (items.length > 0) {
    const saved = await store(ctx, input.clientId, input.userId, items);
    history = saved;
    created = saved.created;
    if (input.userId === undefined) {
      variant = ctx.experiments.choose(input.clientId, saved.externalId);
      loaded = variant?.model ?? active;
    }
  } else if (tastes) {
    const saved = await saveStatedTastes(ctx.db, input.clientId, input.userId, tastes);
    await ctx.histories.changed([saved.userId]);
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
    // the cached list when the model, n and the history's fingerprint are unchanged.
    const found = await ctx.histories.get(input.clientId, input.userId!);
    if (!found) throw new HttpError(404, `user ${input.userId} not found`);
    history = found;
    fingerprint = found.tastes ? `${found.fingerprint}:${Array.from(found.tastes).join(',')}` : found.fingerprint;
    // Filtered lists and cold starts are not cached (the key would need the filter or the tastes).
    if (!filtered && !(found.movieIds.length === 0 && hasTastes(found.tastes))) {
      const key = RecommendationCache.key(loaded.version, found.userId, input.n, found.fingerprint);
      recs = ctx.recommendations.get(key);
      if (!recs) cacheKey = key;
    }
  }
  if (created) ctx.metrics.usersCreatedTotal.inc();
  const labels = { algorithm: loaded.algorithm, version: loaded.version };

  if (!recs) {
    const start = process.hrtime.bigint();
    const stated = history.movieIds.length === 0 ? (tastes ?? history.tastes) : undefined;
    recs = hasTastes(stated)
      ? coldStart(loaded.model, ctx.catalogue, stated, input.n, exclusions(history.excluded, filtered))
      : loaded.model.recommend(
          { movieIds: history.movieIds, ratings: history.ratings },
          input.n,
          exclusions(history.excluded, filtered),
        );
    ctx.metrics.recommendationDuration.observe(labels, Number(process.hrtime.bigint() - start) / 1e9);
    if (cacheKey) ctx.recommendations.set(cacheKey, recs);
  }
  countServed(ctx, loaded, labels, cacheKey === undefined && items.length === 0 && !filtered, variant);

  let recommendations = await render(ctx, recs);
  if (input.filter) {
    const f = input.filter;
    recommendations = recommendations.filter((m) =>
      passes(m.movie_id, { genres: m.genres, year: ctx.catalogue.get(m.movie_id)?.year ?? null }, f),
    );
  }
  if (input.explain) recommendations = explained(ctx, loaded.model, history, recommendations, !input.filter);
  const recommendation_id = recommendationIds(ctx).make(input.clientId, [
    history.userId,
    loaded.version,
    input.n,
    input.filter ? JSON.stringify(input.filter) : '',
    input.explain ? 'explain' : '',
    ...(fingerprint !== undefined ? [fingerprint] : [history.movieIds, history.ratings, history.excluded]),
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
  recordImpression(
    ctx,
    input.clientId,
    history.userId,
    variant,
    loaded.version,
    recommendation_id,
    idsOf(recommendations),
  );
  return out;
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
function exclusions(excluded: Int32Array, filtered: Set<number> | undefined): RecommendOptions | undefined {
  if (excluded.length === 0) return filtered ? { exclude: filtered } : undefined;
  const all = new Set<number>(filtered);
  for (const id of excluded) all.add(id);
  return { exclude: all };
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

/**
 * The whole response body for a known user asking again with nothing new, when everything it depends on is in
 * memory — the history (exact, see history-cache.ts), the cached list for this model, n and history, its rendering
 * for the current catalogue, and the bytes sent last time — else undefined (then recommendFor). The API's hot case:
 * a platform refreshing its users' lists. Synchronous and allocation-light, and it counts exactly what recommendFor
 * counts for a cache hit; the bytes are the ones recommendationBody made from recommendFor's answer.
 */
export function cachedRecommendationBody(ctx: AppContext, input: RecommendInput): Buffer | undefined {
  if (
    input.userId === undefined ||
    (input.history !== undefined && input.history.length > 0) ||
    input.filter ||
    input.genres
  )
    return undefined;
  const active = ctx.models.current;
  if (!active) return undefined;
  const found = ctx.histories.peek(input.clientId, input.userId);
  if (!found) return undefined;
  // The model chosen for this user, as recommendFor chooses it; a kept answer must be of this very choice.
  const variant = ctx.experiments.choose(input.clientId, input.userId);
  const loaded = variant?.model ?? active;
  const experiment = variant?.label;
  const generation = ctx.catalogue.generation;
  const last = ctx.recommendations.keptAnswer(found);
  const explain = input.explain === true;
  if (
    last &&
    last.n === input.n &&
    (last.explain === true) === explain &&
    last.version === loaded.version &&
    last.algorithm === loaded.algorithm &&
    last.experiment === experiment &&
    last.generation === generation
  ) {
    countServed(ctx, loaded, last.labels, true, variant);
    recordImpression(ctx, input.clientId, found.userId, variant, loaded.version, last.recommendationId, last.movieIds);
    return last.bytes;
  }
  const key = RecommendationCache.key(loaded.version, found.userId, input.n, found.fingerprint);
  const recs = ctx.recommendations.get(key);
  if (!recs) return undefined;
  const done = rendered.get(recs);
  if (!done || done.generation !== generation) return undefined;
  let items = done.items;
  if (explain) {
    const e = explainedLists.get(items);
    if (!e || e.model !== loaded.model) return undefined;
    items = e.items;
  }
  const body = bodies.get(items);
  if (
    !body ||
    body.userId !== publicUserId(found.externalId) ||
    body.version !== loaded.version ||
    body.algorithm !== loaded.algorithm ||
    body.experiment !== experiment
  )
    return undefined;
  // The history cache replaces its entry whenever the history changes: `found` stands for this very history.
  ctx.recommendations.keepAnswer(found, key, {
    n: input.n,
    explain,
    version: loaded.version,
    algorithm: loaded.algorithm,
    experiment,
    generation,
    labels: body.labels,
    bytes: body.bytes,
    recommendationId: body.recommendationId,
    movieIds: body.movieIds,
  });
  countServed(ctx, loaded, body.labels, true, variant);
  recordImpression(ctx, input.clientId, found.userId, variant, loaded.version, body.recommendationId, body.movieIds);
  return body.bytes;
}

type RecommendedMovie = RecommendOutput['recommendations'][number];

/** A list with its titles, per list of the recommendation cache, and its JSON (the bulk of a response's bytes). */
const rendered = new WeakMap<readonly Recommendation[], { generation: number; items: RecommendedMovie[] }>();
const renderedJson = new WeakMap<readonly RecommendedMovie[], string>();
const movieIds = new WeakMap<readonly RecommendedMovie[], number[]>();

/** The movie ids of a list in order (an impression's), once per list. */
function idsOf(items: readonly RecommendedMovie[]): number[] {
  let ids = movieIds.get(items);
  if (!ids) movieIds.set(items, (ids = items.map((m) => m.movie_id)));
  return ids;
}

/** Titles and genres from the catalogue; a cached list is rendered once per catalogue generation. */
async function render(ctx: AppContext, recs: readonly Recommendation[]): Promise<RecommendedMovie[]> {
  const done = rendered.get(recs);
  if (done && done.generation === ctx.catalogue.generation) return done.items;
  // Titles from memory; a movie newer than the cached catalogue costs one query for all of them.
  const ids = recs.map((r) => r.movieId);
  const entries = ids.every((id) => ctx.catalogue.get(id)) ? undefined : await ctx.catalogue.lookup(ids);
  const generation = ctx.catalogue.generation;
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
  rendered.set(recs, { generation, items });
  renderedJson.set(items, JSON.stringify(items));
  return items;
}

/**
 * Explained lists, per rendered list: a rendered list stands for one model version, one user's history and one
 * catalogue generation, which is all an explanation depends on besides the model object (checked). So a known
 * user asking again with `explain: true` is answered like one asking without: from kept bytes.
 */
const explainedLists = new WeakMap<readonly RecommendedMovie[], { model: object; items: RecommendedMovie[] }>();

function explained(
  ctx: AppContext,
  model: Recommender,
  history: { movieIds: Int32Array; ratings: Float32Array },
  items: RecommendedMovie[],
  keep: boolean,
): RecommendedMovie[] {
  const hit = keep ? explainedLists.get(items) : undefined;
  if (hit && hit.model === model) return hit.items;
  const out = explainRecommendations(model, ctx.catalogue, history, items);
  if (keep) {
    explainedLists.set(items, { model, items: out });
    renderedJson.set(out, JSON.stringify(out));
  }
  return out;
}

/**
 * The response body of POST /recommendations, byte for byte what JSON.stringify(out) gives (test/server), with
 * the list's JSON reused from the cache: both the Express route and the fast path send this.
 */
export function recommendationJson(out: RecommendOutput): string {
  const list = renderedJson.get(out.recommendations) ?? JSON.stringify(out.recommendations);
  const experiment = out.experiment ? `"experiment":${JSON.stringify(out.experiment)},` : '';
  return `{"user_id":${JSON.stringify(out.user_id)},"created":${JSON.stringify(out.created)},"model":${JSON.stringify(out.model)},${experiment}"recommendations":${list},"ignored_movie_ids":${JSON.stringify(out.ignored_movie_ids)},"recommendation_id":${JSON.stringify(out.recommendation_id)}}`;
}

/** Bytes of an answer with nothing created or ignored, per rendered list (one user, one model): cachedRecommendationBody. */
const bodies = new WeakMap<
  readonly RecommendedMovie[],
  {
    userId: number | string;
    version: string;
    algorithm: string;
    experiment: ExperimentLabel | undefined;
    labels: RecommendOutput['model'];
    bytes: Buffer;
    recommendationId: string;
    movieIds: number[];
  }
>();

/** recommendationJson as bytes; an answer that cachedRecommendationBody can repeat is kept for it. */
export function recommendationBody(out: RecommendOutput): Buffer {
  const repeatable = !out.created && out.ignored_movie_ids.length === 0 && renderedJson.has(out.recommendations);
  if (repeatable) {
    const kept = bodies.get(out.recommendations);
    if (
      kept &&
      kept.userId === out.user_id &&
      kept.version === out.model.version &&
      kept.algorithm === out.model.algorithm &&
      kept.experiment === out.experiment
    )
      return kept.bytes;
  }
  const bytes = Buffer.from(recommendationJson(out), 'utf8');
  if (repeatable)
    bodies.set(out.recommendations, {
      userId: out.user_id,
      version: out.model.version,
      algorithm: out.model.algorithm,
      experiment: out.experiment,
      labels: out.model,
      bytes,
      recommendationId: out.recommendation_id,
      movieIds: idsOf(out.recommendations),
    });
  return bytes;
}

async function store(ctx: AppContext, clientId: number, userId: string | undefined, items: HistoryItem[]) {
  try {
    const saved = await ctx.writes.saveHistory(clientId, userId, items);
    // Committed: this server drops the user at once, the others once the NOTIFY is sent.
    await ctx.histories.changed([saved.userId]);
    return saved;
  } catch (err: any) {
    // A movie removed from the catalogue after it was cached: nothing was stored (one transaction).
    if (err?.code === PgError.FOREIGN_KEY_VIOLATION)
      throw new HttpError(422, 'a movie of the history is no longer in the catalogue: nothing was stored; retry');
    if (err instanceof QuotaExceededError) {
      ctx.metrics.quotaRejectionsTotal.inc({ quota: err.what });
      throw new HttpError(429, `${err.message}; nothing was stored`, 'quota_exceeded', {
        'Retry-After': String(err.retryAfterSeconds),
      });
    }
    throw err;
  }
}
