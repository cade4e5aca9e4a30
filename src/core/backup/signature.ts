import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/**
 * The archive's signature: HMAC-SHA-256 under RECO_BACKUP_KEY of the manifest record's exact bytes. The
 * manifest holds every table's SHA-256, row count and columns, so a valid signature vouches for all the data
 * (docs/backup.md says what it does not cover).
 */
export const SIGNATURE_ALGORITHM = 'HMAC-SHA-256';

const signatureSchema = z.object({
  algorithm: z.literal(SIGNATURE_ALGORITHM),
  mac: z.string().regex(/^[0-9a-f]{64}$/),
});
export type SignatureRecord = z.infer<typeof signatureSchema>;

/** How an archive's signature was found: checked against the key, present but not checked (no key), or absent. */
export type SignatureStatus = 'valid' | 'unchecked' | 'unsigned';

function mac(key: string, manifestBytes: Uint8Array): Buffer {
  return createHmac('sha256', key).update(manifestBytes).digest();
}

export function signManifest(key: string, manifestBytes: Uint8Array): SignatureRecord {
  return { algorithm: SIGNATURE_ALGORITHM, mac: mac(key, manifestBytes).toString('hex') };
}

export function parseSignature(value: unknown): SignatureRecord | undefined {
  const parsed = signatureSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/** Constant-time comparison of the recorded MAC with the one `key` gives. */
export function signatureMatches(key: string, manifestBytes: Uint8Array, signature: SignatureRecord): boolean {
  const expected = mac(key, manifestBytes);
  const given = Buffer.from(signature.mac, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
