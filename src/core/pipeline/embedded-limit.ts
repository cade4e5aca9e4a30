import { RecoError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';

/**
 * The embedded engine's size limit, in ratings: the largest size measured to load and read back whole (the figures:
 * docs/benchmarks/scale.md, "Embedded engine"). At 32M ratings `reco ingest` peaked at 1.9 GB RSS and the
 * training read (one COPY, handed over as one blob) at 3.4 GB, both growing with the ratings; past it nothing is
 * measured, and the blob meets Node's 4 GiB buffer maximum at about 160M ratings. A load that would pass the
 * limit is refused before it starts.
 */
export const EMBEDDED_MAX_RATINGS = 32_000_000;

/**
 * Bytes per line of a ratings.csv, for the estimate of a file's ratings from its size. Measured: 24.6
 * (ml-latest-small), 24.7–27.1 (simulated 1M–32M); the smallest rounded down, so the estimate errs high.
 */
export const RATINGS_CSV_BYTES_PER_LINE = 24;

/** Heap bytes per row of `ratings` (52.2 measured at 16M rows; tuple header, four columns, line pointer), rounded down. */
export const RATINGS_HEAP_BYTES_PER_ROW = 52;

export interface EmbeddedSizeEstimate {
  /** Ratings stored now (storedRatingsFromHeap, plus what earlier batches of the run inserted). */
  stored: number;
  /** Ratings in the files about to be loaded, from their size (an upper bound: rejected rows and duplicates count). */
  incoming: number;
  incomingBytes: number;
  /** stored + incoming. */
  after: number;
  limit: number;
}

/** Ratings stored, estimated from the `ratings` heap's size (a count(*) takes seconds at 16M rows). */
export function storedRatingsFromHeap(heapBytes: number): number {
  return Math.round(heapBytes / RATINGS_HEAP_BYTES_PER_ROW);
}

export function estimateEmbeddedSize(o: {
  stored: number;
  incomingBytes: number;
  limit?: number;
}): EmbeddedSizeEstimate {
  const incoming = Math.round(o.incomingBytes / RATINGS_CSV_BYTES_PER_LINE);
  return {
    stored: o.stored,
    incoming,
    incomingBytes: o.incomingBytes,
    after: o.stored + incoming,
    limit: o.limit ?? EMBEDDED_MAX_RATINGS,
  };
}

const millions = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n.toLocaleString('en-US'));

/** Throws (exit 4, a limit of the database engine) when the load would take the embedded database past its limit. */
export function assertWithinEmbeddedLimit(e: EmbeddedSizeEstimate, batch: string): void {
  if (e.after <= e.limit) return;
  throw new RecoError(
    `the embedded database would hold about ${millions(e.after)} ratings after loading ${batch} (${millions(e.stored)} stored + about ${millions(e.incoming)} in ${(e.incomingBytes / 1e6).toFixed(0)} MB of ratings files), over its limit of ${millions(e.limit)}; set DATABASE_URL to a PostgreSQL database for this size. Nothing of ${batch} was loaded`,
    { exitCode: ExitCode.DATABASE },
  );
}
