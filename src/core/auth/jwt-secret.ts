import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { RecoConfig } from '../config.js';
import { RecoError } from '../errors.js';

/** File under the data directory that keeps the generated secret between restarts (development only). */
export const JWT_SECRET_FILE = 'jwt-secret';

/** HS256 wants a key at least as long as its output (32 bytes); shorter keys are brute-forceable. */
export const JWT_SECRET_MIN_LENGTH = 32;

/**
 * The HS256 signing secret: RECO_JWT_SECRET when set (required in production, where a generated one would
 * differ between replicas and vanish with the pod); otherwise generated once and kept in
 * <dataDir>/jwt-secret with mode 0600, so tokens survive a restart of `reco serve`.
 */
export function resolveJwtSecret(config: Pick<RecoConfig, 'jwtSecret' | 'production' | 'dataDir'>): string {
  if (config.jwtSecret) {
    if (config.jwtSecret.length < JWT_SECRET_MIN_LENGTH) {
      throw new RecoError(
        `RECO_JWT_SECRET is too short: use at least ${JWT_SECRET_MIN_LENGTH} characters (e.g. openssl rand -hex 32)`,
      );
    }
    return config.jwtSecret;
  }
  if (config.production) {
    throw new RecoError('RECO_JWT_SECRET is required when NODE_ENV=production (e.g. openssl rand -hex 32)');
  }
  const file = path.join(config.dataDir, JWT_SECRET_FILE);
  try {
    const existing = fs.readFileSync(file, 'utf8').trim();
    if (existing.length >= JWT_SECRET_MIN_LENGTH) return existing;
  } catch (err: any) {
    if (err?.code !== 'ENOENT') throw new RecoError(`cannot read the token secret ${file}: ${err?.message ?? err}`);
  }
  fs.mkdirSync(config.dataDir, { recursive: true });
  const secret = randomBytes(32).toString('hex');
  try {
    // 'wx': if another process wrote it first, keep theirs.
    fs.writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    return secret;
  } catch (err: any) {
    if (err?.code === 'EEXIST') return fs.readFileSync(file, 'utf8').trim();
    throw new RecoError(`cannot write the token secret ${file}: ${err?.message ?? err}`);
  }
}
