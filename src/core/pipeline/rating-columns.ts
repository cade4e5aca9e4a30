import { RecoError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';

/** The largest line number and timestamp a row keeps (their columns are 32-bit: 4 bytes a row each). */
export const MAX_UINT32 = 0xffff_ffff;

/**
 * The accepted ratings of one file as columns of typed arrays (21 bytes a row instead of an object each),
 * grown by doubling. Ratings are kept as half-steps (rating × 2, 1…10). Timestamps (whole seconds from 1995 on,
 * the checks' range) and line numbers fit 32 bits until 2106 and for files of 4 billion lines: 8 bytes a row
 * less than doubles, 200 MB at 25M ratings, the largest part of the ingest's peak memory.
 */
export class RatingColumns {
  length = 0;
  user: Float64Array;
  movie: Int32Array;
  halfSteps: Uint8Array;
  timestamp: Uint32Array;
  line: Uint32Array;

  /** `capacity`: rows expected (e.g. capacityForBytes of the file), so that a large file is not copied while it grows. */
  constructor(capacity = 1024) {
    const n = Math.max(16, Math.ceil(capacity));
    this.user = new Float64Array(n);
    this.movie = new Int32Array(n);
    this.halfSteps = new Uint8Array(n);
    this.timestamp = new Uint32Array(n);
    this.line = new Uint32Array(n);
  }

  /**
   * Rows to expect in a ratings file of `bytes`: a MovieLens line ("12,3456,4.5,1234567890") takes about 22–25
   * bytes, so bytes / 20 rarely needs a doubling; untouched pages of the arrays cost no memory.
   */
  static capacityForBytes(bytes: number): number {
    return Math.min(Math.ceil(bytes / 20) + 16, 1 << 27);
  }

  /** `timestamp` is within the checks' range (1995 to now); `line` counts from 1. */
  push(user: number, movie: number, halfSteps: number, timestamp: number, line: number): void {
    if (this.length === this.user.length) this.grow();
    if (line > MAX_UINT32 || timestamp > MAX_UINT32) throw tooLarge(line, timestamp);
    const i = this.length++;
    this.user[i] = user;
    this.movie[i] = movie;
    this.halfSteps[i] = halfSteps;
    this.timestamp[i] = timestamp;
    this.line[i] = line;
  }

  /** Drops the rows flagged in `drop`, keeping the others in order (the accepted rows after deduplication). */
  compact(drop: Uint8Array): void {
    let j = 0;
    for (let i = 0; i < this.length; i++) {
      if (drop[i]) continue;
      if (i !== j) {
        this.user[j] = this.user[i];
        this.movie[j] = this.movie[i];
        this.halfSteps[j] = this.halfSteps[i];
        this.timestamp[j] = this.timestamp[i];
        this.line[j] = this.line[i];
      }
      j++;
    }
    this.length = j;
  }

  private grow(): void {
    const n = this.user.length * 2;
    const grown = <T extends Float64Array | Int32Array | Uint32Array | Uint8Array>(
      a: T,
      make: new (n: number) => T,
    ): T => {
      const b = new make(n);
      b.set(a);
      return b;
    };
    this.user = grown(this.user, Float64Array);
    this.movie = grown(this.movie, Int32Array);
    this.halfSteps = grown(this.halfSteps, Uint8Array);
    this.timestamp = grown(this.timestamp, Uint32Array);
    this.line = grown(this.line, Uint32Array);
  }
}

function tooLarge(line: number, timestamp: number): RecoError {
  return new RecoError(
    line > MAX_UINT32
      ? `the ratings file has more than ${MAX_UINT32.toLocaleString('en-US')} lines; split it into several files`
      : `a rating's timestamp ${timestamp} is past 2106-02-07, the latest the ingest keeps`,
    { exitCode: ExitCode.BAD_INPUT },
  );
}
