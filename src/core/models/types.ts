/**
 * The one interface every recommendation algorithm implements (in the spirit of LensKit): fit on an
 * interaction matrix, recommend for any history — also one the model never saw, so a new user is served
 * without retraining — and serialise to bytes for the registry. Evaluation and the server use only this.
 */
import type { Interactions } from '../data/interactions.js';

/** What the model may know about the catalogue besides interactions (used by content-aware models). */
export interface Catalogue {
  /** movieId → genres. */
  readonly genres: ReadonlyMap<number, readonly string[]>;
}

/** A user's known ratings, by MovieLens movie id. Movies the model never saw are ignored. */
export interface History {
  readonly movieIds: ArrayLike<number>;
  /** Optional ratings aligned with movieIds; absent means "watched / liked" (implicit). */
  readonly ratings?: ArrayLike<number>;
}

export interface Recommendation {
  movieId: number;
  score: number;
}

export interface RecommendOptions {
  /** Movies never to return besides those in the history (already rated are always excluded). */
  exclude?: ReadonlySet<number>;
  /** Restrict to these movies (evaluation candidates). */
  candidates?: ReadonlySet<number>;
}

export interface Recommender {
  readonly algorithm: string;
  readonly params: Readonly<Record<string, unknown>>;
  fit(data: Interactions, catalogue: Catalogue): Promise<void>;
  /** Top `n` movies for this history, best first, never a movie in the history. */
  recommend(history: History, n: number, options?: RecommendOptions): Recommendation[];
  /** Bytes that `load` of the same algorithm turns back into an equivalent fitted model. */
  serialize(): Uint8Array;
  /**
   * Optional: the `n` movies most like `movieId` by the model's own item–item weights (positive weights only),
   * best first, never `movieId` itself; undefined when the model has no weights for that movie. Models without
   * item weights leave it out (the server then falls back to shared genres).
   */
  similar?(movieId: number, n: number, options?: RecommendOptions): Recommendation[] | undefined;
  /**
   * Optional, for models whose score is a sum over the history: for each of `movieIds`, the (at most `k`) history
   * movies that added the most to its score, with what each added (positive contributions only), largest first.
   */
  explain?(history: History, movieIds: readonly number[], k: number): Contribution[][];
}

export interface Contribution {
  movieId: number;
  weight: number;
}

export interface Algorithm {
  readonly name: string;
  readonly description: string;
  create(params?: Record<string, unknown>): Recommender;
  load(bytes: Uint8Array): Recommender;
}
