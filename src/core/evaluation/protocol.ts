import type { Algorithm, Catalogue, History, Recommender } from '../models/types.js';
import type { Interactions } from '../data/interactions.js';
import { addRankingCurve, emptyCurveSums, rankingMetrics } from './metrics.js';
import { splitInteractions, type Split, type SplitKind } from './split.js';
import { Rng } from '../data/random.js';

export interface EvaluationOptions {
  split?: SplitKind;
  k?: number;
  seed?: number;
  /** Parameters per algorithm name. */
  params?: Record<string, Record<string, unknown>>;
  onProgress?: (message: string) => void;
  /**
   * A ranking that knows each user's true tastes (the simulated world's choice probabilities): scored on the same
   * split and reported as the first row, `oracle`, the limit beside every model.
   */
  oracle?: Ranker;
  /**
   * Also score every k from 1 to this (the curve of each row) from the same lists: each user's list is ranked
   * once, max(k, curve) long; the row's own metrics, coverage and long tail still use its first k.
   */
  curve?: number;
  /**
   * Score a seeded sample of this many users (of those with test ratings) instead of all: every model is still
   * fitted on the whole training part; each row's nDCG@k then carries its 95 % confidence interval.
   */
  sampleUsers?: number;
}

/** The metrics at one cut-off k, averaged over the evaluated users. */
export interface CurvePoint {
  k: number;
  precision: number;
  recall: number;
  ndcg: number;
  map: number;
}

/** Ranks the top k of `candidates` for row `row` of the training matrix (whose history is `history`). */
export type Ranker = (row: number, history: History, k: number, candidates: ReadonlySet<number>) => number[];

/** The training movies beyond the LONG_TAIL_RANK most rated: what a model capped at that many cannot rank. */
export const LONG_TAIL_RANK = 3500;

/** One row of the evaluation table. Metric keys are the ones the registry stores (ndcg_at_10 for k = 10). */
export interface EvaluationRow {
  algorithm: string;
  params: Record<string, unknown>;
  precision: number;
  recall: number;
  ndcg: number;
  map: number;
  coverage: number;
  /** Share of the recommended items (all lists) outside the LONG_TAIL_RANK most rated training movies. */
  longTail: number;
  users: number;
  fitSeconds: number;
  recommendSeconds: number;
  /** P, R, nDCG and MAP at k = 1 … options.curve, when asked for. */
  curve?: CurvePoint[];
  /** The 95 % confidence interval of `ndcg` (normal approximation), when a sample of users was scored. */
  ndcgCi95?: [number, number];
}

export interface EvaluationReport {
  split: SplitKind;
  k: number;
  seed: number;
  counts: {
    users: number;
    movies: number;
    ratings: number;
    trainRatings: number;
    testRatings: number;
    evaluatedUsers: number;
    /** Users with test ratings, of whom `evaluatedUsers` were scored (fewer when sampled). */
    usersWithTest: number;
    candidates: number;
  };
  rows: EvaluationRow[];
}

/** A row's figures from scoring, with the standard error of its mean nDCG (the spread of the users' nDCG / √users). */
export type Scored = Omit<EvaluationRow, 'algorithm' | 'params' | 'fitSeconds'> & { ndcgStdErr: number };

/** Scores an already fitted model on a split (docs/evaluation.md, "Ranking and metrics"). */
export function scoreOnSplit(model: Recommender, split: Split, k: number, curve = 0): Scored {
  return scoreRanker(
    (_, history, n, candidates) => model.recommend(history, n, { candidates }).map((x) => x.movieId),
    split,
    k,
    curve,
  );
}

/** Scores any ranking of the candidates on a split: the metrics of every evaluated user, averaged. */
export function scoreRanker(rank: Ranker, split: Split, k: number, curve = 0): Scored {
  const { train, test } = split;
  const candidates = trainingMovies(train);
  const head = mostRated(train, LONG_TAIL_RANK);
  const recommendedAll = new Set<number>();
  let users = 0;
  let p = 0;
  let r = 0;
  let n = 0;
  let n2 = 0;
  let ap = 0;
  let listed = 0;
  let tail = 0;
  const sums = curve > 0 ? emptyCurveSums(curve) : undefined;
  const length = Math.max(k, curve);
  const started = performance.now();
  for (let u = 0; u < train.nUsers; u++) {
    if (test[u].length === 0) continue;
    const start = train.indptr[u];
    const end = train.indptr[u + 1];
    const movieIds = Array.from(train.indices.subarray(start, end), (c) => train.itemIds[c]);
    const ranked = rank(u, { movieIds, ratings: train.ratings.subarray(start, end) }, length, candidates);
    const ids = ranked.length > k ? ranked.slice(0, k) : ranked;
    for (const id of ids) {
      recommendedAll.add(id);
      if (!head.has(id)) tail++;
    }
    listed += ids.length;
    const relevant = new Set(test[u]);
    const m = rankingMetrics(ids, relevant, k);
    if (sums) addRankingCurve(ranked, relevant, sums);
    users++;
    p += m.precision;
    r += m.recall;
    n += m.ndcg;
    n2 += m.ndcg * m.ndcg;
    ap += m.ap;
  }
  const recommendSeconds = (performance.now() - started) / 1000;
  const d = Math.max(users, 1);
  return {
    precision: p / d,
    recall: r / d,
    ndcg: n / d,
    map: ap / d,
    coverage: candidates.size ? recommendedAll.size / candidates.size : 0,
    longTail: listed ? tail / listed : 0,
    users,
    recommendSeconds,
    ndcgStdErr: users > 1 ? Math.sqrt(Math.max(0, n2 - (n * n) / users) / (users - 1) / users) : 0,
    ...(sums && {
      curve: Array.from({ length: curve }, (_, i) => ({
        k: i + 1,
        precision: sums.precision[i] / d,
        recall: sums.recall[i] / d,
        ndcg: sums.ndcg[i] / d,
        map: sums.ap[i] / d,
      })),
    }),
  };
}

/** The `n` most rated movie ids of a matrix (ties to the lower id). */
export function mostRated(data: Interactions, n: number): Set<number> {
  const counts = new Int32Array(data.nItems);
  for (let p = 0; p < data.indices.length; p++) counts[data.indices[p]]++;
  const order = Array.from({ length: data.nItems }, (_, j) => j).sort((a, b) => counts[b] - counts[a] || a - b);
  return new Set(
    order
      .slice(0, n)
      .filter((j) => counts[j] > 0)
      .map((j) => data.itemIds[j]),
  );
}

/** Movies that occur in the training part: the candidate set of every evaluated user. */
export function trainingMovies(train: Interactions): Set<number> {
  const seen = new Uint8Array(train.nItems);
  for (let p = 0; p < train.indices.length; p++) seen[train.indices[p]] = 1;
  const out = new Set<number>();
  for (let j = 0; j < train.nItems; j++) if (seen[j]) out.add(train.itemIds[j]);
  return out;
}

/**
 * The whole protocol on an in-memory data set: split once (split, seed), fit every algorithm on the training
 * part, score each on the test part. Deterministic for a seed.
 */
export async function evaluateAlgorithms(
  data: Interactions,
  catalogue: Catalogue,
  algorithms: readonly Algorithm[],
  options: EvaluationOptions = {},
): Promise<EvaluationReport> {
  const split = options.split ?? 'user';
  const k = options.k ?? 10;
  const seed = options.seed ?? 42;
  const whole = splitInteractions(data, split, seed);
  const s = options.sampleUsers === undefined ? whole : sampleTestUsers(whole, options.sampleUsers, seed);
  const sampled = s !== whole;
  const row = ({ ndcgStdErr, ...scored }: Scored) => ({
    ...scored,
    ...(sampled && {
      ndcgCi95: [scored.ndcg - 1.96 * ndcgStdErr, scored.ndcg + 1.96 * ndcgStdErr] as [number, number],
    }),
  });
  const rows: EvaluationRow[] = [];
  if (options.oracle) {
    options.onProgress?.('scoring the oracle');
    rows.push({
      algorithm: 'oracle',
      params: {},
      fitSeconds: 0,
      ...row(scoreRanker(options.oracle, s, k, options.curve)),
    });
  }
  for (const algorithm of algorithms) {
    options.onProgress?.(`fitting ${algorithm.name}`);
    const model = algorithm.create({ seed, ...(options.params?.[algorithm.name] ?? {}) });
    const t0 = performance.now();
    await model.fit(s.train, catalogue);
    const fitSeconds = (performance.now() - t0) / 1000;
    options.onProgress?.(`scoring ${algorithm.name}`);
    const scored = row(scoreOnSplit(model, s, k, options.curve));
    rows.push({ algorithm: algorithm.name, params: { ...model.params }, fitSeconds, ...scored });
  }
  const testRatings = whole.test.reduce((a, t) => a + t.length, 0);
  return {
    split,
    k,
    seed,
    counts: {
      users: data.nUsers,
      movies: data.nItems,
      ratings: data.indices.length,
      trainRatings: s.train.indices.length,
      testRatings,
      evaluatedUsers: s.test.filter((t) => t.length > 0).length,
      usersWithTest: whole.test.filter((t) => t.length > 0).length,
      candidates: trainingMovies(s.train).size,
    },
    rows,
  };
}

/**
 * The split with the test ratings of only `n` of its users with test ratings, drawn by the seeded generator (a
 * partial Fisher–Yates over them in id order); the split itself when it has no more than `n` such users.
 */
export function sampleTestUsers(split: Split, n: number, seed: number): Split {
  const withTest: number[] = [];
  for (let u = 0; u < split.test.length; u++) if (split.test[u].length > 0) withTest.push(u);
  if (withTest.length <= n) return split;
  const rng = new Rng(seed, 'sample-users');
  for (let i = 0; i < n; i++) {
    const r = i + rng.int(withTest.length - i);
    const t = withTest[i];
    withTest[i] = withTest[r];
    withTest[r] = t;
  }
  const keep = new Uint8Array(split.test.length);
  for (let i = 0; i < n; i++) keep[withTest[i]] = 1;
  const empty = new Int32Array(0);
  return { train: split.train, test: split.test.map((t, u) => (keep[u] ? t : empty)) };
}

/** The registry's metric names for a row: precision_at_10, recall_at_10, ndcg_at_10, map_at_10, coverage. */
export function metricsRecord(row: EvaluationRow, k: number): Record<string, number> {
  return {
    [`precision_at_${k}`]: row.precision,
    [`recall_at_${k}`]: row.recall,
    [`ndcg_at_${k}`]: row.ndcg,
    [`map_at_${k}`]: row.map,
    coverage: row.coverage,
  };
}
