import { LRUCache } from 'lru-cache';

/** The default byte bound: about 10,000 answers of 10 movies with their titles and genres. */
export const DEFAULT_SIMILAR_ANSWER_BYTES = 16 * 1024 * 1024;

/**
 * The answers of GET /movies/{movie_id}/similar, so that a movie page asked for again costs a lookup instead of
 * scoring, filtering, rendering and serialising. An answer depends on the served model, the catalogue (titles,
 * genres and years; the genre fallback; the filter's sets) and the request (movie, n, filter), never on the client
 * or a user, so one cache serves every client. As in answer-cache.ts, the key holds all of it — the model's version
 * and the catalogue's state among it — and nothing is ever purged: answers of an older model or
 * catalogue are no longer asked for and age out within the byte bound.
 */
export class SimilarAnswers {
  private readonly cache: LRUCache<string, string> | undefined;

  /** `maxBytes` 0 turns the cache off. */
  constructor(maxBytes: number) {
    this.cache =
      maxBytes > 0
        ? new LRUCache<string, string>({
            maxSize: maxBytes,
            // Strings of JSON: 2 bytes a character at most in V8, the key's too.
            sizeCalculation: (answer, key) => 2 * (answer.length + key.length) + 64,
          })
        : undefined;
  }

  /**
   * The key of a request: the model version, the catalogue's state (its answers' generation and the movies lookups
   * added since), the movie and the parsed query as JSON.
   */
  static key(modelVersion: string, catalogue: string, movieId: number, query: object): string {
    return `${modelVersion}\u0000${catalogue}\u0000${movieId}\u0000${JSON.stringify(query)}`;
  }

  get(key: string): string | undefined {
    return this.cache?.get(key);
  }

  set(key: string, answer: string): void {
    this.cache?.set(key, answer);
  }

  /** Answers held now. */
  get size(): number {
    return this.cache?.size ?? 0;
  }
}
