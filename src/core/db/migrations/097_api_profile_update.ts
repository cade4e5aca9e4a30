import type { Migration } from './types.js';

/** The vocabulary's genres when this migration was written (genreVocabulary); fixed, as a migration's text is. */
const GENRES = 19;

/** `f(i)` for i from `from` to `to`, comma-separated: a vector spelled out slot by slot. */
const slots = (from: number, to: number, f: (i: number) => string): string =>
  Array.from({ length: to - from + 1 }, (_, k) => f(from + k)).join(', ');

/**
 * reco_apply_rating_changes, the genre profile's update of every API write (the sums of genreSumsFunctionsSql in
 * src/core/features/genre-profile.ts, same slots, same results), in fewer steps for many users: each change becomes
 * its whole vector of terms, which is the user's vector of changes when it is the user's only change (the sum of
 * them, slot by slot, otherwise), where migration 091's text joined every user with every slot and summed the
 * result again; the new sums are computed once per user, where the inlined CTE computed them once per use; and
 * the vectors are array constructors spelled out for the 19 genres of the vocabulary (genreVocabulary), not a
 * subquery per change and per user. It runs under the users' row locks, so its time is part of the time
 * a batch holds them (docs/benchmarks/feedback.md, "Batches").
 */
export const migration: Migration = {
  version: 97,
  name: 'api_profile_update',
  sql: `
CREATE OR REPLACE FUNCTION reco_apply_rating_changes(p_users bigint[], p_movies integer[], p_deltas float8[], p_counted integer[], p_vocab text[])
RETURNS void LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  c_users bigint[] := p_users;
  c_movies integer[] := p_movies;
  c_deltas float8[] := p_deltas;
  c_counted integer[] := p_counted;
BEGIN
  -- The vectors below are spelled out slot by slot for the vocabulary's 19 genres (array constructors, not a
  -- subquery per change and per user); another vocabulary needs a new migration.
  IF cardinality(p_vocab) <> ${GENRES} THEN
    RAISE EXCEPTION 'reco_apply_rating_changes spells out ${GENRES} genres; the vocabulary has %', cardinality(p_vocab);
  END IF;
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

  -- Each change as its whole vector (slot 1 the count, 2 the total, 2 + k genre k of the vocabulary); a user's
  -- vector of changes is its only change's (most users of a write have one) or the slot-wise sum of its changes';
  -- the new sums are computed once per user (MATERIALIZED), not once per use.
  WITH c AS (
    SELECT x.user_id, count(*) OVER (PARTITION BY x.user_id) AS n,
           ARRAY[x.counted::float8, x.delta, ${slots(1, GENRES, (k) => `CASE WHEN p_vocab[${k}] = ANY(m.genres) THEN x.delta ELSE 0 END`)}] AS vec
      FROM unnest(c_users, c_movies, c_deltas, c_counted) AS x(user_id, movie_id, delta, counted)
      LEFT JOIN LATERAL (SELECT m.genres FROM movies m WHERE m.movie_id = x.movie_id) AS m ON true
  ),
  per_user AS (
    SELECT c.user_id, c.vec AS deltas FROM c WHERE c.n = 1
    UNION ALL
    SELECT s.user_id, array_agg(s.v ORDER BY s.i)
      FROM (SELECT c.user_id, e.i, sum(e.v) AS v FROM c CROSS JOIN LATERAL unnest(c.vec) WITH ORDINALITY AS e(v, i)
             WHERE c.n > 1 GROUP BY c.user_id, e.i) AS s
     GROUP BY s.user_id
  ),
  summed AS MATERIALIZED (
    SELECT u.id, ARRAY[${slots(1, GENRES + 2, (i) => `u.genre_sums[${i}] + p.deltas[${i}]`)}] AS sums
      FROM per_user p JOIN users u ON u.id = p.user_id
     WHERE u.genre_sums IS NOT NULL
  )
  UPDATE users u
     SET genre_sums = s.sums,
         characteristic = ARRAY[${slots(3, GENRES + 2, (i) => `coalesce(s.sums[${i}] / nullif(s.sums[2], 0), 0)::real`)}],
         rating_count = s.sums[1]::integer, updated_at = now()
    FROM summed s
   WHERE u.id = s.id;
END
$$;
`,
};
