import { Rng } from '../data/random.js';
import { filterEntries } from '../data/interactions.js';
import type { Interactions } from '../data/interactions.js';

export type SplitKind = 'user' | 'item' | 'temporal';
export const SPLITS: readonly SplitKind[] = ['user', 'item', 'temporal'];

/** The training share of each group (docs/evaluation.md: round(0.75 × count)). */
export const TRAIN_SHARE = 0.75;

/**
 * round() as the reference (numpy / Python 3) does it: halves go to the even neighbour (6 ratings → 4 train,
 * where Math.round would give 5). Matters for one rating of about one user in eight.
 */
export function trainCount(n: number): number {
  const x = TRAIN_SHARE * n;
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

export interface Split {
  train: Interactions;
  /** test[u] = the movie ids of row u's test ratings (empty when none). */
  test: Int32Array[];
}

/**
 * The splits of docs/evaluation.md. `user`: each user's ratings shuffled by the seeded generator, the first
 * round(0.75·n) train (halves to even, as numpy); `item`: the same per movie; `temporal`: each user's latest 25 % by timestamp are test.
 * Groups are visited in ascending id order with one generator stream, so a seed gives one split.
 */
export function splitInteractions(data: Interactions, kind: SplitKind, seed: number): Split {
  const nnz = data.indices.length;
  const keep = new Uint8Array(nnz);
  const rng = new Rng(seed, `split-${kind}`);
  const takeShuffled = (positions: number[]) => {
    for (let i = positions.length - 1; i > 0; i--) {
      const r = rng.int(i + 1);
      const t = positions[i];
      positions[i] = positions[r];
      positions[r] = t;
    }
    const nTrain = trainCount(positions.length);
    for (let i = 0; i < nTrain; i++) keep[positions[i]] = 1;
  };
  if (kind === 'user') {
    for (let u = 0; u < data.nUsers; u++) {
      const positions: number[] = [];
      for (let p = data.indptr[u]; p < data.indptr[u + 1]; p++) positions.push(p);
      takeShuffled(positions);
    }
  } else if (kind === 'item') {
    const byItem: number[][] = Array.from({ length: data.nItems }, () => []);
    for (let p = 0; p < nnz; p++) byItem[data.indices[p]].push(p);
    for (const positions of byItem) takeShuffled(positions);
  } else {
    if (!data.timestamps) throw new Error('the temporal split needs timestamps');
    const ts = data.timestamps;
    for (let u = 0; u < data.nUsers; u++) {
      const positions: number[] = [];
      for (let p = data.indptr[u]; p < data.indptr[u + 1]; p++) positions.push(p);
      positions.sort((a, b) => ts[a] - ts[b] || a - b);
      const nTrain = trainCount(positions.length);
      for (let i = 0; i < nTrain; i++) keep[positions[i]] = 1;
    }
  }
  const test: Int32Array[] = [];
  for (let u = 0; u < data.nUsers; u++) {
    const ids: number[] = [];
    for (let p = data.indptr[u]; p < data.indptr[u + 1]; p++) if (!keep[p]) ids.push(data.itemIds[data.indices[p]]);
    test.push(Int32Array.from(ids));
  }
  return { train: filterEntries(data, keep), test };
}
