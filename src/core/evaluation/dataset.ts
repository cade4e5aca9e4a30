import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse';
import { RecoError } from '../errors.js';
import { parseGenres } from '../features/genres.js';
import { buildInteractions, type Interactions } from '../data/interactions.js';
import type { Catalogue } from '../models/types.js';

export interface Dataset {
  interactions: Interactions;
  catalogue: Catalogue;
  /** Where it came from, for reports. */
  source: string;
}

/** Growable typed columns, so a million ratings never become a million objects. */
export class TripletBuilder {
  private n = 0;
  private users = new Float64Array(1024);
  private movies = new Int32Array(1024);
  private ratings = new Float32Array(1024);
  private times = new Float64Array(1024);

  push(user: number, movie: number, rating: number, time: number): void {
    if (this.n === this.users.length) {
      const grow = <T extends Float64Array | Int32Array | Float32Array>(a: T): T => {
        const b = new (a.constructor as any)(a.length * 2) as T;
        b.set(a);
        return b;
      };
      this.users = grow(this.users);
      this.movies = grow(this.movies);
      this.ratings = grow(this.ratings);
      this.times = grow(this.times);
    }
    this.users[this.n] = user;
    this.movies[this.n] = movie;
    this.ratings[this.n] = rating;
    this.times[this.n] = time;
    this.n++;
  }

  get length(): number {
    return this.n;
  }

  build(): Interactions {
    return buildInteractions({
      userIds: this.users.subarray(0, this.n),
      movieIds: this.movies.subarray(0, this.n),
      ratings: this.ratings.subarray(0, this.n),
      timestamps: this.times.subarray(0, this.n),
    });
  }
}

/**
 * A MovieLens-style folder (movies.csv, ratings.csv with header rows). Rows that do not parse are an error
 * naming the file and line: evaluation figures must come from exactly the data the folder holds.
 */
export async function loadDatasetDir(dir: string): Promise<Dataset> {
  const moviesPath = path.join(dir, 'movies.csv');
  const ratingsPath = path.join(dir, 'ratings.csv');
  for (const p of [moviesPath, ratingsPath]) {
    if (!fs.existsSync(p))
      throw new RecoError(`no ${path.basename(p)} in ${dir}: expected a MovieLens folder (movies.csv, ratings.csv)`);
  }
  const genres = new Map<number, readonly string[]>();
  for await (const rec of fs.createReadStream(moviesPath).pipe(parse({ columns: true, relax_quotes: true }))) {
    const id = Number(rec.movieId);
    if (Number.isInteger(id)) genres.set(id, parseGenres(rec.genres ?? ''));
  }
  const triplets = new TripletBuilder();
  let line = 1;
  for await (const rec of fs.createReadStream(ratingsPath).pipe(parse({ from_line: 2 }))) {
    line++;
    const [u, m, r, t] = rec as string[];
    const user = Number(u);
    const movie = Number(m);
    const rating = Number(r);
    const time = Number(t);
    if (!Number.isFinite(user) || !Number.isInteger(movie) || !(rating >= 0.5 && rating <= 5)) {
      throw new RecoError(`${ratingsPath}:${line}: not a rating row (userId,movieId,rating,timestamp)`);
    }
    triplets.push(user, movie, rating, Number.isFinite(time) ? time : 0);
  }
  if (triplets.length === 0) throw new RecoError(`${ratingsPath} has no ratings`);
  return { interactions: triplets.build(), catalogue: { genres }, source: dir };
}

/** The citation GroupLens' licence asks for when MovieLens data is used. */
export const MOVIELENS_CITATION =
  'MovieLens data by GroupLens Research, used under its licence: F. Maxwell Harper and Joseph A. Konstan. 2015. ' +
  'The MovieLens Datasets: History and Context. ACM Transactions on Interactive Intelligent Systems (TiiS) 5, 4: 19:1–19:19.';

/** The credit a folder's data asks for: MovieLens folders carry GroupLens' README.txt. */
export function datasetCitation(dir: string): string | undefined {
  const readme = path.join(dir, 'README.txt');
  if (!fs.existsSync(readme)) return undefined;
  const text = fs.readFileSync(readme, 'utf8').slice(0, 20_000);
  return /MovieLens/.test(text) && /GroupLens/.test(text) ? MOVIELENS_CITATION : undefined;
}
