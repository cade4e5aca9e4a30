import fs from 'node:fs';
import { parse } from 'csv-parse';
import { RecoError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';

export interface CsvRecord {
  /** 1-based line of the source file where the record starts. */
  line: number;
  fields: string[];
}

export interface ReadCsvOptions {
  onBytes?: (n: number) => void;
  /** Start at this byte offset, the start of a line after the header (where the fast reader stopped). */
  from?: { offset: number; linesBefore: number };
}

/**
 * Streams the records of a CSV file after checking its header (case-insensitive), with the line each
 * record starts on. Column counts are not enforced here: a wrong count is a rejected row, not a failure.
 */
export async function* readCsv(
  file: string,
  expectedHeader: readonly string[],
  options: ReadCsvOptions = {},
): AsyncGenerator<CsvRecord> {
  const { onBytes, from } = options;
  const input = fs.createReadStream(file, { highWaterMark: 1 << 20, start: from?.offset });
  if (onBytes) input.on('data', (chunk) => onBytes(chunk.length));
  const parser = input.pipe(
    parse({ bom: !from, relax_column_count: true, relax_quotes: true, skip_empty_lines: true, info: true }),
  );
  input.on('error', (err) => parser.destroy(err));
  const linesBefore = from?.linesBefore ?? 0;
  let first = !from;
  let empty = !from;
  try {
    for await (const { record, info } of parser as AsyncIterable<{
      record: string[];
      info: { lines: number; raw?: string };
    }>) {
      empty = false;
      if (first) {
        first = false;
        const got = record.map((f) => f.trim().toLowerCase());
        if (got.length !== expectedHeader.length || got.some((f, i) => f !== expectedHeader[i].toLowerCase())) {
          throw new RecoError(
            `${file}: the first line must be the header ${expectedHeader.join(',')} (found "${record.join(',').slice(0, 80)}")`,
            { exitCode: ExitCode.BAD_INPUT },
          );
        }
        continue;
      }
      // info.lines is where the record ends; a quoted field may span lines.
      let extra = 0;
      for (const f of record) for (let i = f.indexOf('\n'); i >= 0; i = f.indexOf('\n', i + 1)) extra++;
      yield { line: linesBefore + info.lines - extra, fields: record };
    }
  } catch (err: any) {
    if (err instanceof RecoError) throw err;
    throw new RecoError(`cannot read ${file}: ${err?.message ?? err}`, { exitCode: ExitCode.BAD_INPUT, cause: err });
  }
  if (empty)
    throw new RecoError(`${file} is empty: expected the header ${expectedHeader.join(',')}`, {
      exitCode: ExitCode.BAD_INPUT,
    });
}
