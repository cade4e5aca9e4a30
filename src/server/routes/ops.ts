import { Router } from 'express';
import { databaseReachable, serverStats } from '../../core/db/repositories/server-stats.js';
import type { AppContext } from '../context.js';
import { DOCS_HTML } from '../docs-page.js';
import { buildOpenApiDocument } from '../openapi.js';
import { updateModelGauges, updateStatsGauges } from '../gauges.js';

/** Database figures are refreshed at most this often, however often Prometheus scrapes. */
const STATS_MAX_AGE_MS = 10_000;

export function opsRouter(ctx: AppContext, version: string): Router {
  const r = Router();
  const openapi = buildOpenApiDocument(version);
  let statsAt = 0;

  // Probes must see the state now: nothing may cache these answers or turn them into a 304.
  r.get('/healthz', (_req, res) => {
    res.set('Cache-Control', 'no-store').json({ status: 'ok' });
  });

  r.get('/readyz', async (_req, res) => {
    const database = await databaseReachable(ctx.db);
    const m = ctx.models.current;
    const ready = database && m !== undefined;
    res.set('Cache-Control', 'no-store').status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', database, model: m ? { algorithm: m.algorithm, version: m.version } : null });
  });

  r.get('/metrics', async (_req, res) => {
    if (Date.now() - statsAt > STATS_MAX_AGE_MS) {
      try {
        updateStatsGauges(ctx.metrics, await serverStats(ctx.db));
        statsAt = Date.now();
      } catch (err) {
        // Scrapes must keep working when the database does not: the last figures stay.
        ctx.logger?.warn({ err }, 'cannot read the database figures for /metrics');
      }
    }
    updateModelGauges(ctx.metrics, ctx.models.current);
    res.type(ctx.metrics.register.contentType).send(await ctx.metrics.register.metrics());
  });

  r.get('/openapi.json', (_req, res) => {
    res.json(openapi);
  });

  r.get('/docs', (_req, res) => {
    res.type('html').send(DOCS_HTML);
  });
  return r;
}
