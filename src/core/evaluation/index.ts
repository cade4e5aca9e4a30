export {
  evaluateAlgorithms,
  LONG_TAIL_RANK,
  metricsRecord,
  scoreOnSplit,
  scoreRanker,
  trainingMovies,
} from './protocol.js';
export type { CurvePoint, EvaluationOptions, EvaluationReport, EvaluationRow, Ranker } from './protocol.js';
export { worldOracle } from './oracle.js';
export { rankingMetrics } from './metrics.js';
export { splitInteractions, SPLITS, type SplitKind } from './split.js';
export { datasetCitation, loadDatasetDir, MOVIELENS_CITATION, TripletBuilder, type Dataset } from './dataset.js';
