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
  similarCacheHitsTotal: 'reco_similar_cache_hits_total', // counter: GET /movies/{movie_id}/similar answers served from memory, no labels
  // Feedback (POST /feedback), labels: type (rating|view|like|dislike|skip|unknown), outcome (stored|duplicate|rejected)
  feedbackEventsTotal: 'reco_feedback_events_total', // counter
  // Experiments, labels: experiment, variant (an impression outside any experiment, --impressions all: both empty)
  experimentListsServedTotal: 'reco_experiment_lists_served_total', // counter: lists served to users inside a running experiment
  impressionsRecordedTotal: 'reco_impressions_recorded_total', // counter: impressions written to the database
  impressionsDroppedTotal: 'reco_impressions_dropped_total', // counter, also label: reason (overflow: buffer full|error: write failed)
  // Active model
  modelInfo: 'reco_model_info', // gauge = 1, labels: algorithm, version
  modelAgeSeconds: 'reco_model_age_seconds', // gauge
  modelHoldoutNdcg: 'reco_model_holdout_ndcg_at_10', // gauge
  modelHoldoutPrecision: 'reco_model_holdout_precision_at_10', // gauge
  modelHoldoutRecall: 'reco_model_holdout_recall_at_10', // gauge
  modelLoadsTotal: 'reco_model_loads_total', // counter, label: outcome (success|failure)
  warmUpSeconds: 'reco_warm_up_seconds', // gauge, the last warm-up's duration, label: reason (start|model|catalogue)
  // Pipeline (from the ingest ledger)
  ingestLastRunTimestamp: 'reco_ingest_last_run_timestamp_seconds', // gauge, finish time of the last run
  ingestLastRowsAccepted: 'reco_ingest_last_rows_accepted', // gauge
  ingestLastRowsRejected: 'reco_ingest_last_rows_rejected', // gauge
  ingestLastDurationSeconds: 'reco_ingest_last_duration_seconds', // gauge
  // Totals read from the database are counters (they only grow; a restore is a counter reset to Prometheus).
  ingestRunsTotal: 'reco_ingest_runs_total', // counter from the ledger, finished runs, label: status (succeeded|failed)
  ingestRunsInProgress: 'reco_ingest_runs_in_progress', // gauge from the ledger
  ingestRowsTotal: 'reco_ingest_rows_total', // counter from the ledger, label: outcome (accepted|rejected)
  // Jobs (train, backup, ingest), from job_runs; label: task (not `job`, which is Prometheus' target label).
  // Every scheduled task (SCHEDULED_TASKS) is exported from the start: a timestamp of 0 means "never succeeded".
  jobLastSuccessTimestamp: 'reco_job_last_success_timestamp_seconds', // gauge, 0 = never
  jobLastDurationSeconds: 'reco_job_last_duration_seconds', // gauge
  jobRunsTotal: 'reco_job_runs_total', // counter from job_runs, finished runs, labels: task, status (succeeded|failed)
  jobRunsInProgress: 'reco_job_runs_in_progress', // gauge from job_runs, label: task
  // When the database schema was created (its first migration): where "never succeeded" starts to count
  databaseCreatedTimestamp: 'reco_database_created_timestamp_seconds', // gauge, 0 = unknown
  // Catalogue
  catalogueMovies: 'reco_catalogue_movies', // gauge
  catalogueUsers: 'reco_catalogue_users', // gauge
  catalogueRatings: 'reco_catalogue_ratings', // gauge
} as const;

/** The tasks the CronJobs run: their job series exist before their first run. */
export const SCHEDULED_TASKS = ['ingest', 'train', 'backup'] as const;

export type MetricName = (typeof METRICS)[keyof typeof METRICS];
