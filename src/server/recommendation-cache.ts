import type { Recommendation } from '../core/models/types.js';

/** The bytes sent for a cached list, with everything they were checked against besides the list itself. */
export interface KeptAnswer {
  n: number;
  /** An answer with explanations (`explain: true`). */
  explain?: boolean;
  version: string;
  algorithm: string;
  /** The experiment and variant the answer names (compared by identity: one object per served variant). */
  experiment?: { name: string; variant: string };
  /** The catalogue generation the titles came from. */
  generation: number;
  labels: { algorithm: string; version: string };
  bytes: Buffer;
  /** What an impression of this answer records. */
  recommendationId: string;
  movieIds: number[];
}

interface Entry {
  key: string;
  recs: Recommendation[];
  /** The value of `clock` when the entry last moved to the young end. */
  moved: number;
  /** False once evicted or replaced. */
  live: boolean;
}

/**
 * Recent recommendation lists, keyed by model version, user, n and the database's fingerprint of the user's
 * whole history (findUserHistory, kept with the history in history-cache.ts): a new or changed rating changes
 * the fingerprint and a new model the version, so a hit is what scoring would return. Worth it because scoring
 * dominates a request without it (docs/benchmarks/serve.md) and clients ask again for the same users.
 * Least-recently-used eviction on a Map (insertion order), bounded by `capacity` lists; approximately, as in
 * history-cache.ts: a hit moves its entry to the young end only when it is not among the most recently moved half.
 *
 * It also keeps, per cached history, the last answer sent from one of its lists (`keepAnswer`), so that the same
 * request again costs one lookup instead of building and hashing this cache's key; such an answer is used only
 * while its list is still cached here, and at most `capacity` of them are kept.
 */
export class RecommendationCache {
  private readonly entries = new Map<string, Entry>();
  private clock = 0;
  private answers = new WeakMap<object, KeptAnswer & { entry: Entry }>();
  private answersKept = 0;

  constructor(readonly capacity: number) {}

  static key(version: string, userId: number, n: number, historyFingerprint: string): string {
    return `${version}|${userId}|${n}|${historyFingerprint}`;
  }

  get(key: string): Recommendation[] | undefined {
    const hit = this.entries.get(key);
    if (!hit) return undefined;
    this.touch(hit);
    return hit.recs;
  }

  set(key: string, value: Recommendation[]): void {
    if (this.capacity <= 0) return;
    this.drop(key);
    this.entries.set(key, { key, recs: value, moved: ++this.clock, live: true });
    if (this.entries.size > this.capacity) this.drop(this.entries.keys().next().value!);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Remembers the answer made from the list under `key` for `history` (an object that changes with the history). */
  keepAnswer(history: object, key: string, answer: KeptAnswer): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    // Bounded without bookkeeping per history: after `capacity` new answers, start again from none.
    if (++this.answersKept > this.capacity) {
      this.answers = new WeakMap();
      this.answersKept = 1;
    }
    this.answers.set(history, { ...answer, entry });
  }

  /** The answer kept for `history`, while the list it was made from is still cached (which counts as a hit). */
  keptAnswer(history: object): KeptAnswer | undefined {
    const kept = this.answers.get(history);
    if (kept === undefined || !kept.entry.live) return undefined;
    this.touch(kept.entry);
    return kept;
  }

  private touch(entry: Entry): void {
    if (this.clock - entry.moved < this.entries.size >>> 1) return;
    this.entries.delete(entry.key);
    this.entries.set(entry.key, entry);
    entry.moved = ++this.clock;
  }

  private drop(key: string): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    entry.live = false;
    this.entries.delete(key);
  }
}
