import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { RecoError } from '../errors.js';
import { parseGenres } from '../features/genres.js';

export interface SimMovie {
  movieId: number;
  title: string;
  genres: string[];
}

/** The repository root (src/core/simulation or dist/core/simulation are three levels down). */
const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** data/initial_data/movies.csv of the data directory, else the copy shipped with reco. */
export function defaultCatalogueFile(dataDir: string): string {
  const own = path.join(dataDir, 'initial_data', 'movies.csv');
  return fs.existsSync(own) ? own : path.join(PACKAGE_ROOT, 'data', 'initial_data', 'movies.csv');
}

/** A MovieLens movies.csv (movieId,title,genres) as a catalogue; rows it cannot read are a clear error. */
export function readCatalogueFile(file: string): SimMovie[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new RecoError(`cannot read the catalogue ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  const records = parse(text, { columns: true, skip_empty_lines: true, bom: true }) as Record<string, string>[];
  const movies: SimMovie[] = [];
  for (const [i, r] of records.entries()) {
    const movieId = Number(r.movieId);
    if (!Number.isInteger(movieId) || movieId <= 0 || !r.title)
      throw new RecoError(`${file} line ${i + 2}: not a MovieLens movies.csv row (movieId,title,genres)`);
    movies.push({ movieId, title: r.title, genres: parseGenres(r.genres ?? '') });
  }
  if (movies.length === 0) throw new RecoError(`the catalogue ${file} has no movies`);
  return movies.sort((a, b) => a.movieId - b.movieId);
}
