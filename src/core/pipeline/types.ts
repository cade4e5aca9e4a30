import type { ReasonCounts } from './reasons.js';
import type { FileKind } from './sources.js';

/**
 * Which reader parses ratings files. `fast`: the byte reader (fast-ratings-reader.ts), which hands the rest of
 * the file to csv-parse at the first line with a quote. `reference`: csv-parse for the whole file — the plain
 * path the tests hold the fast one equal to.
 */
export type RatingsReader = 'fast' | 'reference';

export interface IngestOptions {
  /** A flat folder of MovieLens files, or a tree of YYYY/MM/DD folders (default: <dataDir>/simulation_data). */
  from: string;
  /** Only this day (YYYY-MM-DD); without it every day under `from`, oldest first. */
  date?: string;
  /** The platform whose users these are (default "default"; created without a password when absent). */
  client?: string;
  /** Root of raw/, processed/ and no_injected_data/. */
  dataDir: string;
  /** Any rejected row fails the run (the day with it is not loaded). */
  strict?: boolean;
  /** A `from` folder that does not exist holds nothing to load (the default folder on a fresh install), instead of failing. */
  missingSourceIsEmpty?: boolean;
  onProgress?: (p: IngestProgress) => void;
  /** Clock for the "timestamp in the future" check, unix seconds (default: now). */
  now?: number;
  /**
   * `fast` (default): the byte reader parses ratings files while the load transaction starts and creates their
   * users. `reference`: csv-parse, every file of a batch parsed before its load, no users created during the
   * parse — the plain path the tests hold the fast one equal to (same files, rows, users, vectors, ratings).
   */
  reader?: RatingsReader;
  /**
   * Awaited inside each file's load transaction, after its rows are written and before the ledger row and the
   * commit: where the fault tests kill the process or terminate its backend.
   */
  beforeCommit?: () => Promise<void>;
  /** Embedded engine: refuse a batch that would take the database past this many ratings (default EMBEDDED_MAX_RATINGS). */
  embeddedRatingLimit?: number;
}

export interface IngestProgress {
  stage: 'archive' | 'process' | 'load' | 'done';
  /** The batch: YYYY-MM-DD, or the flat folder's name. */
  batch: string;
  kind?: FileKind;
  /** Bytes of source files processed so far, over all batches, and their total. */
  bytesDone: number;
  bytesTotal: number;
}

export interface FileSummary {
  day: string | null;
  kind: FileKind;
  source: string;
  sha256: string;
  /** loaded: validated and written; skipped: this exact file (checksum) was loaded before. */
  status: 'loaded' | 'skipped';
  read: number;
  accepted: number;
  rejected: number;
  byReason: ReasonCounts;
  rawPath: string;
  processedPath?: string;
  rejectedPath?: string;
  /** For a skipped file: the run that loaded it. */
  loadedByRun?: number;
  durationMs: number;
}

export interface DatabaseChanges {
  moviesInserted: number;
  moviesUpdated: number;
  usersCreated: number;
  ratingsInserted: number;
  ratingsUpdated: number;
  profilesUpdated: number;
}

export interface IngestSummary {
  runId: number;
  status: 'succeeded';
  client: string;
  source: string;
  /** The batches loaded in this run (day, or the flat folder's name), oldest first. */
  batches: string[];
  files: FileSummary[];
  filesLoaded: number;
  filesSkipped: number;
  /** Over the loaded files: read = accepted + rejected. */
  read: number;
  accepted: number;
  rejected: number;
  byReason: ReasonCounts;
  database: DatabaseChanges;
  /** False when the run changed nothing in the database (every file already loaded, or nothing new in them). */
  changed: boolean;
  durationMs: number;
  /** Where the time went, summed over batches (ms): archive, process, copy, users, upsert, vectors, … */
  timingsMs: StageTimings;
}

export interface StageTimings {
  archive: number;
  process: number;
  /** Writing the processed ratings file; it overlaps the load, so it is not part of the sum of the others. */
  writeProcessed: number;
  copyMovies: number;
  upsertMovies: number;
  copyRatings: number;
  upsertUsers: number;
  upsertRatings: number;
  vectors: number;
  writeVectors: number;
  commit: number;
}
