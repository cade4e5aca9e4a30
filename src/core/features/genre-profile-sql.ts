import { GENRES } from './genres.js';

/**
 * The SQL version of genreProfile() (genres.ts, docs/features.md): one statement that recomputes the
 * characteristic vector and rating count of every user listed in `touchedUsersSql` (a SELECT of user ids)
 * from all of that user's ratings. Sums run in float8 and the result is cast to real, as the TypeScript
 * version sums in Float64 and stores Float32, so the two agree.
 *
 * $1 is the genre vocabulary (text[]), in GENRES order; the array position is the vector index.
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
    CROSS JOIN generate_series(1, ${GENRES.length}) AS slots(k)
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
