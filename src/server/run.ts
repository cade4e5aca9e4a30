import type { RecoConfig } from '../core/config.js';
import type { Database } from '../core/db/types.js';
import { createLogger } from '../core/logger.js';
import type { ImpressionsMode } from './impressions.js';
import { startServer } from './index.js';

export interface ServeResult {
  url: string;
  metrics_url: string;
  model: { algorithm: string; version: string } | null;
  uptime_seconds: number;
  signal: string;
}

/**
 * Serves until SIGTERM or SIGINT, then shuts down gracefully: stop accepting, let in-flight requests finish,
 * stop the model watcher. The caller closes the database afterwards (which releases the embedded lock).
 */
export async function serveUntilSignal(
  db: Database,
  config: RecoConfig,
  options: {
    port: number;
    host: string;
    metricsPort?: number;
    modelPollSeconds: number;
    trustProxy?: number;
    cacheSize?: number;
    fastPath?: boolean;
    replyBatch?: number;
    impressions?: ImpressionsMode;
    impressionsRetentionDays?: number;
    logTo: 'stdout' | 'stderr';
    onListening?: (url: string, metricsUrl: string) => void;
  },
): Promise<ServeResult> {
  const logger = createLogger({ level: config.logLevel, destination: options.logTo, name: 'reco-serve' });
  const started = Date.now();
  const server = await startServer({
    db,
    config,
    logger,
    port: options.port,
    host: options.host,
    metricsPort: options.metricsPort,
    modelPollMs: options.modelPollSeconds * 1000,
    trustProxy: options.trustProxy || false,
    recommendationCacheSize: options.cacheSize,
    fastPath: options.fastPath,
    replyBatch: options.replyBatch,
    impressions: options.impressions,
    impressionsRetentionDays: options.impressionsRetentionDays,
  });
  options.onListening?.(server.url!, `${server.metricsUrl!}/metrics`);
  const signal = await new Promise<string>((resolve) => {
    const on = (s: string) => {
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      resolve(s);
    };
    const onTerm = () => on('SIGTERM');
    const onInt = () => on('SIGINT');
    process.once('SIGTERM', onTerm);
    process.once('SIGINT', onInt);
  });
  logger.info({ signal }, 'shutting down: finishing in-flight requests');
  const model = server.models.current;
  await server.close();
  logger.info('stopped');
  // The destination is asynchronous: write everything out before the process exits.
  await new Promise<void>((resolve) => logger.flush(() => resolve()));
  return {
    url: server.url!,
    metrics_url: `${server.metricsUrl!}/metrics`,
    model: model ? { algorithm: model.algorithm, version: model.version } : null,
    uptime_seconds: Math.round((Date.now() - started) / 1000),
    signal,
  };
}
