import express, { type Express, type RequestHandler } from 'express';
import { rateLimit } from 'express-rate-limit';
import { bodyLimits, DEFAULT_BODY_LIMIT, type BodyLimits } from './body-limits.js';
import type { AppContext } from './context.js';
import { errorHandler, HttpError, notFound, silentLogger } from './http-errors.js';
import { methodNotAllowed } from './method-not-allowed.js';
import { fixedRoutes, observeRequests } from './metrics-middleware.js';
import { DatabaseRateLimitStore } from './rate-limit-store.js';
import { clientsRouter } from './routes/clients.js';
import { docsRouter } from './routes/docs.js';
import { feedbackRouter } from './routes/feedback.js';
import { moviesRouter } from './routes/movies.js';
import { metricsRouter } from './routes/metrics.js';
import { opsRouter } from './routes/ops.js';
import { recommendationsRouter } from './routes/recommendations.js';
import { similarRouter } from './routes/similar.js';
import { tokenRouter } from './routes/token.js';

export interface AppLimits {
  /**
   * Largest request body (express/body-parser notation), default "256kb"; POST /feedback takes at least what its
   * largest valid batch needs (body-limits.ts).
   */
  bodyLimit?: string;
  /** Login and registration attempts per IP and window (counted in the database on PostgreSQL, shared by replicas). */
  rateLimit?: { windowMs?: number; token?: number; createClient?: number };
  /** Trust X-Forwarded-For from this many proxies (an ingress in Kubernetes): default 0. */
  trustProxy?: number | boolean;
}

export const DEFAULT_LIMITS = { bodyLimit: DEFAULT_BODY_LIMIT, windowMs: 60_000, token: 30, createClient: 10 } as const;

/**
 * One limiter per route. On PostgreSQL the counters live in the database, shared by every replica; the key names
 * the limit and window too, so replicas configured alike share counters and a changed setting starts afresh.
 * The embedded engine serves one process, whose memory is the natural store.
 */
function limiter(ctx: AppContext, windowMs: number, limit: number, what: string, name: string) {
  const store =
    ctx.db.engine === 'postgres' ? new DatabaseRateLimitStore(ctx.db, `${name}/${limit}/${windowMs}:`) : undefined;
  return rateLimit({
    windowMs,
    limit,
    store,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    handler: (_req, _res, next) =>
      next(new HttpError(429, `too many ${what} attempts from this address: wait a minute and try again`)),
  });
}

/**
 * The Express application of `reco serve` (no listening here: see index.ts). GET /metrics is part of it only when
 * `metrics` is true (no separate metrics port: tests, embedding); otherwise createMetricsApp serves it.
 */
export function createApp(
  ctx: AppContext,
  limits: AppLimits = {},
  version = '0.1.0',
  { metrics = true } = {},
): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', limits.trustProxy ?? false);
  // The API sends no validators (no ETag, no Last-Modified), so no request is ever "fresh": without this,
  // res.send would answer `If-None-Match: *` or a future If-Modified-Since with a 304 (health checks included).
  Object.defineProperty(app.request, 'fresh', { value: false, configurable: true });
  const windowMs = limits.rateLimit?.windowMs ?? DEFAULT_LIMITS.windowMs;
  const bodies = bodyLimits(limits.bodyLimit ?? DEFAULT_LIMITS.bodyLimit);

  app.use(observeRequests(ctx.metrics, ctx.logger, fixedRoutes(app)));
  app.use(jsonParser(bodies));
  // No route's schema takes a form with more than the default limit (POST /feedback's events are an array).
  app.use(express.urlencoded({ extended: false, limit: bodies.default }));

  const auth = ctx.auth.middleware();
  app.use(
    clientsRouter(
      ctx,
      limiter(
        ctx,
        windowMs,
        limits.rateLimit?.createClient ?? DEFAULT_LIMITS.createClient,
        'registration',
        'create-client',
      ),
    ),
  );
  app.use(tokenRouter(ctx, limiter(ctx, windowMs, limits.rateLimit?.token ?? DEFAULT_LIMITS.token, 'login', 'token')));
  app.use(recommendationsRouter(ctx, auth));
  app.use(moviesRouter(ctx, auth));
  app.use(feedbackRouter(ctx, auth));
  app.use(similarRouter(ctx, auth));
  app.use(opsRouter(ctx, version));
  app.use(docsRouter());
  if (metrics) app.use(metricsRouter(ctx));
  app.use(methodNotAllowed(app));
  app.use(notFound);
  app.use(errorHandler(ctx.logger ?? silentLogger));
  return app;
}

/** express.json with each route's limit (the fast path reads bodies with the same limits: fast-path.ts). */
function jsonParser(limits: BodyLimits): RequestHandler {
  const parsers = new Map<number, RequestHandler>();
  return function jsonParser(req, res, next) {
    const limit = limits.of(req.path);
    let parse = parsers.get(limit);
    if (!parse) parsers.set(limit, (parse = express.json({ limit })));
    parse(req, res, next);
  };
}

/** GET /metrics alone, for the metrics port (not counted in the request metrics, not in the access log). */
export function createMetricsApp(ctx: AppContext): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(metricsRouter(ctx));
  app.use(methodNotAllowed(app));
  app.use(notFound);
  app.use(errorHandler(ctx.logger ?? silentLogger));
  return app;
}
