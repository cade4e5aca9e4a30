/**
 * The genre vocabulary of MovieLens, in the order of the users' characteristic vector (genre-profile.ts owns
 * the vector; docs/features.md).
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
