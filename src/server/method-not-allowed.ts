import type { Express, RequestHandler } from 'express';
import { HttpError } from './http-errors.js';

/** What this module reads of Express's router layers (the `router` package): a route's methods, a sub-router's stack. */
interface RouterLayer {
  route?: { methods: Record<string, boolean> };
  handle?: { stack?: RouterLayer[] };
  match(path: string): { path: string } | false;
}

/**
 * For a request that no route took: a 405 with an `Allow` header when a route exists for its path under another
 * method (RFC 9110 §15.5.6), else nothing (the 404 handler follows). The routes are read from the app itself, so a
 * new route needs no entry anywhere else.
 */
export function methodNotAllowed(app: Express): RequestHandler {
  return (req, res, next) => {
    const stack = (app as unknown as { router: { stack: RouterLayer[] } }).router.stack;
    const methods = new Set<string>();
    try {
      collect(stack, req.path, methods);
    } catch {
      return next(); // a path the router cannot decode is a 404 as before
    }
    if (methods.size === 0) return next();
    if (methods.has('GET')) methods.add('HEAD');
    const allow = [...methods].sort().join(', ');
    res.set('Allow', allow);
    next(new HttpError(405, `${req.method} is not allowed on ${req.path}: use ${allow}`));
  };
}

function collect(stack: readonly RouterLayer[], path: string, into: Set<string>): void {
  for (const layer of stack) {
    const nested = layer.handle?.stack;
    if (!layer.route && !nested) continue;
    const m = layer.match(path);
    if (!m) continue;
    if (layer.route) {
      for (const [method, on] of Object.entries(layer.route.methods))
        if (on && method !== '_all') into.add(method.toUpperCase());
    } else if (nested) {
      collect(nested, path.slice(m.path.length) || '/', into);
    }
  }
}
