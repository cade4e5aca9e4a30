import type { Interactions } from '../data/interactions.js';
import { RecoError } from '../errors.js';
import { evaluateAlgorithms, type EvaluationOptions, type EvaluationReport } from '../evaluation/protocol.js';
import { ALGORITHMS, loadModel } from '../models/index.js';
import type { Algorithm, Catalogue } from '../models/types.js';
import { AutoRecommender } from './auto.js';

/**
 * What `auto` compares on its holdout: every algorithm. A candidate is left out only where its fit is provably
 * the same as another's (`selectBest`: ease-session without usable timestamps is plain ease) — an assumption
 * measured on one data set is not proof (ease-session beat ease on MovieLens and lost on a niche world).
 */
export const AUTO_CANDIDATES: readonly Algorithm[] = ALGORITHMS;

export const auto: Algorithm = {
  name: 'auto',
  description: 'fits every algorithm on a holdout split, keeps the best by nDCG@10, refits it on all data',
  create: (params) => new AutoRecommender(getAlgorithm, params),
  load: (bytes) => loadModel(bytes),
};

/** Every name `reco train` and `reco evaluate` accept: the concrete algorithms, then `auto`. */
export const ALGORITHM_NAMES: readonly string[] = [...ALGORITHMS.map((a) => a.name), 'auto'];

export function getAlgorithm(name: string): Algorithm {
  if (name === 'auto') return auto;
  const found = ALGORITHMS.find((a) => a.name === name);
  if (!found) throw new RecoError(`unknown algorithm "${name}": choose one of ${ALGORITHM_NAMES.join(', ')}`);
  return found;
}

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
