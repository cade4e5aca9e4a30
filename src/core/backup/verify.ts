import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';
import { RecoError } from '../errors.js';
import { corrupted, readContainer, type ArchiveRecord } from './container.js';
import { FORMAT, FORMAT_VERSION, manifestSchema, type Manifest, type ManifestTable } from './manifest.js';
import { parseSignature, signatureMatches, type SignatureRecord, type SignatureStatus } from './signature.js';

/**
 * SHA-256, byte count and row count of one table's CSV as it streams by. A row ends at a newline outside
 * quotes (COPY quotes any field holding a newline; an escaped quote "" toggles twice, so parity holds).
 */
export class TableDigest {
  private readonly hash: Hash = createHash('sha256');
  private inQuotes = false;
  rows = 0;
  bytes = 0;

  update(chunk: Uint8Array): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    let inQuotes = this.inQuotes;
    let rows = 0;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (b === 0x22) inQuotes = !inQuotes;
      else if (b === 0x0a && !inQuotes) rows++;
    }
    this.inQuotes = inQuotes;
    this.rows += rows;
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}

export interface VerifiedArchive {
  file: string;
  /** Size of the archive on disk. */
  size: number;
  manifest: Manifest;
  /** valid: signed and checked with the key; unchecked: signed, but no key was given; unsigned. */
  signature: SignatureStatus;
}

export interface VerifyOptions {
  /** RECO_BACKUP_KEY: when given, only archives signed with it pass. */
  key?: string;
}

export function parseJson(file: string, rec: ArchiveRecord, what: string): any {
  try {
    return JSON.parse(rec.payload.toString('utf8'));
  } catch {
    throw corrupted(file, `unreadable ${what}`);
  }
}

export function checkHeader(file: string, rec: ArchiveRecord | undefined): void {
  if (!rec || rec.type !== 'H') throw corrupted(file, 'no header record');
  const h = parseJson(file, rec, 'header');
  if (h?.format !== FORMAT)
    throw new RecoError(`${file} is not a reco backup archive (format ${JSON.stringify(h?.format)})`);
  if (typeof h.formatVersion !== 'number' || h.formatVersion > FORMAT_VERSION)
    throw new RecoError(
      `${file} was written by a newer reco (archive format ${h.formatVersion}, this reco reads ${FORMAT_VERSION}); upgrade reco to restore it`,
    );
}

/** Compares what was read with what the manifest promises, table by table. */
export function checkAgainstManifest(file: string, manifest: Manifest, seen: readonly ManifestTable[]): void {
  if (seen.length !== manifest.tables.length)
    throw corrupted(file, `${seen.length} tables in the archive, ${manifest.tables.length} in its manifest`);
  manifest.tables.forEach((m, i) => {
    const s = seen[i];
    if (s.name !== m.name) throw corrupted(file, `table ${s.name} where the manifest lists ${m.name}`);
    if (s.columns.join(',') !== m.columns.join(','))
      throw corrupted(file, `the columns of ${m.name} differ from its manifest`);
    if (s.bytes !== m.bytes || s.sha256 !== m.sha256)
      throw corrupted(file, `the SHA-256 of table ${m.name} does not match its manifest`);
    if (s.rows !== m.rows) throw corrupted(file, `table ${m.name} holds ${s.rows} rows, its manifest says ${m.rows}`);
  });
}

/** With a key, the archive must carry a signature made with that key over the manifest's bytes. */
function checkSignature(
  file: string,
  manifestBytes: Buffer,
  signature: SignatureRecord | undefined,
  key: string | undefined,
): SignatureStatus {
  if (key === undefined) return signature ? 'unchecked' : 'unsigned';
  if (!signature)
    throw new RecoError(
      `the backup archive ${file} is not signed, and RECO_BACKUP_KEY is set: only archives signed with that key are accepted`,
    );
  if (!signatureMatches(key, manifestBytes, signature))
    throw new RecoError(
      `the signature of the backup archive ${file} does not match RECO_BACKUP_KEY (signed with another key, or its manifest was changed); it cannot be used`,
    );
  return 'valid';
}

/**
 * Reads the whole archive and checks everything: gzip integrity (CRC and length, so truncation, flipped
 * bytes and bytes after the end are caught), the container, the manifest, every table's SHA-256 and row count,
 * and, with a key, the manifest's signature. Touches no database.
 */
export async function verifyArchive(file: string, options: VerifyOptions = {}): Promise<VerifiedArchive> {
  let size: number;
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
    size = st.size;
    if (size === 0) throw Object.assign(new Error('empty'), { code: 'EMPTY' });
  } catch (err: any) {
    if (err?.code === 'ENOENT') throw new RecoError(`no backup archive at ${file}`);
    if (err?.code === 'EMPTY') throw new RecoError(`the backup archive ${file} is empty (0 bytes); it cannot be used`);
    throw new RecoError(`${file} is not a readable file (${err?.code ?? err})`);
  }
  const seen: ManifestTable[] = [];
  let manifest: Manifest | undefined;
  let manifestBytes: Buffer | undefined;
  let signature: SignatureRecord | undefined;
  let table: { name: string; columns: string[]; digest: TableDigest } | undefined;
  let first = true;
  for await (const rec of readContainer(file)) {
    if (first) {
      checkHeader(file, rec);
      first = false;
      continue;
    }
    switch (rec.type) {
      case 'T': {
        if (table || manifest) throw corrupted(file, 'misplaced table record');
        const t = parseJson(file, rec, 'table record');
        table = {
          name: String(t.name),
          columns: Array.isArray(t.columns) ? t.columns.map(String) : [],
          digest: new TableDigest(),
        };
        break;
      }
      case 'D':
        if (!table) throw corrupted(file, 'data outside a table');
        table.digest.update(rec.payload);
        break;
      case 'E':
        if (!table) throw corrupted(file, 'misplaced table end');
        seen.push({
          name: table.name,
          columns: table.columns,
          rows: table.digest.rows,
          bytes: table.digest.bytes,
          sha256: table.digest.digest(),
        });
        table = undefined;
        break;
      case 'M': {
        if (table || manifest) throw corrupted(file, 'misplaced manifest');
        const parsed = manifestSchema.safeParse(parseJson(file, rec, 'manifest'));
        if (!parsed.success)
          throw corrupted(
            file,
            `invalid manifest: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`,
          );
        manifest = parsed.data;
        manifestBytes = rec.payload;
        break;
      }
      case 'S':
        if (!manifest || signature) throw corrupted(file, 'misplaced signature');
        signature = parseSignature(parseJson(file, rec, 'signature'));
        if (!signature) throw corrupted(file, 'unreadable signature');
        break;
      case 'Z':
        break;
      default:
        throw corrupted(file, `unexpected ${rec.type} record`);
    }
  }
  if (!manifest || !manifestBytes) throw corrupted(file, 'no manifest');
  const status = checkSignature(file, manifestBytes, signature, options.key);
  checkAgainstManifest(file, manifest, seen);
  return { file, size, manifest, signature: status };
}
