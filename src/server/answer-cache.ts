import { LRUCache } from 'lru-cache';

/**
 * Everything the body of a known user's answer depends on (recommend.ts); a request with nothing new to store
 * (no history, no stated tastes) is answered from the cache when all of these are equal.
 */
export interface AnswerKey {
  /** The calling client: one client never sees another's answer. */
  clientId: number;
  /** users.id of the client's user. */
  userId: number;
  /** The version of the model that scores (the active one, or the user's variant's). */
  modelVersion: string;
  /** `<experiment id>/<variant>` inside a running experiment, else ''. */
  variant: string;
  /** The database's fingerprint of the user's whole history (history-cache.ts), and stated tastes when any. */
  history: string;
  /** CatalogueCache.generation: titles, genres and years of the answer and of the filter. */
  catalogue: number;
  n: number;
  explain: boolean;
  /** The request's filter as JSON, '' without one. */
  filter: string;
}

/** An answer of POST /recommendations: the response body byte for byte, and what serving it again counts and records. */
export interface Answer {
  body: Buffer;
  recommendationId: string;
  /** The answer's movies in order (its impression). */
  movieIds: number[];
  /** The `model` of the answer, for its metrics' labels. */
  labels: { algorithm: string; version: string };
}

/** The default byte bound: about 20,000 answers of 10 movies, far more than the default 10,000 entries. */
export const DEFAULT_ANSWER_CACHE_BYTES = 64 * 1024 * 1024;

export interface AnswerCacheOptions {
  /** Answers held at most; 0 turns the cache off. */
  maxEntries: number;
  /** Their approximate size in bytes at most (body, key, movie ids). */
  maxBytes: number;
}

/**
 * The answers of POST /recommendations for known users, so that the same request again costs a lookup instead of
 * scoring, rendering, explaining and serialising (docs/benchmarks/serve.md). One invalidation rule: an answer is
 * used only under its exact key, and any change to what the answer depends on — a new model or variant, a changed
 * history, a catalogue refresh — changes the key, so nothing is ever purged; answers no longer asked for age out
 * (least recently used first, lru-cache) within the bounds.
 */
export class AnswerCache {
  private readonly lru: LRUCache<string, Answer> | undefined;

  constructor(options: AnswerCacheOptions) {
    if (options.maxEntries > 0 && options.maxBytes > 0)
      this.lru = new LRUCache({
        max: options.maxEntries,
        maxSize: options.maxBytes,
        sizeCalculation: (a, key) => answerBytes(key, a),
      });
  }

  /** The key's text: the components in a fixed order; the client first and numeric, the free-form filter last. */
  static key(k: AnswerKey): string {
    return `${k.clientId}\u0001${k.userId}\u0001${k.modelVersion}\u0001${k.variant}\u0001${k.history}\u0001${k.catalogue}\u0001${k.n}\u0001${k.explain ? 1 : 0}\u0001${k.filter}`;
  }

  get(key: string): Answer | undefined {
    return this.lru?.get(key);
  }

  set(key: string, answer: Answer): void {
    this.lru?.set(key, answer);
  }

  get size(): number {
    return this.lru?.size ?? 0;
  }

  /** The approximate bytes held (what `maxBytes` bounds). */
  get bytes(): number {
    return this.lru?.calculatedSize ?? 0;
  }
}

/** Roughly what an entry holds: the body, the key (UTF-16), the ids, and a fixed overhead for the objects. */
function answerBytes(key: string, a: Answer): number {
  return a.body.length + 2 * key.length + 8 * a.movieIds.length + 2 * a.recommendationId.length + 200;
}
