import fs from 'node:fs';
import path from 'node:path';

/** Writes one day (or a flat folder when `day` is null) of MovieLens CSV files; lines are given as text. */
export function writeBatch(root: string, day: string | null, files: { movies?: string[]; ratings?: string[] }): string {
  const dir = day ? path.join(root, ...day.split('-')) : root;
  fs.mkdirSync(dir, { recursive: true });
  if (files.movies)
    fs.writeFileSync(path.join(dir, 'movies.csv'), ['movieId,title,genres', ...files.movies].join('\n') + '\n');
  if (files.ratings)
    fs.writeFileSync(
      path.join(dir, 'ratings.csv'),
      ['userId,movieId,rating,timestamp', ...files.ratings].join('\n') + '\n',
    );
  return dir;
}

/** 2020-06-01 12:00 UTC and later: valid timestamps. */
export const T0 = 1_591_012_800;

export const CATALOGUE = [
  '1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy',
  '2,Jumanji (1995),Adventure|Children|Fantasy',
  '3,"Heat, the Sequel (1995)",Action|Crime|Thriller',
  '4,Untitled,(no genres listed)',
];

export function readCsvLines(file: string): string[] {
  return fs.readFileSync(file, 'utf8').trim().split('\n');
}
