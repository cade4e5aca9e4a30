import { evaluateAlgorithms, type EvaluationReport, type EvaluationRow } from '../evaluation/protocol.js';
import type { SplitKind } from '../evaluation/split.js';
import { withDefaults } from '../models/params.js';
import type { Algorithm, Catalogue, History, Recommendation, RecommendOptions, Recommender } from '../models/types.js';
import type { Interactions } from '../data/interactions.js';

export type AutoParams = {
  candidates: string;
  split: SplitKind;
  seed: number;
  k: number;
};

const DEFAULTS: AutoParams = {
  candidates: 'popular,segments,item-knn,ease,ease-session,rp3beta',
  split: 'user',
  seed: 42,
  k: 10,
};

/** The holdout selection: every candidate's figures and the winner (best nDCG@k, ties to the earlier one). */
export interface Selection {
  report: EvaluationReport;
  winner: EvaluationRow;
}

export async function selectBest(
  data: Interactions,
  catalogue: Catalogue,
  candidates: readonly Algorithm[],
  params: {
    split?: SplitKind;
    seed?: number;
    k?: number;
    /** Score a seeded sample of this many holdout users (EvaluationOptions.sampleUsers). */
    sampleUsers?: number;
    params?: Record<string, Record<string, unknown>>;
    onProgress?: (m: string) => void;
  } = {},
): Promise<Selection> {
  const report = await evaluateAlgorithms(data, catalogue, withoutIdenticalFits(candidates, data), params);
  let winner = report.rows[0];
  for (const row of report.rows) if (row.ndcg > winner.ndcg) winner = row;
  return { report, winner };
}

/**
 * The candidates less those whose fit is provably another's: `ease-session` beside `ease` when the ratings carry
 * no timestamps or all the same one (its Gram is then (XᵀX + w·XᵀX)/(1 + w) = XᵀX, plain EASE's).
 */
export function withoutIdenticalFits(candidates: readonly Algorithm[], data: Interactions): readonly Algorithm[] {
  const names = new Set(candidates.map((a) => a.name));
  if (!names.has('ease') || !names.has('ease-session')) return candidates;
  const ts = data.timestamps;
  let varies = false;
  if (ts) for (let p = 1; p < ts.length && !varies; p++) varies = ts[p] !== ts[0];
  return varies ? candidates : candidates.filter((a) => a.name !== 'ease-session');
}

/**
 * `auto`: fits each candidate on a holdout split of the data it is given, keeps the best by nDCG@10, and
 * refits that one on all of it. It then behaves as, and serialises as, the winner (whose name `algorithm` gives).
 */
export class AutoRecommender implements Recommender {
  readonly params: AutoParams;
  selection: Selection | undefined;
  private inner: Recommender | undefined;

  constructor(
    private readonly resolve: (name: string) => Algorithm,
    params: Record<string, unknown> = {},
  ) {
    this.params = withDefaults(DEFAULTS, params);
  }

  get algorithm(): string {
    return this.inner?.algorithm ?? 'auto';
  }

  get winner(): Recommender | undefined {
    return this.inner;
  }

  async fit(data: Interactions, catalogue: Catalogue): Promise<void> {
    const candidates = this.params.candidates.split(',').map((s) => this.resolve(s.trim()));
    this.selection = await selectBest(data, catalogue, candidates, this.params);
    const model = this.resolve(this.selection.winner.algorithm).create({ seed: this.params.seed });
    await model.fit(data, catalogue);
    this.inner = model;
  }

  recommend(history: History, n: number, options?: RecommendOptions): Recommendation[] {
    if (!this.inner) throw new Error('auto model is not fitted');
    return this.inner.recommend(history, n, options);
  }

  similar(movieId: number, n: number, options?: RecommendOptions): Recommendation[] | undefined {
    if (!this.inner) throw new Error('auto model is not fitted');
    return this.inner.similar?.(movieId, n, options);
  }

  get explain(): Recommender['explain'] {
    return this.inner?.explain?.bind(this.inner);
  }

  serialize(): Uint8Array {
    if (!this.inner) throw new Error('auto model is not fitted');
    return this.inner.serialize();
  }
}
