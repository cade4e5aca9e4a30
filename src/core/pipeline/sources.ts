import fs from 'node:fs';
import path from 'node:path';
import { RecoError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';

/** What `reco ingest` reads: one batch per day (YYYY/MM/DD tree) or one for a flat folder of MovieLens files. */

export type FileKind = 'movies' | 'ratings';
export const FILE_NAMES: Record<FileKind, string> = { movies: 'movies.csv', ratings: 'ratings.csv' };

export interface SourceFile {
  kind: FileKind;
  path: string;
  bytes: number;
}

export interface Batch {
  /** The day (YYYY-MM-DD), or null for a flat folder such as initial_data. */
  day: string | null;
  /** Sub-folder of raw/, processed/ and no_injected_data/: "YYYY/MM/DD", or the flat folder's name. */
  segment: string;
  dir: string;
  /** movies before ratings, so a day's new movies are known when its ratings are checked. */
  files: SourceFile[];
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

export function isValidDay(day: string): boolean {
  if (!DATE.test(day)) return false;
  const d = new Date(`${day}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === day;
}

function filesIn(dir: string): SourceFile[] {
  const out: SourceFile[] = [];
  for (const kind of ['movies', 'ratings'] as const) {
    const p = path.join(dir, FILE_NAMES[kind]);
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch {
      continue;
    }
    if (st.isFile()) out.push({ kind, path: p, bytes: st.size });
  }
  return out;
}

const listDirs = (dir: string, pattern: RegExp) =>
  fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && pattern.test(e.name))
    .map((e) => e.name)
    .sort();

/**
 * The batches under `from`, oldest day first. A folder that holds movies.csv or ratings.csv itself is one
 * batch (its day taken from a …/YYYY/MM/DD path, or from `date`); otherwise every YYYY/MM/DD folder below
 * it is a batch, or only `date`'s when given. A folder without any is no batch: nothing to load is a normal
 * day for a scheduled ingest. A missing `from` is an error unless `missingIsEmpty`.
 */
export function discoverBatches(from: string, date?: string, options: { missingIsEmpty?: boolean } = {}): Batch[] {
  const root = path.resolve(from);
  if (date !== undefined && !isValidDay(date))
    throw new RecoError(`--date must be a calendar date as YYYY-MM-DD, got "${date}"`);
  let st: fs.Stats;
  try {
    st = fs.statSync(root);
  } catch (err: any) {
    if (err?.code === 'ENOENT' && options.missingIsEmpty && date === undefined) return [];
    throw new RecoError(
      `cannot read the source folder ${root}: ${err?.code === 'ENOENT' ? 'it does not exist' : err?.message}`,
      { exitCode: ExitCode.BAD_INPUT },
    );
  }
  if (!st.isDirectory())
    throw new RecoError(
      `the source ${root} is not a folder (give the folder that holds movies.csv/ratings.csv or YYYY/MM/DD folders)`,
      { exitCode: ExitCode.BAD_INPUT },
    );

  const flat = filesIn(root);
  if (flat.length > 0) {
    const m = /(\d{4})[\\/](\d{2})[\\/](\d{2})$/.exec(root);
    const pathDay = m && isValidDay(`${m[1]}-${m[2]}-${m[3]}`) ? `${m[1]}-${m[2]}-${m[3]}` : null;
    if (date && pathDay && date !== pathDay)
      throw new RecoError(`--date ${date} does not match the folder ${root} (day ${pathDay})`);
    const day = date ?? pathDay;
    return [{ day, segment: day ? day.replace(/-/g, '/') : path.basename(root), dir: root, files: flat }];
  }

  const batches: Batch[] = [];
  for (const y of listDirs(root, /^\d{4}$/)) {
    for (const mo of listDirs(path.join(root, y), /^\d{2}$/)) {
      for (const d of listDirs(path.join(root, y, mo), /^\d{2}$/)) {
        const day = `${y}-${mo}-${d}`;
        if (!isValidDay(day) || (date && day !== date)) continue;
        const dir = path.join(root, y, mo, d);
        const files = filesIn(dir);
        if (files.length > 0) batches.push({ day, segment: `${y}/${mo}/${d}`, dir, files });
      }
    }
  }
  if (date && batches.length === 0) {
    throw new RecoError(`no movies.csv or ratings.csv for ${date} in ${path.join(root, ...date.split('-'))}`, {
      exitCode: ExitCode.BAD_INPUT,
    });
  }
  return batches;
}
