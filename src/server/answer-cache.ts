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
  /** CatalogueCache.answersGeneration: titles, genres and years of the answer and of the filter, movies added. */
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

/** The default byte bound: about 40,000 answers of 10 movies. */
export const DEFAULT_ANSWER_CACHE_BYTES = 64 * 1024 * 1024;

export interface AnswerCacheOptions {
  /** Users whose answers are held at most; 0 turns the cache off. */
  maxUsers: number;
  /** Answers held per user at most, the most recently made first (another n, explain, filter; default 4). */
  perUser?: number;
  /** Their approximate size in bytes at most (bodies, key texts, movie ids). */
  maxBytes: number;
}

interface Kept {
  key: AnswerKey;
  answer: Answer;
}

/**
 * The answers of POST /recommendations for known users, so that the same request again costs a lookup instead of
 * scoring, rendering, explaining and serialising (docs/benchmarks/serve.md). One invalidation rule: an answer is
 * given only for a key equal to its own in every component, and any change to what the answer depends on — a new
 * model or variant, a changed history, a catalogue refresh — changes the key, so nothing is ever purged; answers
 * no longer asked for age out within the bounds.
 *
 * Held per user in lru-cache (least recently used user out first), each user's few answers compared component by
 * component: a number-keyed lookup and a few comparisons of strings that are usually the very same objects
 * (the cached history's fingerprint, the model's version), where a key text built per request would be hashed
 * every time (docs/benchmarks/serve.md, Decisions).
 */
export class AnswerCache {
  private readonly lru: LRUCache<number, readonly Kept[]> | undefined;
  private readonly perUser: number;

  constructor(options: AnswerCacheOptions) {
    this.perUser = Math.max(1, options.perUser ?? 4);
    if (options.maxUsers > 0 && options.maxBytes > 0)
      this.lru = new LRUCache({
        max: options.maxUsers,
        maxSize: options.maxBytes,
        sizeCalculation: (kept) => kept.reduce((sum, k) => sum + answerBytes(k), 0),
      });
  }

  get(key: AnswerKey): Answer | undefined {
    const kept = this.lru?.get(key.userId);
    if (kept === undefined) return undefined;
    for (const k of kept) if (sameKey(k.key, key)) return k.answer;
    return undefined;
  }

  set(key: AnswerKey, answer: Answer): void {
    if (this.lru === undefined) return;
    const before = this.lru.peek(key.userId) ?? [];
    // A new array each time: lru-cache sizes an entry when it is set.
    const kept = [{ key, answer }, ...before.filter((k) => !sameKey(k.key, key))].slice(0, this.perUser);
    this.lru.set(key.userId, kept);
  }

  /** Answers held. */
  get size(): number {
    let n = 0;
    for (const kept of this.lru?.values() ?? []) n += kept.length;
    return n;
  }

  /** The approximate bytes held (what `maxBytes` bounds). */
  get bytes(): number {
    return this.lru?.calculatedSize ?? 0;
  }
}

function sameKey(a: AnswerKey, b: AnswerKey): boolean {
  return (
    a.userId === b.userId &&
    a.clientId === b.clientId &&
    a.modelVersion === b.modelVersion &&
    a.variant === b.variant &&
    a.history === b.history &&
    a.catalogue === b.catalogue &&
    a.n === b.n &&
    a.explain === b.explain &&
    a.filter === b.filter
  );
}

/** Roughly what an answer holds: the body, the key's strings (UTF-16), the ids, a fixed overhead for the objects. */
function answerBytes({ key, answer }: Kept): number {
  const text = key.modelVersion.length + key.variant.length + key.history.length + key.filter.length;
  return answer.body.length + 2 * (text + answer.recommendationId.length) + 8 * answer.movieIds.length + 300;
}
