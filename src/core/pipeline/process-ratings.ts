import fs from 'node:fs';
import { readCsv } from './csv-reader.js';
import { containsQuote, readQuoteFreeRatings } from './fast-ratings-reader.js';
import { FileSink } from './file-sink.js';
import { fieldsTextProblem, parseId, type FileStageResult } from './process-movies.js';
import { RatingColumns } from './rating-columns.js';
import { EARLIEST_TIMESTAMP, type RejectReason } from './reasons.js';
import { duplicatesInOrder, indexUsers, loadOrder, processedCsv, type FileUserIndex } from './rating-load.js';
import { RejectWriter } from './rejects.js';

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
  return valueProblem(halfSteps, movie, timestamp, checks.knownMovie, checks.now) ?? { user, movie, halfSteps, timestamp };
}

/** The checks on parsed values, shared by the general path and the fast reader (same order, same codes). */
function valueProblem(halfSteps: number, movie: number, timestamp: number, knownMovie: (id: number) => boolean, now: number): RejectReason | undefined {
  if (halfSteps < 1 || halfSteps > 10) return 'rating_out_of_range';
  if (!Number.isInteger(halfSteps)) return 'rating_not_half_step';
  if (!knownMovie(movie)) return 'unknown_movie';
  if (timestamp > now) return 'timestamp_in_future';
  if (timestamp < EARLIEST_TIMESTAMP) return 'timestamp_before_1995';
  return undefined;
}


/**
 * Stage 2 for ratings.csv: streams the file once, validating each record into typed columns (rejected
 * records go straight to the rejected file); then drops duplicates of a (user, movie), the latest timestamp
 * winning, and writes the clean file in source order. Only when duplicates exist is the file read a
 * second time, to write the losing lines with their original fields. The accepted rows are returned as
 * typed columns, so the load need not parse the processed file again. With `writeProcessed: false` the
 * caller writes the processed file itself (writeProcessedRatings), e.g. while the database loads the rows.
 */
export async function processRatings(
  source: string,
  paths: { processed: string; rejected: string },
  checks: RatingChecks,
  onBytes?: (n: number) => void,
  options: {
    writeProcessed?: boolean;
    /** After each chunk of a quote-free file: rows [from, rows.length) were accepted (before deduplication). */
    onRows?: (rows: RatingColumns, from: number) => void;
  } = {},
): Promise<RatingsStageResult> {
  const rejects = new RejectWriter(paths.rejected, RATINGS_HEADER);
  const rows = new RatingColumns(RatingColumns.capacityForBytes(sizeOrZero(source)));
  let read = 0;
  try {
    const quoted = await containsQuote(source);
    if (quoted) {
      for await (const { line, fields } of readCsv(source, RATINGS_HEADER, onBytes)) {
        read++;
        const ok = checkRating(fields, checks);
        if (typeof ok === 'string') await rejects.add(line, ok, fields);
        else rows.push(ok.user, ok.movie, ok.halfSteps, ok.timestamp, line);
      }
    } else {
      // The fast path (fast-ratings-reader.ts): rejected rows are queued and written after each chunk.
      const queued: [number, RejectReason, string[]][] = [];
      let reported = 0;
      const { knownMovie, now } = checks;
      read = await readQuoteFreeRatings(
        source,
        RATINGS_HEADER,
        (line, r) => {
          // A row that fails a check goes the general way, so its rejected line keeps the original text.
          if (valueProblem(r.halfSteps, r.movie, r.timestamp, knownMovie, now)) return false;
          rows.push(r.user, r.movie, r.halfSteps, r.timestamp, line);
          return true;
        },
        (line, fields) => {
          const ok = checkRating(fields, checks);
          if (typeof ok === 'string') queued.push([line, ok, fields]);
          else rows.push(ok.user, ok.movie, ok.halfSteps, ok.timestamp, line);
        },
        async () => {
          for (const [line, reason, fields] of queued) await rejects.add(line, reason, fields);
          queued.length = 0;
          if (options.onRows && rows.length > reported) {
            options.onRows(rows, reported);
            reported = rows.length;
          }
        },
        onBytes,
      );
    }
    // Duplicates are neighbours in load order (by user, then movie), which the load needs anyway.
    let index = indexUsers(rows);
    let order = loadOrder(rows, index);
    const { loser, count } = duplicatesInOrder(rows, index.rowUser, order);
    if (count > 0) {
      const loserLines = new Set<number>();
      for (let i = 0; i < rows.length; i++) if (loser[i]) loserLines.add(rows.line[i]);
      // The losing lines with their original fields, read again by the reader of the first pass: line numbers
      // must be counted the same way (csv-parse counts a CRLF file differently from the fast reader, and
      // duplicates of such a file went missing from the rejected file and from the counts).
      if (quoted) {
        for await (const { line, fields } of readCsv(source, RATINGS_HEADER)) {
          if (loserLines.has(line)) await rejects.add(line, 'duplicate_in_file', fields);
        }
      } else {
        const queued: [number, string[]][] = [];
        await readQuoteFreeRatings(
          source,
          RATINGS_HEADER,
          (line) => !loserLines.has(line),
          (line, fields) => {
            if (loserLines.has(line)) queued.push([line, fields]);
          },
          async () => {
            for (const [line, fields] of queued) await rejects.add(line, 'duplicate_in_file', fields);
            queued.length = 0;
          },
        );
      }
    }
    if (count > 0) {
      rows.compact(loser);
      index = indexUsers(rows);
      order = loadOrder(rows, index);
    }
    if (options.writeProcessed !== false) await writeProcessedRatings(rows, paths.processed);
    const rejectedPath = await rejects.close();
    return { read, accepted: rows.length, rejected: rejects.total, byReason: rejects.counts, processedPath: paths.processed, rejectedPath, rows, index, order };
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
