import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { AppContext } from './context.js';

/**
 * The `recommendation_id` of an answer: `<client id>.<list digest>.<mac>`. The digest names what was recommended
 * (the user, the model version, n, the history's fingerprint and the filter), so the same answer repeated — from
 * the caches or from another replica — carries the same id, and the id costs two hashes instead of a write.
 * The MAC (HMAC-SHA256 under a key derived from the JWT secret) lets POST /feedback check, without storing
 * anything, that an id is one this deployment gave to the calling client: another client's id is refused exactly
 * like a made-up one.
 */
export class RecommendationIds {
  private readonly key: Buffer;

  constructor(secret: string) {
    this.key = createHmac('sha256', secret).update('reco recommendation_id').digest();
  }

  make(clientId: number, parts: readonly (string | number | ArrayBufferView)[]): string {
    const h = createHash('sha256');
    for (const p of parts) {
      if (typeof p === 'object') h.update(new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
      else h.update(String(p));
      h.update('\u0000');
    }
    const digest = h.digest('base64url').slice(0, 16);
    return `${clientId}.${digest}.${this.mac(clientId, digest)}`;
  }

  /** Whether `id` is one this deployment made for `clientId`. */
  belongsTo(clientId: number, id: string): boolean {
    const m = /^([0-9]{1,10})\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{16})$/.exec(id);
    if (!m || Number(m[1]) !== clientId) return false;
    const expected = Buffer.from(this.mac(clientId, m[2]));
    const given = Buffer.from(m[3]);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }

  private mac(clientId: number, digest: string): string {
    return createHmac('sha256', this.key).update(`${clientId}.${digest}`).digest('base64url').slice(0, 16);
  }
}

const perContext = new WeakMap<AppContext, RecommendationIds>();

/** The server's RecommendationIds (one per application context). */
export function recommendationIds(ctx: AppContext): RecommendationIds {
  let ids = perContext.get(ctx);
  if (!ids) perContext.set(ctx, (ids = new RecommendationIds(ctx.jwtSecret)));
  return ids;
}
