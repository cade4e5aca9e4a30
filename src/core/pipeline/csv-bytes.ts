/**
 * CSV written straight into byte chunks: integers as ASCII digits, timestamps as timestamptz text by integer
 * arithmetic. Building a million lines as strings made ~150 MB of short-lived garbage while the load ran (the
 * peak RSS target is 400 MB); these chunks are the only allocation, one per 256 KB.
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

  /** An integer 0–99 as two digits. */
  private two(n: number): void {
    const q = (n / 10) | 0;
    this.buf[this.pos++] = 48 + q;
    this.buf[this.pos++] = 48 + n - q * 10;
  }

  /** Unix seconds (≥ 0, years up to 9999) as timestamptz text in UTC: `2008-05-03 12:34:56+00`. */
  timestamp(ts: number): void {
    const day = Math.floor(ts / 86_400);
    const sec = ts - day * 86_400;
    // Civil date from days since 1970-01-01 (H. Hinnant's days_from_civil, inverted).
    const z = day + 719_468;
    const era = Math.floor(z / 146_097);
    const doe = z - era * 146_097;
    const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
    const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
    const mp = Math.floor((5 * doy + 2) / 153);
    const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
    const m = mp < 10 ? mp + 3 : mp - 9;
    const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
    this.two(Math.floor(y / 100));
    this.two(y % 100);
    this.byte(0x2d);
    this.two(m);
    this.byte(0x2d);
    this.two(d);
    this.byte(0x20);
    this.two(Math.floor(sec / 3600));
    this.byte(0x3a);
    this.two(Math.floor(sec / 60) % 60);
    this.byte(0x3a);
    this.two(sec % 60);
    this.ascii(UTC_SUFFIX);
  }
}

const UTC_SUFFIX = Buffer.from('+00', 'latin1');
