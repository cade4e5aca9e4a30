import { stringify } from 'csv-stringify/sync';
import { textProblem } from '../text.js';
import { readCsv } from './csv-reader.js';
import { FileSink } from './file-sink.js';
import type { ReasonCounts, RejectReason } from './reasons.js';
import { RejectWriter } from './rejects.js';

export const MOVIES_HEADER = ['movieId', 'title', 'genres'] as const;
/** The processed movies.csv adds the release year parsed from the title. */
export const PROCESSED_MOVIES_HEADER = ['movieId', 'title', 'genres', 'year'] as const;

export interface FileStageResult {
  read: number;
  accepted: number;
  rejected: number;
  byReason: ReasonCounts;
  processedPath: string;
  rejectedPath?: string;
}

const MAX_INT4 = 2_147_483_647;

/** A positive integer id that fits PostgreSQL's integer, or undefined. */
export function parseId(field: string, max = MAX_INT4): number | undefined {
  if (!/^\s*\d+\s*$/.test(field)) return undefined;
  const n = Number(field);
  return n >= 1 && n <= max ? n : undefined;
}

/** "Toy Story (1995)" → 1995; "Fawlty Towers (1975–1979)" → 1975; no year → null. */
export function yearFromTitle(title: string): number | null {
  const m = /\((\d{4})(?:\s*[-–]\s*(?:\d{4})?)?\)\s*$/.exec(title);
  if (!m) return null;
  const y = Number(m[1]);
  return y >= 1870 && y <= 2200 ? y : null;
}

/** Longest title and genres field loaded (MovieLens' longest titles have under 200 characters). */
export const MAX_MOVIE_TEXT = 1000;

/**
 * Text a column cannot hold as it is: a NUL (PostgreSQL refuses it and the load would fail), bytes that are
 * not UTF-8 (decoded as U+FFFD, so the stored text would differ), or more than `maxLength` characters.
 */
export function fieldsTextProblem(fields: readonly string[], maxLength: number): RejectReason | undefined {
  for (const f of fields) {
    const problem = textProblem(f, { maxLength, decodedFromBytes: true });
    if (problem) return problem === 'too_long' ? 'field_too_long' : 'invalid_text';
  }
  return undefined;
}

/** Why a movies.csv record cannot be loaded, or undefined when it can. */
export function movieProblem(fields: readonly string[]): RejectReason | undefined {
  if (fields.length !== MOVIES_HEADER.length) return 'wrong_column_count';
  const text = fieldsTextProblem(fields, MAX_MOVIE_TEXT);
  if (text) return text;
  if (fields.some((f) => f.trim() === '')) return 'missing_field';
  if (parseId(fields[0]) === undefined) return 'malformed_number';
  return undefined;
}

/**
 * Stage 2 for movies.csv: validate, deduplicate (the last line of a movieId wins, earlier ones are rejected
 * as duplicates), write the clean file. Catalogues are small (tens of thousands), so rows are kept in a Map.
 */
export async function processMovies(
  source: string,
  paths: { processed: string; rejected: string },
  onBytes?: (n: number) => void,
): Promise<FileStageResult & { movieIds: number[] }> {
  const rejects = new RejectWriter(paths.rejected, MOVIES_HEADER);
  const kept = new Map<number, { line: number; fields: string[] }>();
  let read = 0;
  try {
    for await (const { line, fields } of readCsv(source, MOVIES_HEADER, { onBytes })) {
      read++;
      const problem = movieProblem(fields);
      if (problem) {
        await rejects.add(line, problem, fields);
        continue;
      }
      const id = Number(fields[0]);
      const before = kept.get(id);
      if (before) await rejects.add(before.line, 'duplicate_in_file', before.fields);
      kept.set(id, { line, fields });
    }
    // One stringify call for the whole file: csv-stringify's set-up is paid per call (docs/benchmarks/ingest.md).
    const out: (string | number)[][] = [PROCESSED_MOVIES_HEADER as unknown as string[]];
    for (const [id, { fields }] of kept) {
      const title = fields[1].trim();
      out.push([id, title, fields[2].trim(), yearFromTitle(title) ?? '']);
    }
    const sink = await FileSink.open(paths.processed);
    await sink.write(stringify(out));
    await sink.close();
  } catch (err) {
    await rejects.discard();
    throw err;
  }
  const rejectedPath = await rejects.close();
  return {
    read,
    accepted: kept.size,
    rejected: rejects.total,
    byReason: rejects.counts,
    processedPath: paths.processed,
    rejectedPath,
    movieIds: [...kept.keys()],
  };
}
