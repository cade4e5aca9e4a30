import type { ServerStats } from '../core/db/repositories/server-stats.js';
import type { RecoMetrics } from '../core/metrics/registry.js';
import type { LoadedModel } from './model-holder.js';

const seconds = (d: Date | null | undefined) => (d ? new Date(d).getTime() / 1000 : 0);

/** The active-model gauges: info = 1 for the served model only, its age and holdout metrics. */
export function updateModelGauges(m: RecoMetrics, model: LoadedModel | undefined): void {
  m.modelInfo.reset();
  if (!model) return;
  m.modelInfo.set({ algorithm: model.algorithm, version: model.version }, 1);
  m.modelAgeSeconds.set(Math.max(0, Date.now() / 1000 - seconds(model.createdAt)));
  const metric = (k: string) => (typeof model.metrics?.[k] === 'number' ? model.metrics[k] : NaN);
  m.modelHoldoutNdcg.set(metric('ndcg_at_10'));
  m.modelHoldoutPrecision.set(metric('precision_at_10'));
  m.modelHoldoutRecall.set(metric('recall_at_10'));
}

/** Ledger, job and catalogue gauges from one read of the database. */
export function updateStatsGauges(m: RecoMetrics, s: ServerStats): void {
  if (s.lastIngest) {
    m.ingestLastRunTimestamp.set(seconds(s.lastIngest.finishedAt));
    m.ingestLastRowsAccepted.set(s.lastIngest.rowsAccepted);
    m.ingestLastRowsRejected.set(s.lastIngest.rowsRejected);
    if (s.lastIngest.durationSeconds !== null) m.ingestLastDurationSeconds.set(s.lastIngest.durationSeconds);
  }
  for (const [status, n] of Object.entries(s.ingestRuns)) m.ingestRunsTotal.set({ status }, n);
  m.ingestRowsTotal.set({ outcome: 'accepted' }, s.ingestRows.accepted);
  m.ingestRowsTotal.set({ outcome: 'rejected' }, s.ingestRows.rejected);
  for (const j of s.jobs) {
    if (j.last_success_at) m.jobLastSuccessTimestamp.set({ task: j.job }, seconds(j.last_success_at));
    if (j.last_duration_seconds !== null) m.jobLastDurationSeconds.set({ task: j.job }, Number(j.last_duration_seconds));
    m.jobRunsTotal.set({ task: j.job, status: 'succeeded' }, j.succeeded);
    m.jobRunsTotal.set({ task: j.job, status: 'failed' }, j.failed);
    m.jobRunsTotal.set({ task: j.job, status: 'running' }, j.running);
  }
  m.catalogueMovies.set(Number(s.catalogue.movies));
  m.catalogueUsers.set(Number(s.catalogue.users));
  m.catalogueRatings.set(Number(s.catalogue.ratings));
}
