import type { Request, RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { RecoMetrics } from '../core/metrics/registry.js';

/** The route template ("/movies"), never the raw path, so label cardinality stays bounded. */
function routeOf(req: Request): string {
  const route = (req as Request & { route?: { path?: unknown } }).route;
  if (route && typeof route.path === 'string') return `${req.baseUrl}${route.path}`;
  return 'unmatched';
}

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
  logger?.info({ method: r.method, url: r.url, route: r.route, status: r.status, ms: Math.round(r.seconds * 1e5) / 100, client: r.client, ip: r.ip }, 'request');
}

/**
 * recordRequest for requests of one method, URL and route (the fast path's): the access log's constant fields are
 * serialised once, by a pino child logger, and the counter's label set of a 200 is found without a key.
 */
export function routeRecorder(metrics: RecoMetrics, logger: Logger | undefined, method: string, url: string, route: string) {
  const log = logger?.child({ method, url, route });
  const ok = requestSlots(metrics, method, route, 200);
  return (status: number, seconds: number, client: string | undefined, ip: string | undefined): void => {
    const { counted, timed } = status === 200 ? ok : requestSlots(metrics, method, route, status);
    counted.n++;
    metrics.httpRequestDuration.observe(timed, seconds);
    log?.info({ status, ms: Math.round(seconds * 1e5) / 100, client, ip }, 'request');
  };
}

/** Request histogram and counter by method, route template and status; one JSON access-log line per request. */
export function observeRequests(metrics: RecoMetrics, logger: Logger | undefined): RequestHandler {
  return (req, res, next) => {
    const start = process.hrtime.bigint();
    res.once('finish', () => {
      recordRequest(metrics, logger, {
        method: req.method,
        url: req.originalUrl,
        route: routeOf(req),
        status: res.statusCode,
        seconds: Number(process.hrtime.bigint() - start) / 1e9,
        client: (req as any).user?.username,
        ip: req.ip,
      });
    });
    next();
  };
}
