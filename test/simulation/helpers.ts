import fs from 'node:fs';
import { defaultCatalogueFile, readCatalogueFile, type SimMovie } from '../../src/core/simulation/catalogue.js';

/** The ml-latest-small catalogue shipped in data/initial_data (read once per test file). */
export function shippedCatalogue(): SimMovie[] {
  return readCatalogueFile(defaultCatalogueFile('/nonexistent'));
}

export interface ParsedRating {
  userId: number;
  movieId: number;
  rating: number;
  timestamp: number;
}

/** Good rows of a simulated ratings.csv (the tests that read them simulate without bad rows). */
export function readRatings(file: string): ParsedRating[] {
  const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
  expectHeader(lines[0], 'userId,movieId,rating,timestamp');
  return lines.slice(1).map((l) => {
    const [userId, movieId, rating, timestamp] = l.split(',').map(Number);
    return { userId, movieId, rating, timestamp };
  });
}

function expectHeader(actual: string, expected: string): void {
  if (actual !== expected) throw new Error(`header ${actual} is not ${expected}`);
}

/** Every file under `dir`, relative path → bytes. */
export function treeBytes(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string, rel: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(`${d}/${e.name}`, r);
      else out.set(r, fs.readFileSync(`${d}/${e.name}`));
    }
  };
  walk(dir, '');
  return out;
}
