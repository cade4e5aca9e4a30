import { activeModelVersion, buildFallbackModel, loadActiveModel, MODEL_CHANNEL } from '../core/training/registry.js';
import type { ModelSource } from './model-holder.js';

/** Models from the registry (src/core/training/registry.ts): the active version, else the popularity fallback. */
export const registrySource: ModelSource = {
  channel: MODEL_CHANNEL,
  activeVersion: (db) => activeModelVersion(db),
  loadActive: (db) => loadActiveModel(db),
  fallback: (db) => buildFallbackModel(db),
};
