import type { Recommendation } from '../core/models/types.js';

/**
 * Recent recommendation lists, keyed by model version, user, n and the database's fingerprint of the user's
 * whole history (findUserHistory, kept with the history in history-cache.ts): a new or changed rating changes
 * the fingerprint and a new model the version, so a hit is what scoring would return. Worth it because scoring
 * dominates a request without it (EASE on ml-latest-small: about 1 ms) and clients ask again for the same users.
 * Least-recently-used eviction on a Map (insertion order), bounded by `capacity` lists.
 */
export class RecommendationCache {
  private readonly entries = new Map<string, Recommendation[]>();

  constructor(readonly capacity: number) {}

  static key(version: string, userId: number, n: number, historyFingerprint: string): string {
    return `${version}|${userId}|${n}|${historyFingerprint}`;
  }

  get(key: string): Recommendation[] | undefined {
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
    }
    return hit;
  }

  set(key: string, value: Recommendation[]): void {
    if (this.capacity <= 0) return;
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }

  get size(): number {
    return this.entries.size;
  }
}
