import { runningExperiments } from '../core/db/repositories/experiments.js';
import { EXPERIMENTS_CHANNEL } from '../core/experiments/types.js';
import {
  activeModelVersion,
  buildFallbackModel,
  loadActiveModel,
  loadModelVersion,
  MODEL_CHANNEL,
} from '../core/training/registry.js';
import type { ExperimentSource } from './experiment-holder.js';
import type { ModelSource } from './model-holder.js';

/** Models from the registry (src/core/training/registry.ts): the active version, else the popularity fallback. */
export const registrySource: ModelSource = {
  channel: MODEL_CHANNEL,
  activeVersion: (db) => activeModelVersion(db),
  loadActive: (db) => loadActiveModel(db),
  fallback: (db) => buildFallbackModel(db),
};

/** Running experiments from the database, their variants' models from the registry (any version, active or not). */
export const registryExperimentSource: ExperimentSource = {
  channel: EXPERIMENTS_CHANNEL,
  running: (db) => runningExperiments(db),
  load: (db, version) => loadModelVersion(db, version),
};
