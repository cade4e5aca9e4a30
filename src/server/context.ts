import type { Logger } from 'pino';
import type { QuotaLimits } from '../core/config.js';
import type { Database } from '../core/db/types.js';
import type { RecoMetrics } from '../core/metrics/registry.js';
import type { TokenAuthenticator } from './auth.js';
import type { CatalogueCache } from './catalogue-cache.js';
import type { HistoryCache } from './history-cache.js';
import type { ModelHolder } from './model-holder.js';
import type { RecommendationCache } from './recommendation-cache.js';

/** What the routes share: the database, the served model, the cached catalogue, metrics and settings. */
export interface AppContext {
  db: Database;
  models: ModelHolder;
  catalogue: CatalogueCache;
  recommendations: RecommendationCache;
  /** Known users' histories; `enabled` false when the caches are off. */
  histories: HistoryCache;
  auth: TokenAuthenticator;
  metrics: RecoMetrics;
  logger?: Logger;
  jwtSecret: string;
  tokenTtlSeconds: number;
  adminToken?: string;
  /** Per-client hourly write quotas of POST /recommendations (users created, ratings stored). */
  quotas: QuotaLimits;
}
