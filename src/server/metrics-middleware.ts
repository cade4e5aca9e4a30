import type { Request, RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { RecoMetrics } from '../core/metrics/registry.js';

/** The route template ("/movies"), never the raw path, so label cardinality stays bounded. */
function routeOf(req: Request): string {
  const route = (req as Request & { route?: { path?: unknown } }).route;
  if (route && typeof route.path === 'string') return `${req.baseUrl}${route.path}`;
  return 'unmatched';
}

/** Request histogram and counter by method, route template and status; one JSON access-log line per request. */
export function observeRequests(metrics: RecoMetrics, logger: Logger | undefined): RequestHandler {
  return (req, res, next) => {
    const start = process.hrtime.bigint();
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const labels = { method: req.method, route: routeOf(req), status_code: String(res.statusCode) };
      metrics.httpRequestDuration.observe(labels, seconds);
      metrics.httpRequestsTotal.inc(labels);
      logger?.info(
        {
          method: req.method,
          url: req.originalUrl,
          route: labels.route,
          status: res.statusCode,
          ms: Math.round(seconds * 1e5) / 100,
          client: (req as any).user?.username,
          ip: req.ip,
        },
        'request',
      );
    });
    next();
  };
}
