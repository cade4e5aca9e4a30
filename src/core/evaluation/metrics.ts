/** Ranking metrics at k for one user, exactly as docs/evaluation.md defines them. */
export interface UserMetrics {
  precision: number;
  recall: number;
  ndcg: number;
  ap: number;
}

export function rankingMetrics(recommended: ArrayLike<number>, test: ReadonlySet<number>, k: number): UserMetrics {
  let hits = 0;
  let dcg = 0;
  let apSum = 0;
  const top = Math.min(k, recommended.length);
  for (let i = 0; i < top; i++) {
    if (!test.has(recommended[i])) continue;
    hits++;
    dcg += 1 / Math.log2(i + 2);
    apSum += hits / (i + 1);
  }
  const ideal = Math.min(test.size, k);
  let idcg = 0;
  for (let i = 0; i < ideal; i++) idcg += 1 / Math.log2(i + 2);
  return {
    precision: hits / k,
    recall: test.size > 0 ? hits / test.size : 0,
    ndcg: idcg > 0 ? dcg / idcg : 0,
    ap: ideal > 0 ? apSum / ideal : 0,
  };
}

/** Sums of the metrics over users at every k from 1 to `precision.length` (index k − 1). */
export interface CurveSums {
  precision: Float64Array;
  recall: Float64Array;
  ndcg: Float64Array;
  ap: Float64Array;
}

export function emptyCurveSums(maxK: number): CurveSums {
  return {
    precision: new Float64Array(maxK),
    recall: new Float64Array(maxK),
    ndcg: new Float64Array(maxK),
    ap: new Float64Array(maxK),
  };
}

/**
 * Adds one user's rankingMetrics at every k = 1 … maxK to `sums`, in one pass over the ranking: the value at k
 * is what rankingMetrics(recommended, test, k) gives, read off the prefix sums.
 */
export function addRankingCurve(recommended: ArrayLike<number>, test: ReadonlySet<number>, sums: CurveSums): void {
  const maxK = sums.precision.length;
  let hits = 0;
  let dcg = 0;
  let apSum = 0;
  let idcg = 0;
  for (let i = 0; i < maxK; i++) {
    if (i < recommended.length && test.has(recommended[i])) {
      hits++;
      dcg += 1 / Math.log2(i + 2);
      apSum += hits / (i + 1);
    }
    if (i < test.size) idcg += 1 / Math.log2(i + 2);
    const k = i + 1;
    const ideal = Math.min(test.size, k);
    sums.precision[i] += hits / k;
    sums.recall[i] += test.size > 0 ? hits / test.size : 0;
    sums.ndcg[i] += idcg > 0 ? dcg / idcg : 0;
    sums.ap[i] += ideal > 0 ? apSum / ideal : 0;
  }
}
