import type { Logger } from 'pino';
import type { QuotaLimits } from '../core/config.js';
import type { Database } from '../core/db/types.js';
import type { RecoMetrics } from '../core/metrics/registry.js';
import type { AnswerCache } from './answer-cache.js';
import type { TokenAuthenticator } from './auth.js';
import type { CatalogueCache } from './catalogue-cache.js';
import type { ExperimentHolder } from './experiment-holder.js';
import type { HistoryCache } from './history-cache.js';
import type { ImpressionRecorder } from './impressions.js';
import type { ModelHolder } from './model-holder.js';
import type { SimilarAnswers } from './similar-answers.js';
import type { WriteGroups } from './write-groups.js';

/** What the routes share: the database, the served model, the cached catalogue, metrics and settings. */
export interface AppContext {
  db: Database;
  models: ModelHolder;
  /** Running experiments and their variants' models. */
  experiments: ExperimentHolder;
  /** Where served lists are recorded (undefined: --impressions off). */
  impressions: ImpressionRecorder | undefined;
  /** Record lists outside experiments too (--impressions all). */
  impressionsOfEveryList: boolean;
  catalogue: CatalogueCache;
  /** Known users' answers of POST /recommendations (answer-cache.ts). */
  answers: AnswerCache;
  /** Answers of GET /movies/{movie_id}/similar (similar-answers.ts). */
  similarAnswers: SimilarAnswers;
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
  /** The API's writes (POST /feedback, histories), grouped into shared transactions unless turned off. */
  writes: WriteGroups;
}
