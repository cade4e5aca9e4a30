import fs from 'node:fs';
import { RecoError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';

/**
 * A byte-level reader for ratings.csv files — every MovieLens ratings file holds no quote character.
 * csv-parse builds an object and four strings per row, the largest cost of a big ingest
 * (docs/benchmarks/ingest.md); this reader parses the common row shape (digits,digits,d[.d],digits) straight
 * from the bytes into numbers and hands every other line, split on commas exactly as csv-parse would split a
 * quote-free line, to the general check. At the first line with a double quote it stops and says where: the
 * caller reads the rest with csv-parse (csv-reader.ts), so CSV quoting stays exact.
 */

export interface FastRow {
  user: number;
  movie: number;
  /** rating × 2 (the field was a plain d, d.0 or d.5). */
  halfSteps: number;
  timestamp: number;
}

/** Where the fast reader stopped: the first line with a quote, for csv-parse to read from. */
export interface HandOver {
  /** Byte offset of that line in the file. */
  offset: number;
  /** Physical lines before it (its own number − 1). */
  linesBefore: number;
  /** Whether the header was read already (else the quote is in it, and csv-parse reads the whole file). */
  afterHeader: boolean;
  /** Bytes of the file reported to `onBytes` so far. */
  bytesReported: number;
}

class QuoteFound {
  constructor(
    readonly offset: number,
    readonly linesBefore: number,
  ) {}
}

const QUOTE = 0x22;

const COMMA = 0x2c;
const NL = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

/** Digits only, at most 15 of them (exact in a double); -1 otherwise. */
function digits(buf: Buffer, start: number, end: number): number {
  if (end <= start || end - start > 15) return -1;
  let n = 0;
  for (let i = start; i < end; i++) {
    const c = buf[i];
    if (c < ZERO || c > NINE) return -1;
    n = n * 10 + (c - ZERO);
  }
  return n;
}

/** "d", "d.0" or "d.5" (d one or two digits) as half-steps; -1 for anything else. */
function halfSteps(buf: Buffer, start: number, end: number): number {
  const len = end - start;
  if (len === 1) {
    const d = buf[start] - ZERO;
    return d >= 0 && d <= 9 ? d * 2 : -1;
  }
  if (len === 3 && buf[start + 1] === DOT) {
    const d = buf[start] - ZERO;
    const f = buf[start + 2];
    if (d < 0 || d > 9) return -1;
    if (f === ZERO) return d * 2;
    if (f === ZERO + 5) return d * 2 + 1;
  }
  return -1;
}

/**
 * Streams the records of a ratings file after checking the header. For each record calls `onFast` (the common
 * shape, already numbers) or `onFields` (anything else, as strings). Returns the number of records, and where it
 * stopped at a line with a quote (`handOver`). Line numbers are 1-based physical lines, as csv-parse counts them.
 */
export async function readRatingsFast(
  file: string,
  header: readonly string[],
  /** Returns false to have the line handed to `onFields` as text after all (e.g. to reject it verbatim). */
  onFast: (line: number, row: FastRow) => boolean,
  onFields: (line: number, fields: string[]) => void,
  /** Called after each chunk: the place for async work such as writing rejected rows. */
  flush: () => Promise<void>,
  onBytes?: (n: number) => void,
): Promise<{ records: number; handOver?: HandOver }> {
  let carry: Buffer | undefined;
  /** File offset of the buffer being scanned. */
  let bufOffset = 0;
  let bytesReported = 0;
  let line = 0;
  let records = 0;
  let sawHeader = false;
  const row: FastRow = { user: 0, movie: 0, halfSteps: 0, timestamp: 0 };

  const handleLine = (buf: Buffer, start: number, end: number) => {
    if (buf.subarray(start, end).includes(QUOTE)) throw new QuoteFound(bufOffset + start, line);
    line++;
    if (end > start && buf[end - 1] === CR) end--;
    if (!sawHeader) {
      if (line === 1 && end - start >= 3 && buf[start] === 0xef && buf[start + 1] === 0xbb && buf[start + 2] === 0xbf)
        start += 3;
      if (end === start) return; // csv-parse skips empty lines, the header's too
      sawHeader = true;
      const got = buf
        .toString('utf8', start, end)
        .split(',')
        .map((f) => f.trim().toLowerCase());
      if (got.length !== header.length || got.some((f, i) => f !== header[i].toLowerCase())) {
        throw new RecoError(
          `${file}: the first line must be the header ${header.join(',')} (found "${buf.toString('utf8', start, Math.min(end, start + 80))}")`,
          { exitCode: ExitCode.BAD_INPUT },
        );
      }
      return;
    }
    if (end === start) return;
    records++;
    // The three commas of the common shape.
    const c1 = buf.indexOf(COMMA, start);
    const c2 = c1 >= 0 && c1 < end ? buf.indexOf(COMMA, c1 + 1) : -1;
    const c3 = c2 >= 0 && c2 < end ? buf.indexOf(COMMA, c2 + 1) : -1;
    if (c3 >= 0 && c3 < end) {
      const c4 = buf.indexOf(COMMA, c3 + 1);
      if (c4 < 0 || c4 >= end) {
        const user = digits(buf, start, c1);
        const movie = digits(buf, c1 + 1, c2);
        const half = halfSteps(buf, c2 + 1, c3);
        const ts = digits(buf, c3 + 1, end);
        if (user > 0 && movie > 0 && movie <= 2_147_483_647 && half >= 0 && ts >= 0) {
          row.user = user;
          row.movie = movie;
          row.halfSteps = half;
          row.timestamp = ts;
          if (onFast(line, row)) return;
        }
      }
    }
    onFields(line, buf.toString('utf8', start, end).split(','));
  };

  /**
   * The records of buf[from … to] (buf[to] is a newline), in one pass over the bytes: the common shape is
   * parsed as it is scanned, without finding its commas first (four native indexOf calls a row cost more
   * than the parse); a line that leaves the shape anywhere goes to handleLine, which looks at it whole.
   */
  const scan = (buf: Buffer, from: number, to: number) => {
    let i = from;
    while (i <= to) {
      const start = i;
      if (!sawHeader) {
        const nl = buf.indexOf(NL, i);
        handleLine(buf, start, nl);
        i = nl + 1;
        continue;
      }
      let c = buf[i];
      // userId: 1–15 digits, not 0
      let user = 0;
      let n = 0;
      while (c >= ZERO && c <= NINE) {
        user = user * 10 + (c - ZERO);
        n++;
        c = buf[++i];
      }
      fast: if (c === COMMA && n > 0 && n <= 15 && user > 0) {
        // movieId: 1–15 digits, 1 … 2^31 − 1
        let movie = 0;
        n = 0;
        c = buf[++i];
        while (c >= ZERO && c <= NINE) {
          movie = movie * 10 + (c - ZERO);
          n++;
          c = buf[++i];
        }
        if (c !== COMMA || n === 0 || n > 15 || movie <= 0 || movie > 2_147_483_647) break fast;
        // rating: d, d.0 or d.5
        c = buf[++i];
        if (c < ZERO || c > NINE) break fast;
        let half = (c - ZERO) * 2;
        c = buf[++i];
        if (c === DOT) {
          c = buf[++i];
          if (c === ZERO + 5) half++;
          else if (c !== ZERO) break fast;
          c = buf[++i];
        }
        if (c !== COMMA) break fast;
        // timestamp: 1–15 digits, then the end of the line (\n or \r\n)
        let ts = 0;
        n = 0;
        c = buf[++i];
        while (c >= ZERO && c <= NINE) {
          ts = ts * 10 + (c - ZERO);
          n++;
          c = buf[++i];
        }
        if (n === 0 || n > 15) break fast;
        if (c === CR && i < to && buf[i + 1] === NL) c = buf[++i];
        if (c !== NL) break fast;
        line++;
        records++;
        row.user = user;
        row.movie = movie;
        row.halfSteps = half;
        row.timestamp = ts;
        i++;
        if (onFast(line, row)) continue;
        onFields(line, buf.toString('utf8', start, buf[i - 2] === CR ? i - 2 : i - 1).split(','));
        continue;
      }
      // Not the common shape: the whole line, the general way.
      const nl = buf.indexOf(NL, i);
      handleLine(buf, start, nl);
      i = nl + 1;
    }
  };

  try {
    for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
      onBytes?.(chunk.length);
      bytesReported += chunk.length;
      const buf = carry ? Buffer.concat([carry, chunk]) : chunk;
      const last = buf.lastIndexOf(NL);
      if (last >= 0) scan(buf, 0, last);
      carry = last + 1 < buf.length ? Buffer.from(buf.subarray(last + 1)) : undefined;
      bufOffset += last + 1;
      await flush();
    }
    if (carry) handleLine(carry, 0, carry.length);
    await flush();
  } catch (err: any) {
    if (err instanceof QuoteFound) {
      await flush();
      return {
        records,
        handOver: { offset: err.offset, linesBefore: err.linesBefore, afterHeader: sawHeader, bytesReported },
      };
    }
    if (err instanceof RecoError) throw err;
    throw new RecoError(`cannot read ${file}: ${err?.message ?? err}`, { exitCode: ExitCode.BAD_INPUT, cause: err });
  }
  if (!sawHeader)
    throw new RecoError(`${file} is empty: expected the header ${header.join(',')}`, { exitCode: ExitCode.BAD_INPUT });
  return { records };
}
