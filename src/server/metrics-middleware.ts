import type { Request, RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { RecoMetrics } from '../core/metrics/registry.js';

/**
 * The route template ("/movies"), never the raw path, so label cardinality stays bounded. A request that failed
 * before routing (a body that is not JSON, or too large) has no route yet: it gets the template of the route it
 * was sent to when that route has no parameters (`fixed`), else "unmatched" (as every 404 does).
 */
function routeOf(req: Request, fixed: () => ReadonlyMap<string, string>): string {
  const route = (req as Request & { route?: { path?: unknown } }).route;
  if (route && typeof route.path === 'string') return `${req.baseUrl}${route.path}`;
  return fixed().get(`${req.method} ${req.path}`) ?? 'unmatched';
}

/**
 * "METHOD /path" → "/path" for every route of the app without parameters, read from Express's router stack (the
 * routers mounted at the root and their routes), once, on the first request that needs it.
 */
export function fixedRoutes(app: { router: { stack: unknown[] } }): () => ReadonlyMap<string, string> {
  let routes: Map<string, string> | undefined;
  const walk = (stack: any[]) => {
    for (const layer of stack) {
      const route = layer?.route;
      if (route && typeof route.path === 'string' && !/[:*(]/.test(route.path))
        for (const [method, on] of Object.entries(route.methods ?? {}))
          if (on && method !== '_all') routes!.set(`${method.toUpperCase()} ${route.path}`, route.path);
      if (!route && Array.isArray(layer?.handle?.stack)) walk(layer.handle.stack);
    }
  };
  return () => {
    if (!routes) {
      routes = new Map();
      walk(app.router.stack);
    }
    return routes;
  };
}

/** Probes and scrapes come every few seconds from every kubelet and Prometheus: their access log is at debug. */
const QUIET_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);

export interface RequestRecord {
  method: string;
  url: string;
  route: string;
  status: number;
  seconds: number;
  client: string | undefined;
  ip: string | undefined;
}

/** The request counter's and the duration histogram's slots of one method, route and status. */
function requestSlots(metrics: RecoMetrics, method: string, route: string, status: number) {
  const key = `${method} ${route} ${status}`;
  const counted = metrics.counted.httpRequests.slot(key, () => ({ method, route, status_code: String(status) }));
  return { counted, timed: metrics.httpRequestDuration.slot(key, () => counted.labels) };
}

/** One request in the histogram, the counter and the access log: shared by Express and the fast path. */
export function recordRequest(metrics: RecoMetrics, logger: Logger | undefined, r: RequestRecord): void {
  const { counted, timed } = requestSlots(metrics, r.method, r.route, r.status);
  counted.n++;
  metrics.httpRequestDuration.observe(timed, r.seconds);
  if (!logger) return;
  const line = {
    method: r.method,
    url: r.url,
    route: r.route,
    status: r.status,
    ms: Math.round(r.seconds * 1e5) / 100,
    client: r.client,
    ip: r.ip,
  };
  if (QUIET_ROUTES.has(r.route) && r.status < 500) logger.debug(line, 'request');
  else logger.info(line, 'request');
}

/**
 * recordRequest for requests of one method, URL and route (the fast path's): the access log's constant fields are
 * serialised once, by a pino child logger, and the counter's label set of a 200 is found without a key.
 */
export function routeRecorder(
  metrics: RecoMetrics,
  logger: Logger | undefined,
  method: string,
  url: string,
  route: string,
) {
  const log = logger?.child({ method, url, route });
  const ok = requestSlots(metrics, method, route, 200);
  return (status: number, seconds: number, client: string | undefined, ip: string | undefined): void => {
    const { counted, timed } = status === 200 ? ok : requestSlots(metrics, method, route, status);
    counted.n++;
    metrics.httpRequestDuration.observe(timed, seconds);
    log?.info({ status, ms: Math.round(seconds * 1e5) / 100, client, ip }, 'request');
  };
}

/**
 * Request histogram and counter by method, route template and status; one JSON access-log line per request (at
 * debug for probes and scrapes). `routes`: the app's routes without parameters (fixedRoutes).
 */
export function observeRequests(
  metrics: RecoMetrics,
  logger: Logger | undefined,
  routes: () => ReadonlyMap<string, string> = () => new Map(),
): RequestHandler {
  return (req, res, next) => {
    const start = process.hrtime.bigint();
    res.once('finish', () => {
      recordRequest(metrics, logger, {
        method: req.method,
        url: req.originalUrl,
        route: routeOf(req, routes),
        status: res.statusCode,
        seconds: Number(process.hrtime.bigint() - start) / 1e9,
        client: (req as any).user?.username,
        ip: req.ip,
      });
    });
    next();
  };
}
