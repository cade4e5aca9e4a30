import type { ServerStats } from '../core/db/repositories/server-stats.js';
import { type RecoMetrics, setCounterTotal } from '../core/metrics/registry.js';
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
  setCounterTotal(m.ingestRunsTotal, { status: 'succeeded' }, s.ingestRuns.succeeded);
  setCounterTotal(m.ingestRunsTotal, { status: 'failed' }, s.ingestRuns.failed);
  m.ingestRunsInProgress.set(s.ingestRuns.running);
  setCounterTotal(m.ingestRowsTotal, { outcome: 'accepted' }, s.ingestRows.accepted);
  setCounterTotal(m.ingestRowsTotal, { outcome: 'rejected' }, s.ingestRows.rejected);
  for (const j of s.jobs) {
    // 0 = never succeeded (the series of every scheduled task exists from the start: registry.ts).
    m.jobLastSuccessTimestamp.set({ task: j.job }, seconds(j.last_success_at));
    if (j.last_duration_seconds !== null)
      m.jobLastDurationSeconds.set({ task: j.job }, Number(j.last_duration_seconds));
    setCounterTotal(m.jobRunsTotal, { task: j.job, status: 'succeeded' }, j.succeeded);
    setCounterTotal(m.jobRunsTotal, { task: j.job, status: 'failed' }, j.failed);
    m.jobRunsInProgress.set({ task: j.job }, j.running);
  }
  m.databaseCreatedTimestamp.set(seconds(s.databaseCreatedAt));
  m.catalogueMovies.set(Number(s.catalogue.movies));
  m.catalogueUsers.set(Number(s.catalogue.users));
  m.catalogueRatings.set(Number(s.catalogue.ratings));
}
