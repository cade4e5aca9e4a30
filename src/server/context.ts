import type { Logger } from 'pino';
import type { Database } from '../core/db/types.js';
import type { RecoMetrics } from '../core/metrics/registry.js';
import type { CatalogueCache } from './catalogue-cache.js';
import type { ModelHolder } from './model-holder.js';
import type { RecommendationCache } from './recommendation-cache.js';

/** What the routes share: the database, the served model, the cached catalogue, metrics and settings. */
export interface AppContext {
  db: Database;
  models: ModelHolder;
  catalogue: CatalogueCache;
  recommendations: RecommendationCache;
  metrics: RecoMetrics;
  logger?: Logger;
  jwtSecret: string;
  tokenTtlSeconds: number;
  adminToken?: string;
}
