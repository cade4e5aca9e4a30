import { RecoError } from '../errors.js';
import { unpackArtifact } from './artifact.js';
import { AutoRecommender } from './auto.js';
import { ease, easeSession } from './ease.js';
import { itemKnn } from './item-knn.js';
import { popular } from './popular.js';
import { rp3beta } from './rp3beta.js';
import { segments } from './segments.js';
import type { Algorithm, Recommender } from './types.js';

/** The concrete algorithms, in the order evaluation tables list them. */
export const ALGORITHMS: readonly Algorithm[] = [popular, segments, itemKnn, ease, easeSession, rp3beta];

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

export const ALGORITHM_NAMES: readonly string[] = [...ALGORITHMS.map((a) => a.name), 'auto'];

export function getAlgorithm(name: string): Algorithm {
  if (name === 'auto') return auto;
  const found = ALGORITHMS.find((a) => a.name === name);
  if (!found) throw new RecoError(`unknown algorithm "${name}": choose one of ${ALGORITHM_NAMES.join(', ')}`);
  return found;
}

/** Loads any artifact: the algorithm is read from its header. */
export function loadModel(bytes: Uint8Array): Recommender {
  const { algorithm } = unpackArtifact(bytes);
  if (algorithm === 'auto') throw new Error('artifact claims algorithm auto, which is never stored');
  return getAlgorithm(algorithm).load(bytes);
}

/** The movie ids a fitted model can score (every model here keeps its item list). */
export function knownMovieIds(model: Recommender): ReadonlySet<number> {
  const ids = (model as { knownMovieIds?: Int32Array }).knownMovieIds;
  return new Set(ids ? Array.from(ids) : []);
}

export { AutoRecommender };
export type { Algorithm, Recommender };
