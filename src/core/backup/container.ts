import fs from 'node:fs';
import zlib from 'node:zlib';
import { once } from 'node:events';
import { RecoError } from '../errors.js';
import { GzipFormatError, gunzipSingleMember } from './gzip-member.js';

/**
 * The archive container (docs/backup.md): one gzip stream holding a magic line and then length-prefixed
 * records, each `type (1 byte) | payload length (uint32 BE) | payload`. A table is `T {json}`, its CSV as `D`
 * chunks, then `E`; the manifest `M` follows the tables and `Z` closes the archive. Streamable both ways
 * (no sizes needed up front), and gzip's CRC-32 and length trailer catch corruption and truncation of the file
 * while the missing `Z` record catches an archive whose writer stopped early. Nothing may follow the gzip
 * member (gzip-member.ts). The signature record `S` (HMAC of the manifest) is optional: signature.ts.
 */
export const MAGIC = Buffer.from('RECO-BACKUP\n', 'ascii');
export const MAX_CHUNK = 1024 * 1024;

export type RecordType = 'H' | 'T' | 'D' | 'E' | 'M' | 'S' | 'Z';
const TYPES = new Set<string>(['H', 'T', 'D', 'E', 'M', 'S', 'Z']);

export interface ArchiveRecord {
  type: RecordType;
  payload: Buffer;
}

function header(type: RecordType, length: number): Buffer {
  const h = Buffer.allocUnsafe(5);
  h.write(type, 0, 'ascii');
  h.writeUInt32BE(length, 1);
  return h;
}

/** Writes records through gzip into `file` (which must not exist). Call finish() to flush and fsync. */
export class ContainerWriter {
  private readonly gzip = zlib.createGzip({ level: 6 });
  private readonly out: fs.WriteStream;
  private readonly done: Promise<void>;
  private failure?: Error;

  constructor(readonly file: string) {
    // 0600: the archive holds every table, password hashes included.
    this.out = fs.createWriteStream(file, { flags: 'wx', mode: 0o600 });
    this.gzip.pipe(this.out);
    this.gzip.on('error', (e) => (this.failure ??= e));
    this.out.on('error', (e) => (this.failure ??= e));
    this.done = new Promise((resolve, reject) => {
      this.out.on('close', () => (this.failure ? reject(this.failure) : resolve()));
      this.out.on('error', reject);
    });
    this.done.catch(() => {});
    this.gzip.write(MAGIC);
  }

  private async push(buf: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    if (!this.gzip.write(buf)) await Promise.race([once(this.gzip, 'drain'), this.done]);
  }

  async record(type: RecordType, payload: Uint8Array = Buffer.alloc(0)): Promise<void> {
    const bytes = Buffer.isBuffer(payload)
      ? payload
      : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    if (type !== 'D' && bytes.length > MAX_CHUNK) throw new Error(`a ${type} record is limited to ${MAX_CHUNK} bytes`);
    // Data is cut into records of at most MAX_CHUNK bytes so a reader never buffers more than that.
    let offset = 0;
    do {
      const part = bytes.subarray(offset, offset + MAX_CHUNK);
      await this.push(header(type, part.length));
      if (part.length > 0) await this.push(part);
      offset += MAX_CHUNK;
    } while (offset < bytes.length);
  }

  async json(type: RecordType, value: unknown): Promise<void> {
    await this.record(type, Buffer.from(JSON.stringify(value)));
  }

  /** Ends the gzip stream, waits for the file to be written and closed, then fsyncs it. */
  async finish(): Promise<void> {
    this.gzip.end();
    await this.done;
    const fh = await fs.promises.open(this.file, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  /** Stops writing after a failure; the caller removes the file. */
  async abort(): Promise<void> {
    this.gzip.destroy();
    this.out.destroy();
    await this.done.catch(() => {});
  }
}

export function corrupted(file: string, why: string): RecoError {
  return new RecoError(`the backup archive ${file} is corrupted (${why}); it cannot be used`);
}

/** What went wrong with an archive, as one line for the operator. */
function describeReadError(file: string, err: any): RecoError {
  if (err instanceof RecoError) return err;
  if (err instanceof GzipFormatError) {
    if (err.kind === 'not-gzip')
      return new RecoError(`${file} is not a reco backup archive (not gzip data)`, { cause: err });
    if (err.kind === 'truncated')
      return new RecoError(`the backup archive ${file} is truncated (${err.message}); it cannot be used`, {
        cause: err,
      });
    return corrupted(file, err.message);
  }
  const code = err?.code as string | undefined;
  if (code === 'ENOENT') return new RecoError(`no backup archive at ${file}`, { cause: err });
  if (code === 'EISDIR') return new RecoError(`${file} is a directory, not a backup archive`, { cause: err });
  if (code === 'Z_BUF_ERROR' || /unexpected end/i.test(err?.message ?? ''))
    return new RecoError(
      `the backup archive ${file} is truncated (it ends before its last record); it cannot be used`,
      { cause: err },
    );
  if (code === 'Z_DATA_ERROR' && /header/i.test(err?.message ?? ''))
    return new RecoError(`${file} is not a reco backup archive (not gzip data)`, { cause: err });
  if (code === 'Z_DATA_ERROR') return corrupted(file, err.message);
  return new RecoError(`cannot read the backup archive ${file}: ${err?.message ?? err}`, { cause: err });
}

/**
 * The records of an archive, in order. Throws a RecoError for a file that is not an archive, is corrupted or
 * is truncated; the last record yielded is always `Z`.
 */
export async function* readContainer(file: string): AsyncGenerator<ArchiveRecord> {
  const gunzip = gunzipSingleMember(file);

  let pending: Buffer[] = [];
  let size = 0;
  const take = (n: number): Buffer => {
    const all = pending.length === 1 ? pending[0] : Buffer.concat(pending, size);
    const head = all.subarray(0, n);
    const rest = all.subarray(n);
    pending = rest.length ? [rest] : [];
    size = rest.length;
    return head;
  };

  let sawMagic = false;
  let ended = false;
  let need = MAGIC.length;
  let current: { type: RecordType; length: number } | undefined;
  try {
    for await (const chunk of gunzip) {
      pending.push(chunk as Buffer);
      size += (chunk as Buffer).length;
      while (size >= need) {
        if (ended) throw corrupted(file, 'data after its end record');
        if (!sawMagic) {
          if (!take(MAGIC.length).equals(MAGIC))
            throw new RecoError(`${file} is not a reco backup archive (gzip, but no reco header)`);
          sawMagic = true;
          need = 5;
        } else if (!current) {
          const h = take(5);
          const type = h.toString('ascii', 0, 1);
          if (!TYPES.has(type)) throw corrupted(file, `unknown record type ${JSON.stringify(type)}`);
          current = { type: type as RecordType, length: h.readUInt32BE(1) };
          if (current.length > MAX_CHUNK) throw corrupted(file, `record of ${current.length} bytes`);
          // A zero-length record (E, Z) is emitted by the next turn of this loop at once.
          need = current.length;
        } else {
          // A copy: the record may outlive the buffer it was cut from.
          const rec = { type: current.type, payload: Buffer.from(take(current.length)) };
          current = undefined;
          need = 5;
          if (rec.type === 'Z') ended = true;
          yield rec;
          if (ended) need = 1;
        }
      }
    }
  } catch (err) {
    throw describeReadError(file, err);
  } finally {
    await gunzip.return(undefined);
  }
  if (!sawMagic) throw new RecoError(`${file} is not a reco backup archive (empty or no reco header)`);
  if (!ended)
    throw new RecoError(`the backup archive ${file} is truncated (it ends before its last record); it cannot be used`);
}
