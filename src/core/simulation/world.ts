import { GENRES, genreIndex } from '../features/genres.js';
import type { SimMovie } from './catalogue.js';
import { HOURLY_ACTIVITY } from './diurnal.js';
import { Rng, sampleCumulative } from '../data/random.js';

/**
 * The simulated world: taste groups over genres, a long-tail popularity over the catalogue, and users whose
 * traits are a pure function of (seed, user id) — so the same user has the same taste in every run and every day.
 */

/** Users present from the start ("returning" users): ids 1_000_001 … 1_000_000 + --users, far above MovieLens' ids. */
export const RETURNING_USER_BASE = 1_000_000;
/** Users arriving on day d (days since DEFAULT_START) get ids NEW_USER_BASE + (d + NEW_USER_DAY_OFFSET) * 1000 + j. */
export const NEW_USER_BASE = 20_000_000;
export const NEW_USER_DAY_OFFSET = 10_000;
export const MAX_NEW_USERS_PER_DAY = 1000;
/** A user who arrived within this many days before today may come back today. */
export const RETURN_WINDOW_DAYS = 30;

export const TASTE_GROUPS = 5;
/** Zipf exponent of movie popularity by rank: the top 1% of movies draw about half of the ratings. */
const POPULARITY_EXPONENT = 1.0;
/** How strongly taste steers what a user watches (log-odds per unit of genre affinity). */
const CHOICE_TASTE_WEIGHT = 2.5;
/** How strongly taste moves a rating (stars per unit of affinity). */
const RATING_TASTE_WEIGHT = 0.9;

export interface SimUser {
  id: number;
  group: number;
  taste: Float32Array;
  bias: number;
  /** Probability of being active on a given day. */
  activeProb: number;
  /** Mean ratings in a session. */
  sessionSize: number;
  /** Hour (UTC) the user usually watches at. */
  preferredHour: number;
}

export class World {
  readonly seed: number;
  readonly groupCentres: Float32Array[] = [];
  readonly groupShares: number[] = [];
  readonly movies: SimMovie[] = [];
  /** Per movie: popularity weight, quality offset (stars), genre indices. */
  private popularity: number[] = [];
  private quality: number[] = [];
  private movieGenres: Int8Array[] = [];
  /** Per group: cumulative choice weights over `movies` (rebuilt when movies are added). */
  private choiceTables: Float64Array[] = [];
  private readonly users = new Map<number, SimUser>();
  private readonly rng: Rng;

  constructor(seed: number, catalogue: readonly SimMovie[]) {
    this.seed = seed;
    this.rng = new Rng(seed, 'world');
    this.makeGroups();
    // Popularity rank: a seeded shuffle of the catalogue, so popular movies are spread over genres and ids.
    const order = this.rng.shuffle(catalogue.map((_, i) => i));
    const rank = new Int32Array(catalogue.length);
    order.forEach((movie, r) => (rank[movie] = r));
    catalogue.forEach((m, i) => this.pushMovie(m, rank[i]));
    this.rebuildChoiceTables();
  }

  get maxMovieId(): number {
    let max = 0;
    for (const m of this.movies) if (m.movieId > max) max = m.movieId;
    return max;
  }

  /** Adds new releases, placed among the top 5% by popularity (new movies are promoted). */
  addMovies(newMovies: readonly SimMovie[], rng: Rng): void {
    for (const m of newMovies) this.pushMovie(m, rng.int(Math.max(1, Math.floor(this.movies.length * 0.05))));
    this.rebuildChoiceTables();
  }

  user(id: number): SimUser {
    let u = this.users.get(id);
    if (!u) {
      const r = new Rng(this.seed, 'user', id);
      const group = r.weighted(this.groupShares);
      const taste = new Float32Array(GENRES.length);
      for (let g = 0; g < taste.length; g++) taste[g] = this.groupCentres[group][g] + r.normal(0, 0.3);
      const preferredHour = r.weighted(HOURLY_ACTIVITY) + r.next();
      u = {
        id,
        group,
        taste,
        bias: r.normal(0, 0.35),
        activeProb: clamp(Math.exp(r.normal(Math.log(0.25), 0.7)), 0.02, 0.95),
        sessionSize: clamp(Math.exp(r.normal(Math.log(4), 0.6)), 1, 40),
        preferredHour,
      };
      this.users.set(id, u);
    }
    return u;
  }

  /** A movie index this user would pick next (by group taste × popularity); skips `seen`; -1 when unlucky. */
  chooseMovie(user: SimUser, rng: Rng, seen: ReadonlySet<number>): number {
    const table = this.choiceTables[user.group];
    for (let attempt = 0; attempt < 50; attempt++) {
      const i = sampleCumulative(rng, table);
      if (!seen.has(this.movies[i].movieId)) return i;
    }
    return -1;
  }

  /** Taste plus noise, in 0.5 steps within 0.5–5. */
  rate(user: SimUser, movieIndex: number, rng: Rng): number {
    const raw =
      3.4 +
      user.bias +
      this.quality[movieIndex] +
      RATING_TASTE_WEIGHT * this.affinity(user.taste, movieIndex) +
      rng.normal(0, 0.6);
    return clamp(Math.round(raw * 2) / 2, 0.5, 5);
  }

  /** Mean of the taste over the movie's genres (0 for a movie without genres). */
  affinity(taste: Float32Array, movieIndex: number): number {
    const gs = this.movieGenres[movieIndex];
    if (gs.length === 0) return 0;
    let s = 0;
    for (let k = 0; k < gs.length; k++) s += taste[gs[k]];
    return s / gs.length;
  }

  /** Five groups, each loving three genres and disliking two; the loved genres of different groups do not overlap. */
  private makeGroups(): void {
    const genres = this.rng.shuffle(
      GENRES.map((_, i) => i).filter((g) => GENRES[g] !== 'IMAX' && GENRES[g] !== 'Film-Noir'),
    );
    for (let k = 0; k < TASTE_GROUPS; k++) {
      const centre = new Float32Array(GENRES.length);
      for (let g = 0; g < centre.length; g++) centre[g] = this.rng.normal(0, 0.2);
      for (const g of genres.slice(k * 3, k * 3 + 3)) centre[g] = 1.5;
      const others = genres.filter((g) => centre[g] < 1);
      centre[others[this.rng.int(others.length)]] = -1.5;
      centre[others[this.rng.int(others.length)]] = -1.5;
      this.groupCentres.push(centre);
      this.groupShares.push(0.5 + this.rng.next());
    }
  }

  private pushMovie(m: SimMovie, rank: number): void {
    this.movies.push(m);
    this.popularity.push(Math.pow(rank + 1, -POPULARITY_EXPONENT));
    this.quality.push(this.rng.normal(0, 0.35));
    const idx: number[] = [];
    for (const g of m.genres) {
      const k = genreIndex(g);
      if (k !== undefined) idx.push(k);
    }
    this.movieGenres.push(Int8Array.from(idx));
  }

  private rebuildChoiceTables(): void {
    this.choiceTables = this.groupCentres.map((centre) => {
      const table = new Float64Array(this.movies.length);
      let total = 0;
      for (let i = 0; i < this.movies.length; i++) {
        total += this.popularity[i] * Math.exp(CHOICE_TASTE_WEIGHT * this.affinity(centre, i));
        table[i] = total;
      }
      return table;
    });
  }
}

export function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}
