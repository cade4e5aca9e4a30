import type { Queryable } from '../types.js';

/** One rating as training reads it: users.id, movie id, rating, unix seconds. */
export type RatingSink = (userId: number, movieId: number, rating: number, ratedAt: number) => void;

/** Users of trusted clients (migration 051): whose ratings train models and the popularity fallback. */
const TRUSTED_USERS = 'SELECT u.id FROM users u JOIN clients c ON c.id = u.client_id WHERE c.trusted';

/**
 * Streams the training ratings — those of trusted clients' users — out of the database with COPY (one round
 * trip, no row objects) into `sink`. The COPY output is plain numbers, so it is split by hand: csv-parse costs
 * several times more per row here and has no quoting to handle. Returns the number of ratings.
 */
export async function streamTrainingRatings(db: Queryable, sink: RatingSink): Promise<number> {
  const decoder = new TextDecoder();
  let rest = '';
  let n = 0;
  const line = (s: string) => {
    if (!s) return;
    const a = s.indexOf(',');
    const b = s.indexOf(',', a + 1);
    const c = s.indexOf(',', b + 1);
    sink(Number(s.slice(0, a)), Number(s.slice(a + 1, b)), Number(s.slice(b + 1, c)), Number(s.slice(c + 1)));
    n++;
  };
  for await (const chunk of db.copyTo(
    `SELECT user_id, movie_id, rating, extract(epoch FROM rated_at)::bigint FROM ratings
      WHERE user_id IN (${TRUSTED_USERS}) ORDER BY user_id, movie_id`,
  )) {
    const text = rest + decoder.decode(chunk, { stream: true });
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      line(text.slice(start, nl).replace(/\r$/, ''));
      start = nl + 1;
    }
    rest = text.slice(start);
  }
  line((rest + decoder.decode()).trim());
  return n;
}

/** movieId → genres of the whole catalogue. */
export async function movieGenres(db: Queryable): Promise<Map<number, string[]>> {
  const r = await db.query<{ movie_id: number; genres: string[] }>('SELECT movie_id, genres FROM movies');
  return new Map(r.rows.map((row) => [Number(row.movie_id), row.genres ?? []]));
}

/** Ratings that training reads: those of trusted clients' users. */
export async function trainingRatingCount(db: Queryable): Promise<number> {
  const r = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ratings WHERE user_id IN (${TRUSTED_USERS})`);
  return Number(r.rows[0]?.n ?? 0);
}

/** Ratings left out of training: those of untrusted clients' users. */
export async function untrustedRatingCount(db: Queryable): Promise<number> {
  const r = await db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM ratings r JOIN users u ON u.id = r.user_id JOIN clients c ON c.id = u.client_id WHERE NOT c.trusted',
  );
  return Number(r.rows[0]?.n ?? 0);
}

/** Trusted ratings per movie, for the popularity fallback (no need to read every rating). */
export async function ratingCountsByMovie(db: Queryable): Promise<{ movieIds: Int32Array; counts: Float32Array }> {
  const r = await db.query<{ movie_id: number; n: number }>(
    `SELECT movie_id, count(*)::int AS n FROM ratings WHERE user_id IN (${TRUSTED_USERS}) GROUP BY movie_id ORDER BY movie_id`,
  );
  return {
    movieIds: Int32Array.from(r.rows, (x) => Number(x.movie_id)),
    counts: Float32Array.from(r.rows, (x) => Number(x.n)),
  };
}

/** A client's user's stored ratings (by the platform's own user id), or undefined when there is no such user. */
export async function clientUserHistory(
  db: Queryable,
  clientUsername: string,
  externalId: number | string,
): Promise<{ userId: number; movieIds: number[]; ratings: number[] } | undefined> {
  const u = await db.query<{ id: string }>(
    'SELECT u.id FROM users u JOIN clients c ON c.id = u.client_id WHERE lower(c.username) = lower($1) AND u.external_id = $2',
    [clientUsername, String(externalId)],
  );
  if (u.rows.length === 0) return undefined;
  const userId = Number(u.rows[0].id);
  const r = await db.query<{ movie_id: number; rating: number }>(
    'SELECT movie_id, rating FROM ratings WHERE user_id = $1 ORDER BY movie_id',
    [userId],
  );
  return { userId, movieIds: r.rows.map((x) => Number(x.movie_id)), ratings: r.rows.map((x) => Number(x.rating)) };
}

export async function clientExists(db: Queryable, username: string): Promise<boolean> {
  const r = await db.query('SELECT 1 FROM clients WHERE lower(username) = lower($1)', [username]);
  return r.rows.length > 0;
}

/** Titles and genres of some movies, for printing recommendations. */
export async function movieDetails(
  db: Queryable,
  movieIds: readonly number[],
): Promise<Map<number, { title: string; genres: string[] }>> {
  if (movieIds.length === 0) return new Map();
  const r = await db.query<{ movie_id: number; title: string; genres: string[] }>(
    'SELECT movie_id, title, genres FROM movies WHERE movie_id = ANY($1::int[])',
    [movieIds as number[]],
  );
  return new Map(r.rows.map((x) => [Number(x.movie_id), { title: x.title, genres: x.genres ?? [] }]));
}
