/**
 * The genre vocabulary of MovieLens and the users' characteristic vector (genre profile) built on it.
 * Definition (docs/features.md): for user u with ratings r_ui on movies i with genre sets G_i,
 *   v_u[g] = Σ_{i: g ∈ G_i} r_ui / Σ_i r_ui
 * the rating-weighted share of the user's ratings that fall in genre g. Every entry is in [0, 1]; a movie with
 * several genres counts for each. A user with no ratings has the zero vector. Computed in SQL by the pipeline
 * and in TypeScript here (for a new history); the two must agree.
 */
export const GENRES = [
  'Action',
  'Adventure',
  'Animation',
  'Children',
  'Comedy',
  'Crime',
  'Documentary',
  'Drama',
  'Fantasy',
  'Film-Noir',
  'Horror',
  'IMAX',
  'Musical',
  'Mystery',
  'Romance',
  'Sci-Fi',
  'Thriller',
  'War',
  'Western',
] as const;

export type Genre = (typeof GENRES)[number];

export const NO_GENRES = '(no genres listed)';

const GENRE_INDEX = new Map<string, number>(GENRES.map((g, i) => [g, i]));

export function genreIndex(genre: string): number | undefined {
  return GENRE_INDEX.get(genre);
}

/** Splits a MovieLens genres field ("Adventure|Children") into known genres; "(no genres listed)" is none. */
export function parseGenres(field: string): string[] {
  if (!field || field === NO_GENRES) return [];
  return field.split('|').filter((g) => g.length > 0);
}

/** The genre profile of one history (see the definition above). */
export function genreProfile(items: Iterable<{ genres: readonly string[]; rating: number }>): Float32Array {
  const v = new Float64Array(GENRES.length);
  let total = 0;
  for (const { genres, rating } of items) {
    total += rating;
    for (const g of genres) {
      const k = GENRE_INDEX.get(g);
      if (k !== undefined) v[k] += rating;
    }
  }
  const out = new Float32Array(GENRES.length);
  if (total > 0) for (let k = 0; k < v.length; k++) out[k] = v[k] / total;
  return out;
}
