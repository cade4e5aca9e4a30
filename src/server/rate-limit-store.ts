import type { ClientRateLimitInfo, Options, Store } from 'express-rate-limit';
import {
  countRateLimitHit,
  purgeEndedRateLimitWindows,
  readRateLimitHits,
  resetRateLimitKey,
  uncountRateLimitHit,
} from '../core/db/repositories/rate-limits.js';
import type { Database } from '../core/db/types.js';

/** How often ended windows are deleted (by whichever request comes first after this long). */
const PURGE_EVERY_MS = 60_000;

/**
 * express-rate-limit's Store over the project's Database: the counters of every replica of `reco serve` on one
 * PostgreSQL are the same rows (migration 042), so N replicas allow an address the configured number of attempts,
 * not N times it. Written here rather than taken from a package: the PostgreSQL store for express-rate-limit
 * (@acpr/rate-limit-postgresql) pins its own pg and pg-pool, opens a pool of its own per limiter and keeps its
 * tables with a migration tool of its own, outside reco's migrations and backups.
 */
export class DatabaseRateLimitStore implements Store {
  readonly localKeys = false;
  private windowMs = 60_000;
  private nextPurge = 0;

  constructor(
    private readonly db: Database,
    /** Names the limiter (and its settings) inside the shared table. */
    readonly prefix: string,
  ) {}

  init(options: Options): void {
    this.windowMs = options.windowMs;
  }

  async increment(key: string): Promise<ClientRateLimitInfo> {
    const c = await countRateLimitHit(this.db, this.prefix + key, this.windowMs);
    this.purgeNowAndThen();
    return { totalHits: c.hits, resetTime: c.resetAt };
  }

  async get(key: string): Promise<ClientRateLimitInfo | undefined> {
    const c = await readRateLimitHits(this.db, this.prefix + key);
    return c && { totalHits: c.hits, resetTime: c.resetAt };
  }

  async decrement(key: string): Promise<void> {
    await uncountRateLimitHit(this.db, this.prefix + key);
  }

  async resetKey(key: string): Promise<void> {
    await resetRateLimitKey(this.db, this.prefix + key);
  }

  private purgeNowAndThen(): void {
    const now = Date.now();
    if (now < this.nextPurge) return;
    this.nextPurge = now + PURGE_EVERY_MS;
    // Best effort: a failed purge leaves rows that the next one deletes.
    purgeEndedRateLimitWindows(this.db).catch(() => {});
  }
}
