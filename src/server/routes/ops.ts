import { Router } from 'express';
import { databaseReachable } from '../../core/db/repositories/server-stats.js';
import type { AppContext } from '../context.js';
import { buildOpenApiDocument } from '../openapi.js';

export function opsRouter(ctx: AppContext, version: string): Router {
  const r = Router();
  const openapi = buildOpenApiDocument(version);

  // Probes must see the state now: nothing may cache these answers or turn them into a 304.
  r.get('/healthz', (_req, res) => {
    res.set('Cache-Control', 'no-store').json({ status: 'ok' });
  });

  r.get('/readyz', async (_req, res) => {
    const database = await databaseReachable(ctx.db);
    const m = ctx.models.current;
    const ready = database && m !== undefined;
    res
      .set('Cache-Control', 'no-store')
      .status(ready ? 200 : 503)
      .json({
        status: ready ? 'ready' : 'not ready',
        database,
        model: m ? { algorithm: m.algorithm, version: m.version } : null,
      });
  });

  r.get('/openapi.json', (_req, res) => {
    res.json(openapi);
  });
  return r;
}
