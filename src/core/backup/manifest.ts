import fs from 'node:fs';
import { z } from 'zod';

export const FORMAT = 'reco-backup';
/** 2 added the optional signature record `S`; version 1 archives are still read. */
export const FORMAT_VERSION = 2;

const tableSchema = z.object({
  name: z.string().regex(/^[a-z_][a-z0-9_]*$/),
  columns: z.array(z.string().regex(/^[a-z_][a-z0-9_]*$/)).min(1),
  rows: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

export const manifestSchema = z.object({
  format: z.literal(FORMAT),
  formatVersion: z.number().int().positive(),
  createdAt: z.string(),
  reco: z.object({ version: z.string() }),
  engine: z.enum(['pglite', 'postgres']),
  serverVersion: z.string(),
  schema: z.object({
    version: z.number().int().nonnegative(),
    migrations: z.array(z.object({ version: z.number().int(), name: z.string(), checksum: z.string() })),
  }),
  /** In restore (foreign-key) order. */
  tables: z.array(tableSchema),
});

export type Manifest = z.infer<typeof manifestSchema>;
export type ManifestTable = z.infer<typeof tableSchema>;

/** The header record: enough to refuse an archive from a newer format before reading further. */
export interface ArchiveHeader {
  format: typeof FORMAT;
  formatVersion: number;
}

let cachedVersion: string | undefined;

/** This reco's version from package.json (src/core/backup and dist/core/backup are both three levels down). */
export function recoVersion(): string {
  if (cachedVersion) return cachedVersion;
  try {
    cachedVersion = String(
      JSON.parse(fs.readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')).version ?? 'unknown',
    );
  } catch {
    cachedVersion = 'unknown';
  }
  return cachedVersion;
}
