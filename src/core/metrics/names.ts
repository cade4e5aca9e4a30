/**
 * The Prometheus metric names `reco serve` exports: the contract between the server (src/server), the
 * Grafana dashboards (k8s/monitoring) and their test. Default process metrics of prom-client
 * (process_*, nodejs_*) come on top.
 */
export const METRICS = {
  // HTTP, labels: method, route (the route template, never the raw path), status_code
  httpRequestDuration: 'http_request_duration_seconds', // histogram
  httpRequestsTotal: 'http_requests_total', // counter
  // Recommendations, labels: algorithm, version
  recommendationsTotal: 'reco_recommendations_total', // counter
  recommendationDuration: 'reco_recommendation_duration_seconds', // histogram (scoring only)
  recommendationFallbacksTotal: 'reco_recommendation_fallbacks_total', // counter: served by the popularity fallback
  usersCreatedTotal: 'reco_users_created_total', // counter, label: none (per client would leak client names)
  quotaRejectionsTotal: 'reco_quota_rejections_total', // counter: writes refused by a client's hourly quota, label: quota (users|ratings)
  recommendationCacheHitsTotal: 'reco_recommendation_cache_hits_total', // counter: lists served from the cache, labels: algorithm, version
  // Active model
  modelInfo: 'reco_model_info', // gauge = 1, labels: algorithm, version
  modelAgeSeconds: 'reco_model_age_seconds', // gauge
  modelHoldoutNdcg: 'reco_model_holdout_ndcg_at_10', // gauge
  modelHoldoutPrecision: 'reco_model_holdout_precision_at_10', // gauge
  modelHoldoutRecall: 'reco_model_holdout_recall_at_10', // gauge
  modelLoadsTotal: 'reco_model_loads_total', // counter, label: outcome (success|failure)
  // Pipeline (from the ingest ledger)
  ingestLastRunTimestamp: 'reco_ingest_last_run_timestamp_seconds', // gauge, finish time of the last run
  ingestLastRowsAccepted: 'reco_ingest_last_rows_accepted', // gauge
  ingestLastRowsRejected: 'reco_ingest_last_rows_rejected', // gauge
  ingestLastDurationSeconds: 'reco_ingest_last_duration_seconds', // gauge
  ingestRunsTotal: 'reco_ingest_runs_total', // gauge from the ledger, label: status
  ingestRowsTotal: 'reco_ingest_rows_total', // gauge from the ledger, label: outcome (accepted|rejected)
  // Jobs (train, backup, ingest), from job_runs; label: task (not `job`, which is Prometheus' target label)
  jobLastSuccessTimestamp: 'reco_job_last_success_timestamp_seconds', // gauge
  jobLastDurationSeconds: 'reco_job_last_duration_seconds', // gauge
  jobRunsTotal: 'reco_job_runs_total', // gauge from job_runs, labels: task, status
  // Catalogue
  catalogueMovies: 'reco_catalogue_movies', // gauge
  catalogueUsers: 'reco_catalogue_users', // gauge
  catalogueRatings: 'reco_catalogue_ratings', // gauge
} as const;

export type MetricName = (typeof METRICS)[keyof typeof METRICS];
