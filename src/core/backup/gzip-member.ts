import fs from 'node:fs';
import zlib from 'node:zlib';

/**
 * Reads a file that must be exactly one gzip member (RFC 1952) and nothing else. Node's gunzip cannot say where
 * its member ended: it silently skips trailing zero bytes and decodes any further members, so bytes appended to
 * an archive would pass. Here the header and the 8-byte trailer (CRC-32, length mod 2^32) are read by hand,
 * the deflate body is inflated natively (raw inflate reports how many input bytes it consumed), and the member's
 * end must be the file's end.
 */
export class GzipFormatError extends Error {
  constructor(
    message: string,
    readonly kind: 'not-gzip' | 'truncated' | 'corrupted',
  ) {
    super(message);
  }
}

const FTEXT_RESERVED = 0xe0;
const FHCRC = 0x02;
const FEXTRA = 0x04;
const FNAME = 0x08;
const FCOMMENT = 0x10;
/** A header longer than this (a file name or comment of that size) is not one reco writes. */
const MAX_HEADER = 64 * 1024;

/** The header's length, or a GzipFormatError. */
function headerLength(head: Buffer, fileSize: number): number {
  if (head.length < 10 || head[0] !== 0x1f || head[1] !== 0x8b) throw new GzipFormatError('not gzip data', 'not-gzip');
  if (head[2] !== 8) throw new GzipFormatError(`unknown gzip compression method ${head[2]}`, 'corrupted');
  const flags = head[3];
  if (flags & FTEXT_RESERVED) throw new GzipFormatError('reserved gzip header flags are set', 'corrupted');
  let at = 10;
  const need = (n: number) => {
    if (at + n > head.length)
      throw new GzipFormatError(
        head.length < fileSize ? 'gzip header too long' : 'the gzip header is cut off',
        head.length < fileSize ? 'corrupted' : 'truncated',
      );
  };
  if (flags & FEXTRA) {
    need(2);
    const xlen = head.readUInt16LE(at);
    need(2 + xlen);
    at += 2 + xlen;
  }
  for (const flag of [FNAME, FCOMMENT]) {
    if (!(flags & flag)) continue;
    const end = head.indexOf(0, at);
    if (end < 0) need(head.length - at + 1);
    at = end + 1;
  }
  if (flags & FHCRC) {
    need(2);
    at += 2;
  }
  return at;
}

/** The decompressed bytes of `file`, in chunks; throws GzipFormatError (or a read error) when it is not exactly one intact member. */
export async function* gunzipSingleMember(file: string, chunkSize = 256 * 1024): AsyncGenerator<Buffer> {
  const fh = await fs.promises.open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    const head = Buffer.alloc(Math.min(size, MAX_HEADER));
    await fh.read(head, 0, head.length, 0);
    const start = headerLength(head, size);

    const input = fs.createReadStream(file, { start, highWaterMark: chunkSize });
    const inflate = zlib.createInflateRaw({ chunkSize });
    input.on('error', (e) => inflate.destroy(e));
    input.pipe(inflate);
    let crc = 0;
    let length = 0;
    try {
      for await (const chunk of inflate) {
        crc = zlib.crc32(chunk as Buffer, crc);
        length = (length + (chunk as Buffer).length) >>> 0;
        yield chunk as Buffer;
      }
    } catch (err: any) {
      if (err?.code === 'Z_BUF_ERROR' || /unexpected end/i.test(err?.message ?? ''))
        throw new GzipFormatError('it ends inside the compressed data', 'truncated');
      if (err?.code === 'Z_DATA_ERROR') throw new GzipFormatError(err.message, 'corrupted');
      throw err;
    } finally {
      input.destroy();
      inflate.destroy();
    }

    const trailerAt = start + inflate.bytesWritten;
    const trailer = Buffer.alloc(8);
    const { bytesRead } = await fh.read(trailer, 0, 8, trailerAt);
    if (bytesRead < 8) throw new GzipFormatError('the gzip trailer is cut off', 'truncated');
    if (trailer.readUInt32LE(0) !== crc >>> 0) throw new GzipFormatError('gzip CRC-32 mismatch', 'corrupted');
    if (trailer.readUInt32LE(4) !== length) throw new GzipFormatError('gzip length mismatch', 'corrupted');
    const extra = size - (trailerAt + 8);
    if (extra > 0) throw new GzipFormatError(`${extra} bytes after the end of the gzip stream`, 'corrupted');
  } finally {
    await fh.close();
  }
}
