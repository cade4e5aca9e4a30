import fs from 'node:fs';
import { readCsv } from './csv-reader.js';
import { readRatingsFast, type FastRow } from './fast-ratings-reader.js';
import { FileSink } from './file-sink.js';
import { fieldsTextProblem, parseId, type FileStageResult } from './process-movies.js';
import { RatingColumns } from './rating-columns.js';
import { EARLIEST_TIMESTAMP, type RejectReason } from './reasons.js';
import { duplicatesInOrder, planLoad, processedCsv, type FileUserIndex, type LoadPlan } from './rating-load.js';
import { RejectWriter } from './rejects.js';
import type { RatingsReader } from './types.js';

export const RATINGS_HEADER = ['userId', 'movieId', 'rating', 'timestamp'] as const;

const NUMBER = /^\s*-?\d+(\.\d+)?\s*$/;
const INTEGER = /^\s*-?\d+\s*$/;
/** Longest field of a ratings row: numbers only, so anything longer is not one (and is not kept whole in memory twice). */
const MAX_RATING_FIELD = 64;

export interface RatingChecks {
  /** Is this movieId in the catalogue or in the same day's movies.csv? */
  knownMovie(id: number): boolean;
  /** Unix seconds; later timestamps are in the future. */
  now: number;
}

/** The stage's counts, and the accepted rows themselves (in source order) for the load. */
export interface RatingsStageResult extends FileStageResult {
  rows: RatingColumns;
  /** The rows' users (in order of first appearance) and the rows in load order (rating-load.ts): made here to find the duplicates, kept for the load. */
  index: FileUserIndex;
  order: Int32Array;
}

export type ParsedRating = { user: number; movie: number; halfSteps: number; timestamp: number };

/** Validates one ratings.csv record: the parsed row, or why it is rejected. */
export function checkRating(fields: readonly string[], checks: RatingChecks): ParsedRating | RejectReason {
  if (fields.length !== RATINGS_HEADER.length) return 'wrong_column_count';
  const text = fieldsTextProblem(fields, MAX_RATING_FIELD);
  if (text) return text;
  const [u, m, r, t] = fields;
  if (u.trim() === '' || m.trim() === '' || r.trim() === '' || t.trim() === '') return 'missing_field';
  const user = parseId(u, Number.MAX_SAFE_INTEGER);
  const movie = parseId(m);
  if (user === undefined || movie === undefined || !NUMBER.test(r) || !INTEGER.test(t)) return 'malformed_number';
  const halfSteps = Number(r) * 2;
  const timestamp = Number(t);
  return (
    valueProblem(halfSteps, movie, timestamp, checks.knownMovie, checks.now) ?? { user, movie, halfSteps, timestamp }
  );
}

/** The checks on parsed values, shared by the general path and the fast reader (same order, same codes). */
function valueProblem(
  halfSteps: number,
  movie: number,
  timestamp: number,
  knownMovie: (id: number) => boolean,
  now: number,
): RejectReason | undefined {
  if (halfSteps < 1 || halfSteps > 10) return 'rating_out_of_range';
  if (!Number.isInteger(halfSteps)) return 'rating_not_half_step';
  if (!knownMovie(movie)) return 'unknown_movie';
  if (timestamp > now) return 'timestamp_in_future';
  if (timestamp < EARLIEST_TIMESTAMP) return 'timestamp_before_1995';
  return undefined;
}

/** What a reading pass does with each record (see readRatingsFast). */
interface RecordHandlers {
  onFast(line: number, row: FastRow): boolean;
  onFields(line: number, fields: string[]): void;
  /** After each chunk: the place for async work (rejected rows, the rows seen so far). */
  flush(): Promise<void>;
  onBytes?: (n: number) => void;
}

/** Records csv-parse hands over between two flushes. */
const CSV_FLUSH_EVERY = 4096;

/** One pass over the records of a ratings file with the chosen reader; returns how many there were. */
async function readRecords(source: string, reader: RatingsReader, h: RecordHandlers): Promise<number> {
  let records = 0;
  let from: { offset: number; linesBefore: number } | undefined;
  let onBytes = h.onBytes;
  if (reader === 'fast') {
    const fast = await readRatingsFast(source, RATINGS_HEADER, h.onFast, h.onFields, h.flush, h.onBytes);
    records = fast.records;
    const rest = fast.handOver;
    if (!rest) return records;
    if (rest.afterHeader) from = { offset: rest.offset, linesBefore: rest.linesBefore };
    // The bytes past the hand-over were counted already: progress counts each byte once.
    let counted = rest.bytesReported - (from?.offset ?? 0);
    onBytes =
      h.onBytes &&
      ((n) => {
        const seen = Math.min(counted, n);
        counted -= seen;
        if (n > seen) h.onBytes!(n - seen);
      });
  }
  for await (const { line, fields } of readCsv(source, RATINGS_HEADER, { from, onBytes })) {
    records++;
    h.onFields(line, fields);
    if (records % CSV_FLUSH_EVERY === 0) await h.flush();
  }
  await h.flush();
  return records;
}

export interface ParseRatingsOptions {
  checks: RatingChecks;
  reader: RatingsReader;
  onBytes?: (n: number) => void;
  /** After each chunk read: rows [from, rows.length) were accepted (source order, before deduplication). */
  onRows?: (rows: RatingColumns, from: number) => void;
}

/**
 * parse: streams the file once, checking each record into typed columns; a rejected record goes to `rejects`
 * with its reason and original fields.
 */
export async function parseRatings(
  source: string,
  rejects: RejectWriter,
  options: ParseRatingsOptions,
): Promise<{ rows: RatingColumns; read: number }> {
  const rows = new RatingColumns(RatingColumns.capacityForBytes(sizeOrZero(source)));
  const { checks, onRows } = options;
  const { knownMovie, now } = checks;
  const queued: [number, RejectReason, string[]][] = [];
  let reported = 0;
  const read = await readRecords(source, options.reader, {
    onFast(line, r) {
      // A row that fails a check goes the general way, so its rejected line keeps the original text.
      if (valueProblem(r.halfSteps, r.movie, r.timestamp, knownMovie, now)) return false;
      rows.push(r.user, r.movie, r.halfSteps, r.timestamp, line);
      return true;
    },
    onFields(line, fields) {
      const ok = checkRating(fields, checks);
      if (typeof ok === 'string') queued.push([line, ok, fields]);
      else rows.push(ok.user, ok.movie, ok.halfSteps, ok.timestamp, line);
    },
    async flush() {
      for (const [line, reason, fields] of queued) await rejects.add(line, reason, fields);
      queued.length = 0;
      if (onRows && rows.length > reported) {
        onRows(rows, reported);
        reported = rows.length;
      }
    },
    onBytes: options.onBytes,
  });
  return { rows, read };
}

/**
 * validate: of the rows of one (user, movie), the latest timestamp wins (among equal timestamps the later
 * line); the others are rejected as duplicate_in_file, their original fields read again by the same reader (so
 * line numbers are counted the same way), and dropped from `rows`. Returns the plan of the rows that remain.
 */
export async function validateRatings(
  source: string,
  rows: RatingColumns,
  rejects: RejectWriter,
  options: { reader: RatingsReader },
): Promise<LoadPlan> {
  // Duplicates are neighbours in load order (by user, then movie), which the load needs anyway.
  const plan = planLoad(rows);
  const { loser, count } = duplicatesInOrder(rows, plan.index.rowUser, plan.order);
  if (count === 0) return plan;
  const loserLines = new Set<number>();
  for (let i = 0; i < rows.length; i++) if (loser[i]) loserLines.add(rows.line[i]);
  const queued: [number, string[]][] = [];
  await readRecords(source, options.reader, {
    onFast: (line) => !loserLines.has(line),
    onFields(line, fields) {
      if (loserLines.has(line)) queued.push([line, fields]);
    },
    async flush() {
      for (const [line, fields] of queued) await rejects.add(line, 'duplicate_in_file', fields);
      queued.length = 0;
    },
  });
  rows.compact(loser);
  return planLoad(rows);
}

export interface ProcessRatingsOptions extends ParseRatingsOptions {
  /** false: the caller writes the processed file itself (writeProcessedRatings), e.g. while the database loads. */
  writeProcessed?: boolean;
}

/**
 * Stage 2 for ratings.csv: parse → validate → plan, the rejected rows to the rejected file, and (unless told
 * otherwise) the clean file in source order. The accepted rows are returned as typed columns with their plan, so
 * the load need not parse the processed file again.
 */
export async function processRatings(
  source: string,
  paths: { processed: string; rejected: string },
  options: ProcessRatingsOptions,
): Promise<RatingsStageResult> {
  const rejects = new RejectWriter(paths.rejected, RATINGS_HEADER);
  try {
    const { rows, read } = await parseRatings(source, rejects, options);
    const { index, order } = await validateRatings(source, rows, rejects, options);
    if (options.writeProcessed !== false) await writeProcessedRatings(rows, paths.processed);
    const rejectedPath = await rejects.close();
    return {
      read,
      accepted: rows.length,
      rejected: rejects.total,
      byReason: rejects.counts,
      processedPath: paths.processed,
      rejectedPath,
      rows,
      index,
      order,
    };
  } catch (err) {
    await rejects.discard();
    throw err;
  }
}

/** The clean ratings.csv of the processed stage, in source order (written under a temporary name, then renamed). */
export async function writeProcessedRatings(rows: RatingColumns, file: string): Promise<void> {
  const sink = await FileSink.open(file);
  try {
    await sink.write(`${RATINGS_HEADER.join(',')}\n`);
    for (const chunk of processedCsv(rows)) await sink.writeBytes(chunk);
    await sink.close();
  } catch (err) {
    await sink.discard();
    throw err;
  }
}

/** The file's size for sizing the columns; 0 when it cannot be read (the read itself then reports why). */
function sizeOrZero(source: string): number {
  try {
    return fs.statSync(source).size;
  } catch {
    return 0;
  }
}
