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
