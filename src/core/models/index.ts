import { RecoError } from '../errors.js';
import { unpackArtifact } from './artifact.js';
import { ease, easeSession } from './ease.js';
import { itemKnn } from './item-knn.js';
import { popular } from './popular.js';
import { rp3beta } from './rp3beta.js';
import { segments } from './segments.js';
import type { Algorithm, Recommender } from './types.js';

/** The concrete algorithms, in the order evaluation tables list them. `auto` sits above them (core/training). */
export const ALGORITHMS: readonly Algorithm[] = [popular, segments, itemKnn, ease, easeSession, rp3beta];

/** Loads any artifact: the algorithm is read from its header. */
export function loadModel(bytes: Uint8Array): Recommender {
  const { algorithm } = unpackArtifact(bytes);
  if (algorithm === 'auto') throw new Error('artifact claims algorithm auto, which is never stored');
  const found = ALGORITHMS.find((a) => a.name === algorithm);
  if (!found) throw new RecoError(`unknown algorithm "${algorithm}": choose one of ${[...ALGORITHMS.map((a) => a.name), 'auto'].join(', ')}`);
  return found.load(bytes);
}

/** The movie ids a fitted model can score (every model here keeps its item list). */
export function knownMovieIds(model: Recommender): ReadonlySet<number> {
  const ids = (model as { knownMovieIds?: Int32Array }).knownMovieIds;
  return new Set(ids ? Array.from(ids) : []);
}

export type { Algorithm, Recommender };
