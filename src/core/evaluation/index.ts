import { ALGORITHM_NAMES, getAlgorithm } from '../models/index.js';
import type { Catalogue, Interactions } from '../models/types.js';
import { evaluateAlgorithms, type EvaluationOptions, type EvaluationReport } from './protocol.js';

export { evaluateAlgorithms, LONG_TAIL_RANK, metricsRecord, scoreOnSplit, scoreRanker, trainingMovies } from './protocol.js';
export type { EvaluationOptions, EvaluationReport, EvaluationRow, Ranker } from './protocol.js';
export { worldOracle } from './oracle.js';
export { rankingMetrics } from './metrics.js';
export { splitInteractions, SPLITS, type SplitKind } from './split.js';
export { loadDatasetDir, TripletBuilder, type Dataset } from './dataset.js';

/**
 * The protocol of docs/evaluation.md on an in-memory data set for algorithms given by name (default: all, auto last).
 * For the simulation: `evaluate(interactions, catalogue, ['popular', 'ease'])` shows whether a model trained
 * on simulated data beats popular.
 */
export async function evaluate(
  data: Interactions,
  catalogue: Catalogue,
  algorithms: readonly string[] = ALGORITHM_NAMES,
  options: EvaluationOptions = {},
): Promise<EvaluationReport> {
  return evaluateAlgorithms(data, catalogue, algorithms.map(getAlgorithm), options);
}
