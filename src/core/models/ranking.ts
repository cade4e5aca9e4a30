import type { Contribution, History, Recommendation, RecommendOptions } from './types.js';

/** The history mapped onto a model's item columns; movies the model never saw are left out. */
export interface HistoryColumns {
  cols: Int32Array;
  ratings: Float32Array;
}

export function historyColumns(index: ReadonlyMap<number, number>, history: History, defaultRating = 4): HistoryColumns {
  const n = history.movieIds.length;
  const cols: number[] = [];
  const ratings: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = index.get(Number(history.movieIds[i]));
    if (c === undefined) continue;
    cols.push(c);
    ratings.push(history.ratings ? Number(history.ratings[i]) : defaultRating);
  }
  return { cols: Int32Array.from(cols), ratings: Float32Array.from(ratings) };
}

/**
 * The best `n` columns by score, best first, skipping the history, `exclude` and anything outside
 * `candidates`. Ties go to the lower movie id, so results are deterministic. O(items · small n).
 */
export function topN(
  itemIds: Int32Array,
  scores: Float64Array | Float32Array,
  n: number,
  history: History,
  options: RecommendOptions = {},
): Recommendation[] {
  const nItems = itemIds.length;
  const blocked = new Set<number>();
  for (let i = 0; i < history.movieIds.length; i++) blocked.add(Number(history.movieIds[i]));
  const { exclude, candidates } = options;
  const k = Math.max(0, Math.min(n, nItems));
  const bestCol = new Int32Array(k);
  const bestScore = new Float64Array(k).fill(-Infinity);
  let filled = 0;
  for (let j = 0; j < nItems; j++) {
    const s = scores[j];
    if (filled === k && !(s > bestScore[k - 1])) continue;
    if (Number.isNaN(s)) continue;
    const id = itemIds[j];
    if (blocked.has(id) || (exclude && exclude.has(id)) || (candidates && !candidates.has(id))) continue;
    let pos = filled < k ? filled++ : k - 1;
    while (pos > 0 && bestScore[pos - 1] < s) {
      bestScore[pos] = bestScore[pos - 1];
      bestCol[pos] = bestCol[pos - 1];
      pos--;
    }
    bestScore[pos] = s;
    bestCol[pos] = j;
  }
  const out: Recommendation[] = [];
  for (let p = 0; p < filled; p++) out.push({ movieId: itemIds[bestCol[p]], score: bestScore[p] });
  return out;
}

/**
 * The columns a model does not score for a history, by scores fixed at fit (e.g. EASE's unmodelled movies by
 * popularity): best first, ties to the lower column, as topN orders them.
 */
export interface FixedTail {
  cols: Int32Array;
  scores: Float64Array;
}

export function fixedTail(cols: ArrayLike<number>, scoreOf: (col: number) => number): FixedTail {
  const order = Array.from(cols, (col) => ({ col, score: scoreOf(col) }));
  order.sort((a, b) => b.score - a.score || a.col - b.col);
  return { cols: Int32Array.from(order, (x) => x.col), scores: Float64Array.from(order, (x) => x.score) };
}

/**
 * topN's answer over all columns, for a model that scores some columns (`scoredCols`, with `scores`) and leaves the
 * others in an order fixed at fit (`tail`: e.g. EASE's unmodelled movies by popularity; a tail column marked in
 * `skip` is one of the scored ones, and is passed over there): the best of the scored columns merged with the tail,
 * walked from its best while a tail score can still enter the answer. It reads the scored columns and as much of the
 * tail as the answer needs, where topN reads every column (62,423 at ML-25M's catalogue). Held to topN by
 * test/models/ease-ranking.test.ts.
 */
export function topNScoredThenTail(
  itemIds: Int32Array,
  scoredCols: Int32Array,
  scores: Float64Array,
  tail: FixedTail,
  n: number,
  history: History,
  options: RecommendOptions = {},
  skip?: Uint8Array,
): Recommendation[] {
  const blocked = new Set<number>();
  for (let i = 0; i < history.movieIds.length; i++) blocked.add(Number(history.movieIds[i]));
  const { exclude, candidates } = options;
  const passes = (id: number) => !blocked.has(id) && !(exclude && exclude.has(id)) && !(candidates && !candidates.has(id));
  const k = Math.max(0, Math.min(n, itemIds.length));
  const bestCol = new Int32Array(k);
  const bestScore = new Float64Array(k).fill(-Infinity);
  let filled = 0;
  // Score descending, ties to the lower column, whatever the order in which columns come.
  const before = (s: number, col: number, pos: number) => s > bestScore[pos] || (s === bestScore[pos] && col < bestCol[pos]);
  const insert = (s: number, col: number) => {
    let pos = filled < k ? filled++ : k - 1;
    while (pos > 0 && before(s, col, pos - 1)) {
      bestScore[pos] = bestScore[pos - 1];
      bestCol[pos] = bestCol[pos - 1];
      pos--;
    }
    bestScore[pos] = s;
    bestCol[pos] = col;
  };
  for (let b = 0; b < scoredCols.length; b++) {
    const s = scores[b];
    const col = scoredCols[b];
    if (filled === k && !before(s, col, k - 1)) continue;
    if (Number.isNaN(s) || !passes(itemIds[col])) continue;
    insert(s, col);
  }
  for (let t = 0; t < tail.cols.length; t++) {
    const s = tail.scores[t];
    const col = tail.cols[t];
    // The tail is in topN's order: once a score is below the answer's last, none after it can enter.
    if (filled === k && (k === 0 || s < bestScore[k - 1])) break;
    if ((skip && skip[col]) || (filled === k && !before(s, col, k - 1))) continue;
    if (passes(itemIds[col])) insert(s, col);
  }
  const out: Recommendation[] = [];
  for (let p = 0; p < filled; p++) out.push({ movieId: itemIds[bestCol[p]], score: bestScore[p] });
  return out;
}

/** Counts normalised to (0, 1]: a tie-breaker that ranks unscored movies by popularity. */
export function popularityPrior(counts: ArrayLike<number>): Float32Array {
  let max = 0;
  for (let j = 0; j < counts.length; j++) max = Math.max(max, counts[j]);
  const out = new Float32Array(counts.length);
  if (max > 0) for (let j = 0; j < counts.length; j++) out[j] = counts[j] / max;
  return out;
}

/**
 * `similar` from a row of item–item weights: the movies with a positive weight, best first, without the movie
 * itself, `exclude` and anything outside `candidates` (topN's rules).
 */
export function topSimilar(itemIds: Int32Array, weights: Float64Array, movieId: number, n: number, options?: RecommendOptions): Recommendation[] {
  for (let j = 0; j < weights.length; j++) if (!(weights[j] > 0)) weights[j] = NaN;
  return topN(itemIds, weights, n, { movieIds: [movieId] }, options);
}

/** No fixed order: topNScoredThenTail over the scored columns alone (every other column is out of the answer). */
const NO_TAIL: FixedTail = { cols: new Int32Array(0), scores: new Float64Array(0) };

/**
 * topSimilar over the given columns only (`weights[i]` of `cols[i]`; every other column's weight is 0): the same
 * answer without an array of the whole catalogue, for a row a model holds sparsely.
 */
export function topSimilarAmong(
  itemIds: Int32Array,
  cols: ArrayLike<number>,
  weights: ArrayLike<number>,
  movieId: number,
  n: number,
  options?: RecommendOptions,
): Recommendation[] {
  const kept: number[] = [];
  const scores: number[] = [];
  for (let i = 0; i < cols.length; i++)
    if (weights[i] > 0) {
      kept.push(cols[i]);
      scores.push(weights[i]);
    }
  return topNScoredThenTail(itemIds, Int32Array.from(kept), Float64Array.from(scores), NO_TAIL, n, { movieIds: [movieId] }, options);
}

/**
 * `explain` for models that score a movie by summing item–item weights from the history: `weight(h, c)` is what
 * history column h adds to column c (0 when nothing). Per movie, the k largest positive contributions (ties: the
 * lower movie id first), kept by insertion as they come: a sort of every positive contribution per movie cost more
 * than the scoring of an uncached answer. topContributionsBySort is the plain reference
 * (test/models/explain-contributions.test.ts compares them).
 */
export function topContributions(
  index: ReadonlyMap<number, number>,
  itemIds: Int32Array,
  history: History,
  movieIds: readonly number[],
  k: number,
  weight: (h: number, c: number) => number,
): Contribution[][] {
  const cols = historyColumns(index, history).cols;
  return movieIds.map((id) => {
    const c = index.get(id);
    const best: Contribution[] = [];
    if (c === undefined || k <= 0) return best;
    for (const h of cols) {
      const w = weight(h, c);
      if (!(w > 0)) continue;
      const movieId = itemIds[h];
      if (best.length === k) {
        const last = best[k - 1];
        if (!(w > last.weight || (w === last.weight && movieId < last.movieId))) continue;
        best.pop();
      }
      // Insert in order: the weight descending, then the movie id ascending.
      let i = best.length;
      while (i > 0 && (w > best[i - 1].weight || (w === best[i - 1].weight && movieId < best[i - 1].movieId))) i--;
      best.splice(i, 0, { movieId, weight: w });
    }
    return best;
  });
}

/** The plain form of topContributions: every positive contribution, sorted, the first k. */
export function topContributionsBySort(
  index: ReadonlyMap<number, number>,
  itemIds: Int32Array,
  history: History,
  movieIds: readonly number[],
  k: number,
  weight: (h: number, c: number) => number,
): Contribution[][] {
  const cols = historyColumns(index, history).cols;
  return movieIds.map((id) => {
    const c = index.get(id);
    if (c === undefined) return [];
    const out: Contribution[] = [];
    for (const h of cols) {
      const w = weight(h, c);
      if (w > 0) out.push({ movieId: itemIds[h], weight: w });
    }
    return out.sort((a, b) => b.weight - a.weight || a.movieId - b.movieId).slice(0, k);
  });
}
