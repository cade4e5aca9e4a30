/** The shapes shared by the experiments' storage, the server's assignment and impressions, and the reports. */

export interface ExperimentVariant {
  name: string;
  modelVersion: string;
  weight: number;
}

export interface RunningExperiment {
  id: number;
  name: string;
  /** null: the experiment covers every client. */
  clientId: number | null;
  variants: ExperimentVariant[];
  startedAt: Date;
  attributionWindowSeconds: number;
}

/** One list served: a row of `impressions` (migration 081). */
export interface ImpressionRow {
  recommendationId: string;
  shownAt: Date;
  clientId: number;
  /** users.id */
  userId: number;
  experimentId: number | null;
  variant: string | null;
  modelVersion: string;
  /** In the order shown (position 1 first). */
  movieIds: number[];
}

/** NOTIFY channel fired after an experiment starts or stops (servers reload their running experiments). */
export const EXPERIMENTS_CHANNEL = 'reco_experiments_changed';
