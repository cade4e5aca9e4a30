import { GENRES, genreIndex } from './genres.js';

/**
 * The users' characteristic vector (genre profile), owned here: its Node computation, its text for the
 * database, and its SQL form. Every writer (ingest in Node and in SQL, the API's histories and feedback) calls
 * this module, so the forms cannot drift apart; a differential test (test/core/genre-profile.test.ts) holds the
 * Node form equal to the SQL form. Definition (docs/features.md): for user u with ratings r_ui on movies i with
 * genre sets G_i,
 *   v_u[g] = Σ_{i: g ∈ G_i} r_ui / Σ_i r_ui
 * summed in float64 and stored as float32 (`real`); a user whose total is 0 has the zero vector.
 */

const K = GENRES.length;
/** Movie ids below this take a dense table; larger ones (no MovieLens file has them) a map. */
const DENSE_MOVIES = 1 << 22;

/** The vector slots (GENRES indices) of each movie, from its genre list; unknown genres have none. */
export class MovieGenreSlots {
  /** By movie id below DENSE_MOVIES: where its slots start in `flat`, −1 for a movie not added. */
  start = new Int32Array(0);
  /** By movie id: how many slots. */
  length = new Uint8Array(0);
  /** Every added movie's slots, one after the other (typed arrays: a per-row lookup of a million rows). */
  flat = new Int32Array(256);
  private used = 0;
  private readonly sparse = new Map<number, Int32Array>();

  constructor(genresOf?: ReadonlyMap<number, readonly string[]>) {
    if (genresOf) this.add(genresOf);
  }

  add(genresOf: ReadonlyMap<number, readonly string[]>): void {
    for (const [movie, genres] of genresOf) {
      const slots: number[] = [];
      for (const g of genres) {
        const k = genreIndex(g);
        if (k !== undefined) slots.push(k);
      }
      if (movie < 0 || movie >= DENSE_MOVIES) {
        this.sparse.set(movie, Int32Array.from(slots));
        continue;
      }
      if (movie >= this.start.length) this.grow(movie);
      if (this.used + slots.length > this.flat.length) {
        const bigger = new Int32Array(Math.max(this.flat.length * 2, this.used + slots.length));
        bigger.set(this.flat);
        this.flat = bigger;
      }
      this.start[movie] = this.used;
      this.length[movie] = slots.length;
      this.flat.set(slots, this.used);
      this.used += slots.length;
    }
  }

  /** The slots of a movie beyond the dense table (undefined: not added). */
  sparseOf(movie: number): Int32Array | undefined {
    return this.sparse.get(movie);
  }

  private grow(movie: number): void {
    const n = Math.min(DENSE_MOVIES, Math.max(movie + 1, this.start.length * 2, 1024));
    const start = new Int32Array(n).fill(-1);
    start.set(this.start);
    const length = new Uint8Array(n);
    length.set(this.length);
    this.start = start;
    this.length = length;
  }
}

/** Per-user rating sums (float64) of any number of users, numbered 0…n−1, and their vectors. */
export class GenreProfiles {
  private readonly sums: Float64Array;
  private readonly totals: Float64Array;
  private readonly counts: Int32Array;

  constructor(
    private readonly slots: MovieGenreSlots,
    users: number,
  ) {
    this.sums = new Float64Array(users * K);
    this.totals = new Float64Array(users);
    this.counts = new Int32Array(users);
  }

  /** One rating of `user` (a movie without known genres counts in the total only). */
  add(user: number, movie: number, rating: number): void {
    this.totals[user] += rating;
    this.counts[user]++;
    const base = user * K;
    const slots = this.slots;
    if (movie >= 0 && movie < slots.start.length) {
      const from = slots.start[movie];
      if (from < 0) return;
      const to = from + slots.length[movie];
      const flat = slots.flat;
      for (let g = from; g < to; g++) this.sums[base + flat[g]] += rating;
      return;
    }
    const s = slots.sparseOf(movie);
    if (s) for (let g = 0; g < s.length; g++) this.sums[base + s[g]] += rating;
  }

  /** How many ratings of `user` were added (its rating_count). */
  count(user: number): number {
    return this.counts[user];
  }

  vector(user: number): Float32Array {
    const out = new Float32Array(K);
    const total = this.totals[user];
    if (total > 0) for (let g = 0; g < K; g++) out[g] = this.sums[user * K + g] / total;
    return out;
  }

  /** The vector as a PostgreSQL array literal ('{0.25,0,…}'), the form the writers send. */
  text(user: number): string {
    return vectorText(this.vector(user));
  }
}

/** The genre profile of one history given with the movies' genre lists (the API, models, tests). */
export function genreProfile(items: Iterable<{ genres: readonly string[]; rating: number }>): Float32Array {
  const v = new Float64Array(K);
  let total = 0;
  for (const { genres, rating } of items) {
    total += rating;
    for (const g of genres) {
      const k = genreIndex(g);
      if (k !== undefined) v[k] += rating;
    }
  }
  const out = new Float32Array(K);
  if (total > 0) for (let k = 0; k < K; k++) out[k] = v[k] / total;
  return out;
}

/** genreProfile as a PostgreSQL array literal. */
export function genreProfileText(items: Iterable<{ genres: readonly string[]; rating: number }>): string {
  return vectorText(genreProfile(items));
}

/** A float32 vector as a PostgreSQL array literal that reads back (float4in) as the same values. */
export function vectorText(v: Float32Array): string {
  const parts = new Array<string>(v.length);
  for (let g = 0; g < v.length; g++) parts[g] = float4Text(v[g]);
  return `{${parts.join(',')}}`;
}

/**
 * A float32 value as the shortest text of at most 9 significant digits, which always reads back (float4in) as
 * the same float32: String() of the float64 holding it gives up to 17 digits, and shorter text is less for the
 * users' INSERT to parse (docs/benchmarks/ingest.md).
 */
export function float4Text(v: number): string {
  if (v === 0) return '0';
  const s = v.toPrecision(9);
  if (s.includes('e') || !s.includes('.')) return s;
  let end = s.length;
  while (s.charCodeAt(end - 1) === 0x30) end--;
  if (s.charCodeAt(end - 1) === 0x2e) end--;
  return s.slice(0, end);
}

/**
 * The SQL form: one statement that recomputes the characteristic vector and rating count of every user listed
 * by `touchedUsersSql` (a SELECT of `user_id`, written by a repository, never from input) from all of that
 * user's ratings. Sums run in float8 and the result is cast to real, as the Node form sums in float64 and
 * stores float32. $1 is genreVocabulary(): the array position is the vector index.
 */
export function recomputeProfilesSql(touchedUsersSql: string): string {
  return `
WITH touched AS (${touchedUsersSql}),
totals AS (
  SELECT r.user_id, count(*)::int AS n, sum(r.rating::float8) AS total
    FROM ratings r JOIN touched t ON t.user_id = r.user_id
   GROUP BY r.user_id
),
vocab AS (SELECT name, k FROM unnest($1::text[]) WITH ORDINALITY AS v(name, k)),
per_genre AS (
  SELECT r.user_id, vocab.k, sum(r.rating::float8) AS s
    FROM ratings r
    JOIN touched t ON t.user_id = r.user_id
    JOIN movies m ON m.movie_id = r.movie_id
    CROSS JOIN LATERAL unnest(m.genres) AS g(name)
    JOIN vocab ON vocab.name = g.name
   GROUP BY r.user_id, vocab.k
),
vectors AS (
  SELECT totals.user_id, totals.n,
         array_agg(coalesce(per_genre.s / nullif(totals.total, 0), 0)::real ORDER BY slots.k) AS v
    FROM totals
    CROSS JOIN generate_series(1, ${K}) AS slots(k)
    LEFT JOIN per_genre ON per_genre.user_id = totals.user_id AND per_genre.k = slots.k
   GROUP BY totals.user_id, totals.n
)
UPDATE users u
   SET characteristic = vectors.v, rating_count = vectors.n, updated_at = now()
  FROM vectors
 WHERE u.id = vectors.user_id`;
}

/** The genre vocabulary as the $1 parameter of recomputeProfilesSql. */
export function genreVocabulary(): string[] {
  return [...GENRES];
}

/**
 * The incremental SQL form, for the API's single-statement writes (migration 073, which installs these functions:
 * their text is part of its checksum, so a change here needs a new migration that replaces them).
 * `users.genre_sums` holds [rating count, Σ rating, Σ rating per genre…] in genreVocabulary() order; a write adds
 * each changed rating as a term (new − old rating, counted 1 when the movie is new to the user) and derives
 * `characteristic` and `rating_count` from the sums — the numbers recomputeProfilesSql gives from all ratings, since
 * sums of multiples of 0.5 are exact in float8 (test/db/api-writes.test.ts). NULL sums are unknown: the write
 * then sums all of the user's ratings.
 */
export function genreSumsFunctionsSql(): string {
  return `
-- Applies rating changes (user, movie, new − old rating, 1 when the movie is new to the user) to the users'
-- sums, or computes the sums from all of the user's ratings (the changes already written) when they are unknown.
-- Set-based: terms (user, slot, value) — slot 1 the count, 2 the total, 2 + k genre k of the vocabulary — summed,
-- and the vector Σ per genre / total as real, as recomputeProfilesSql divides.
CREATE FUNCTION reco_apply_rating_changes(p_users bigint[], p_movies integer[], p_deltas float8[], p_counted integer[], p_vocab text[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  WITH touched AS (
    SELECT k.id, k.genre_sums FROM users k WHERE k.id IN (SELECT DISTINCT unnest(p_users))
  ),
  vocab AS (
    SELECT v.name, v.k::integer AS k FROM unnest(p_vocab) WITH ORDINALITY AS v(name, k)
  ),
  changes AS (
    SELECT c.user_id, c.movie_id, c.delta, c.counted
      FROM unnest(p_users, p_movies, p_deltas, p_counted) AS c(user_id, movie_id, delta, counted)
      JOIN touched t ON t.id = c.user_id AND t.genre_sums IS NOT NULL
    UNION ALL
    SELECT r.user_id, r.movie_id, r.rating::float8, 1 FROM touched t JOIN ratings r ON r.user_id = t.id WHERE t.genre_sums IS NULL
  ),
  terms AS (
    SELECT t.id AS user_id, e.k::integer AS slot, e.v FROM touched t CROSS JOIN LATERAL unnest(t.genre_sums) WITH ORDINALITY AS e(v, k)
    UNION ALL
    SELECT c.user_id, 1, c.counted::float8 FROM changes c
    UNION ALL
    SELECT c.user_id, 2, c.delta FROM changes c
    UNION ALL
    SELECT c.user_id, 2 + v.k, c.delta
      FROM changes c JOIN movies m ON m.movie_id = c.movie_id
      CROSS JOIN LATERAL unnest(m.genres) AS g(name) JOIN vocab v ON v.name = g.name
  ),
  slot_sums AS (
    SELECT x.user_id, x.slot, sum(x.v) AS v FROM terms x GROUP BY x.user_id, x.slot
  ),
  summed AS (
    SELECT t.id AS user_id, max(n.v)::integer AS n,
           array_agg(coalesce(s.v, 0) ORDER BY slots.slot) AS sums,
           array_agg(coalesce(s.v / nullif(total.v, 0), 0)::real ORDER BY slots.slot) FILTER (WHERE slots.slot > 2) AS vector
      FROM touched t
      CROSS JOIN generate_series(1, 2 + cardinality(p_vocab)) AS slots(slot)
      LEFT JOIN slot_sums s ON s.user_id = t.id AND s.slot = slots.slot
      LEFT JOIN slot_sums total ON total.user_id = t.id AND total.slot = 2
      LEFT JOIN slot_sums n ON n.user_id = t.id AND n.slot = 1
     GROUP BY t.id
  )
  UPDATE users u
     SET genre_sums = s.sums, characteristic = s.vector, rating_count = s.n, updated_at = now()
    FROM summed s
   WHERE u.id = s.user_id;
END
$$;
`;
}

/**
 * The same sums as genreSumsFunctionsSql, replacing its reco_apply_rating_changes (migration 091 installs this text;
 * a change here needs a new migration). One statement adds the changes to known sums, planned for a few changes:
 * each changed movie's genres by an index lookup (a scalar subquery), not a hash of the whole catalogue, which the
 * planner chose when known and unknown sums were one estimate. Unknown sums (a user's first write since another
 * writer set its profile) start from zero with all of the user's ratings, the changes already written, as changes.
 */
export function applyRatingChangesSql(): string {
  return `
CREATE OR REPLACE FUNCTION reco_apply_rating_changes(p_users bigint[], p_movies integer[], p_deltas float8[], p_counted integer[], p_vocab text[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  c_users bigint[] := p_users;
  c_movies integer[] := p_movies;
  c_deltas float8[] := p_deltas;
  c_counted integer[] := p_counted;
BEGIN
  IF EXISTS (SELECT 1 FROM users k WHERE k.id = ANY(p_users) AND k.genre_sums IS NULL) THEN
    WITH unknown AS (
      UPDATE users k SET genre_sums = array_fill(0::float8, ARRAY[2 + cardinality(p_vocab)])
       WHERE k.id = ANY(p_users) AND k.genre_sums IS NULL
      RETURNING k.id
    ),
    changes AS (
      SELECT x.user_id, x.movie_id, x.delta, x.counted
        FROM unnest(p_users, p_movies, p_deltas, p_counted) AS x(user_id, movie_id, delta, counted)
       WHERE x.user_id NOT IN (SELECT unknown.id FROM unknown)
      UNION ALL
      SELECT r.user_id, r.movie_id, r.rating::float8, 1 FROM unknown JOIN ratings r ON r.user_id = unknown.id
    )
    SELECT array_agg(x.user_id), array_agg(x.movie_id), array_agg(x.delta), array_agg(x.counted)
      INTO c_users, c_movies, c_deltas, c_counted
      FROM changes x;
  END IF;

  -- Each change adds its terms: slot 1 the count, 2 the total, 2 + k genre k of the vocabulary.
  WITH c AS (
    SELECT c.user_id, c.delta, c.counted, (SELECT m.genres FROM movies m WHERE m.movie_id = c.movie_id) AS genres
      FROM unnest(c_users, c_movies, c_deltas, c_counted) AS c(user_id, movie_id, delta, counted)
  ),
  terms AS (
    SELECT c.user_id, 1 AS slot, c.counted::float8 AS v FROM c
    UNION ALL
    SELECT c.user_id, 2, c.delta FROM c
    UNION ALL
    SELECT c.user_id, 2 + k.k, c.delta
      FROM c CROSS JOIN LATERAL unnest(c.genres) AS g(name)
      CROSS JOIN LATERAL (SELECT array_position(p_vocab, g.name) AS k) AS k
     WHERE k.k IS NOT NULL
  ),
  per_user AS (
    SELECT t.user_id, array_agg(coalesce(s.v, 0) ORDER BY slots.slot) AS deltas
      FROM (SELECT DISTINCT c.user_id FROM c) AS t
      CROSS JOIN generate_series(1, 2 + cardinality(p_vocab)) AS slots(slot)
      LEFT JOIN (SELECT x.user_id, x.slot, sum(x.v) AS v FROM terms x GROUP BY x.user_id, x.slot) AS s
        ON s.user_id = t.user_id AND s.slot = slots.slot
     GROUP BY t.user_id
  ),
  summed AS (
    SELECT u.id, ARRAY(SELECT z.s + z.d FROM unnest(u.genre_sums, p.deltas) WITH ORDINALITY AS z(s, d, i) ORDER BY z.i) AS sums
      FROM per_user p JOIN users u ON u.id = p.user_id
     WHERE u.genre_sums IS NOT NULL
  )
  UPDATE users u
     SET genre_sums = s.sums,
         characteristic = ARRAY(SELECT coalesce(z.v / nullif(s.sums[2], 0), 0)::real
                                  FROM unnest(s.sums[3:]) WITH ORDINALITY AS z(v, i) ORDER BY z.i),
         rating_count = s.sums[1]::integer, updated_at = now()
    FROM summed s
   WHERE u.id = s.id;
END
$$;
`;
}
