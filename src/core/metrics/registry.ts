import { Counter, Gauge, Histogram, type LabelValues, Registry, collectDefaultMetrics } from 'prom-client';
import { BatchedHistogram } from './batched-histogram.js';
import { CounterBatch } from './counter-batch.js';
import { METRICS, SCHEDULED_TASKS } from './names.js';

/**
 * Every metric of names.ts, registered at once on a registry of its own (one per server, so that tests can
 * run several servers in one process) so that all names appear in /metrics before any data.
 */
export function createMetrics() {
  const register = new Registry();
  collectDefaultMetrics({ register });
  // Gauges that prom-client names _total, which Prometheus' conventions reserve for counters (promtool check metrics
  // flags them); each is the sum of the series of its namesake without the suffix (nodejs_active_handles{type}, …).
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'])
    register.removeSingleMetric(name);
  const httpLabels = ['method', 'route', 'status_code'] as const;
  const modelLabels = ['algorithm', 'version'] as const;
  // The counters of every request, counted on the hot path in plain fields (counter-batch.ts).
  const counted = {
    httpRequests: new CounterBatch<(typeof httpLabels)[number]>(),
    recommendations: new CounterBatch<(typeof modelLabels)[number]>(),
    cacheHits: new CounterBatch<(typeof modelLabels)[number]>(),
    similarCacheHits: new CounterBatch<never>(),
  };
  const m = {
    register,
    counted,
    httpRequestDuration: new BatchedHistogram(
      METRICS.httpRequestDuration,
      'HTTP request duration in seconds, by method, route template and status',
      httpLabels,
      [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      [register],
    ),
    httpRequestsTotal: new Counter({
      name: METRICS.httpRequestsTotal,
      help: 'HTTP requests, by method, route template and status',
      labelNames: httpLabels,
      registers: [register],
      collect() {
        counted.httpRequests.flushInto(this);
      },
    }),
    recommendationsTotal: new Counter({
      name: METRICS.recommendationsTotal,
      help: 'Recommendation lists served, by model',
      labelNames: modelLabels,
      registers: [register],
      collect() {
        counted.recommendations.flushInto(this);
      },
    }),
    recommendationDuration: new Histogram({
      name: METRICS.recommendationDuration,
      help: 'Time spent scoring one recommendation list in memory, by model',
      labelNames: modelLabels,
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
      registers: [register],
    }),
    recommendationFallbacksTotal: new Counter({
      name: METRICS.recommendationFallbacksTotal,
      help: 'Recommendation lists served by the popularity fallback (no trained model active)',
      registers: [register],
    }),
    recommendationCacheHitsTotal: new Counter({
      name: METRICS.recommendationCacheHitsTotal,
      help: 'Recommendation lists served from the cache (same model, same user history, same n), by model',
      labelNames: modelLabels,
      registers: [register],
      collect() {
        counted.cacheHits.flushInto(this);
      },
    }),
    similarCacheHitsTotal: new Counter({
      name: METRICS.similarCacheHitsTotal,
      help: 'GET /movies/{movie_id}/similar answers served from memory (same model, catalogue, movie, n and filter)',
      registers: [register],
      collect() {
        counted.similarCacheHits.flushInto(this);
      },
    }),
    usersCreatedTotal: new Counter({
      name: METRICS.usersCreatedTotal,
      help: 'Users created through POST /recommendations and POST /feedback',
      registers: [register],
    }),
    feedbackEventsTotal: new Counter({
      name: METRICS.feedbackEventsTotal,
      help: 'Feedback events by type and outcome (stored, duplicate: already stored, rejected: invalid)',
      labelNames: ['type', 'outcome'] as const,
      registers: [register],
    }),
    quotaRejectionsTotal: new Counter({
      name: METRICS.quotaRejectionsTotal,
      help: "Writes of POST /recommendations refused by a client's hourly quota (429), by quota: users or ratings",
      labelNames: ['quota'] as const,
      registers: [register],
    }),
    experimentListsServedTotal: new Counter({
      name: METRICS.experimentListsServedTotal,
      help: 'Recommendation lists served to users inside a running experiment, by experiment and variant',
      labelNames: ['experiment', 'variant'] as const,
      registers: [register],
    }),
    impressionsRecordedTotal: new Counter({
      name: METRICS.impressionsRecordedTotal,
      help: 'Impressions (lists served) written to the database, by experiment and variant',
      labelNames: ['experiment', 'variant'] as const,
      registers: [register],
    }),
    impressionsDroppedTotal: new Counter({
      name: METRICS.impressionsDroppedTotal,
      help: 'Impressions not recorded, by experiment, variant and reason (overflow: the buffer was full; error: the write failed)',
      labelNames: ['experiment', 'variant', 'reason'] as const,
      registers: [register],
    }),
    modelInfo: new Gauge({
      name: METRICS.modelInfo,
      help: 'The model being served (value 1)',
      labelNames: modelLabels,
      registers: [register],
    }),
    modelAgeSeconds: new Gauge({
      name: METRICS.modelAgeSeconds,
      help: 'Seconds since the served model was trained',
      registers: [register],
    }),
    modelHoldoutNdcg: new Gauge({
      name: METRICS.modelHoldoutNdcg,
      help: 'Holdout nDCG@10 of the served model',
      registers: [register],
    }),
    modelHoldoutPrecision: new Gauge({
      name: METRICS.modelHoldoutPrecision,
      help: 'Holdout precision@10 of the served model',
      registers: [register],
    }),
    modelHoldoutRecall: new Gauge({
      name: METRICS.modelHoldoutRecall,
      help: 'Holdout recall@10 of the served model',
      registers: [register],
    }),
    modelLoadsTotal: new Counter({
      name: METRICS.modelLoadsTotal,
      help: 'Model loads from the registry, by outcome',
      labelNames: ['outcome'] as const,
      registers: [register],
    }),
    warmUpSeconds: new Gauge({
      name: METRICS.warmUpSeconds,
      help: 'Duration of the last warm-up (structures built before requests need them), by reason: start, model, catalogue',
      labelNames: ['reason'] as const,
      registers: [register],
    }),
    ingestLastRunTimestamp: new Gauge({
      name: METRICS.ingestLastRunTimestamp,
      help: 'Finish time of the last ingest run (unix seconds)',
      registers: [register],
    }),
    ingestLastRowsAccepted: new Gauge({
      name: METRICS.ingestLastRowsAccepted,
      help: 'Rows accepted by the last ingest run',
      registers: [register],
    }),
    ingestLastRowsRejected: new Gauge({
      name: METRICS.ingestLastRowsRejected,
      help: 'Rows rejected by the last ingest run',
      registers: [register],
    }),
    ingestLastDurationSeconds: new Gauge({
      name: METRICS.ingestLastDurationSeconds,
      help: 'Duration of the last ingest run',
      registers: [register],
    }),
    ingestRunsTotal: new Counter({
      name: METRICS.ingestRunsTotal,
      help: 'Finished ingest runs in the ledger, by status',
      labelNames: ['status'] as const,
      registers: [register],
    }),
    ingestRunsInProgress: new Gauge({
      name: METRICS.ingestRunsInProgress,
      help: 'Ingest runs in progress according to the ledger',
      registers: [register],
    }),
    ingestRowsTotal: new Counter({
      name: METRICS.ingestRowsTotal,
      help: 'Rows of succeeded ingest runs in the ledger, by outcome',
      labelNames: ['outcome'] as const,
      registers: [register],
    }),
    jobLastSuccessTimestamp: new Gauge({
      name: METRICS.jobLastSuccessTimestamp,
      help: 'Finish time of the last successful run of a task (unix seconds; 0 = never succeeded)',
      labelNames: ['task'] as const,
      registers: [register],
    }),
    jobLastDurationSeconds: new Gauge({
      name: METRICS.jobLastDurationSeconds,
      help: 'Duration of the last successful run of a task',
      labelNames: ['task'] as const,
      registers: [register],
    }),
    jobRunsTotal: new Counter({
      name: METRICS.jobRunsTotal,
      help: 'Finished job runs recorded, by task and status',
      labelNames: ['task', 'status'] as const,
      registers: [register],
    }),
    jobRunsInProgress: new Gauge({
      name: METRICS.jobRunsInProgress,
      help: 'Job runs in progress, by task',
      labelNames: ['task'] as const,
      registers: [register],
    }),
    databaseCreatedTimestamp: new Gauge({
      name: METRICS.databaseCreatedTimestamp,
      help: 'When the database schema was created (unix seconds): the start of the schedule of a task that never succeeded',
      registers: [register],
    }),
    catalogueMovies: new Gauge({
      name: METRICS.catalogueMovies,
      help: 'Movies in the catalogue',
      registers: [register],
    }),
    catalogueUsers: new Gauge({ name: METRICS.catalogueUsers, help: 'Users of all clients', registers: [register] }),
    catalogueRatings: new Gauge({ name: METRICS.catalogueRatings, help: 'Ratings stored', registers: [register] }),
  };
  // Zero-valued series for the labelled counters, so dashboards see them before the first event.
  m.modelLoadsTotal.inc({ outcome: 'success' }, 0);
  m.modelLoadsTotal.inc({ outcome: 'failure' }, 0);
  for (const status of ['succeeded', 'failed']) m.ingestRunsTotal.inc({ status }, 0);
  for (const outcome of ['accepted', 'rejected']) m.ingestRowsTotal.inc({ outcome }, 0);
  // Every scheduled task from the start, so that a task that has never succeeded is visible (and alerted on).
  for (const task of SCHEDULED_TASKS) {
    m.jobLastSuccessTimestamp.set({ task }, 0);
    m.jobRunsInProgress.set({ task }, 0);
    for (const status of ['succeeded', 'failed']) m.jobRunsTotal.inc({ task, status }, 0);
  }
  return m;
}

/**
 * A counter whose value is read from the database (a ledger's total), not counted in this process: prom-client's
 * Counter has no `set`, so the series is replaced. Totals only grow; a restored backup is a counter reset.
 */
export function setCounterTotal<T extends string>(counter: Counter<T>, labels: LabelValues<T>, value: number): void {
  counter.remove(labels);
  counter.inc(labels, Math.max(0, value));
}

export type RecoMetrics = ReturnType<typeof createMetrics>;
