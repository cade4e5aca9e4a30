/**
 * CSV written straight into byte chunks, integers as ASCII digits. Building a million lines as strings made
 * short-lived garbage that counted against the ingest's peak RSS (docs/benchmarks/ingest.md); these chunks are
 * the only allocation, one per 256 KB.
 */
export class ByteChunks {
  private buf: Buffer;
  private pos = 0;

  constructor(private readonly size = 1 << 18) {
    this.buf = Buffer.allocUnsafe(size);
  }

  /** Whether the chunk should be taken before the next line (every line is < 128 bytes). */
  get full(): boolean {
    return this.pos > this.size - 128;
  }

  get length(): number {
    return this.pos;
  }

  /** The bytes written so far; the next writes go to a new chunk. */
  take(): Buffer {
    const out = this.buf.subarray(0, this.pos);
    this.buf = Buffer.allocUnsafe(this.size);
    this.pos = 0;
    return out;
  }

  byte(c: number): void {
    this.buf[this.pos++] = c;
  }

  ascii(bytes: Uint8Array): void {
    for (let j = 0; j < bytes.length; j++) this.buf[this.pos + j] = bytes[j];
    this.pos += bytes.length;
  }

  /** A non-negative integer (up to 2^53), in decimal. */
  uint(n: number): void {
    const buf = this.buf;
    let len = 1;
    for (let x = n; x >= 10; x = Math.floor(x / 10)) len++;
    let p = this.pos + len;
    let x = n;
    while (x >= 10) {
      const q = Math.floor(x / 10);
      buf[--p] = 48 + (x - q * 10);
      x = q;
    }
    buf[--p] = 48 + x;
    this.pos += len;
  }
}
