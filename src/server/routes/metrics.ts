import { Router } from 'express';
import { serverStats } from '../../core/db/repositories/server-stats.js';
import type { AppContext } from '../context.js';
import { updateModelGauges, updateStatsGauges } from '../gauges.js';

/** Database figures are refreshed at most this often, however often Prometheus scrapes. */
const STATS_MAX_AGE_MS = 10_000;

/**
 * GET /metrics in Prometheus' text format. `reco serve` serves it on its own port (--metrics-port), which the
 * ServiceMonitor scrapes and the clients' Service does not expose: the figures span every tenant.
 */
export function metricsRouter(ctx: AppContext): Router {
  const r = Router();
  let statsAt = 0;
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
  return r;
}
