import { ensureClient } from '../../src/core/db/repositories/clients.js';
import { Rng } from '../../src/core/data/random.js';
import {
  GenreProfiles,
  MovieGenreSlots,
  genreProfile,
  genreProfileText,
  genreVocabulary,
  recomputeProfilesSql,
} from '../../src/core/features/genre-profile.js';
import { GENRES } from '../../src/core/features/genres.js';
import { describeEachEngine } from '../helpers/engines.js';

/**
 * The characteristic vector has one owner (features/genre-profile.ts) with a Node form and a SQL form. On
 * random histories — movies with several genres, a genre twice, unknown genres, no genres, ids beyond the dense
 * table — every Node form (one history, many users by columns, the text the writers send) equals the SQL form
 * bit for bit, and so does the rating count.
 */
describeEachEngine('genre profile: the Node form equals the SQL form', (ctx) => {
  function randomWorld(seed: number) {
    const rng = new Rng(seed, 'genre-profile');
    const int = (n: number) => Math.floor(rng.next() * n);
    const movies = new Map<number, string[]>();
    for (let m = 1; m <= 150; m++) {
      const genres: string[] = [];
      const n = int(5);
      for (let j = 0; j < n; j++) genres.push(GENRES[int(GENRES.length)]);
      if (int(8) === 0) genres.push('Not-A-Genre');
      if (int(10) === 0 && genres.length > 0) genres.push(genres[0]);
      movies.set(m, genres);
    }
    movies.set(9_000_001, ['Drama', 'Comedy']);
    const ids = [...movies.keys()];
    const users: { external: number; ratings: { movie: number; rating: number }[] }[] = [];
    for (let u = 1; u <= 40; u++) {
      const n = 1 + int(30);
      const picked = new Set<number>();
      while (picked.size < n) picked.add(ids[int(ids.length)]);
      users.push({ external: u, ratings: [...picked].map((movie) => ({ movie, rating: (1 + int(10)) / 2 })) });
    }
    return { movies, users };
  }

  it.each([1, 2, 3])('random histories, seed %i', async (seed) => {
    const db = ctx.db;
    await db.exec('TRUNCATE ratings, users, movies CASCADE');
    const { movies, users } = randomWorld(seed);
    const client = await ensureClient(db, `genre-profile-${seed}`);
    await db.query(
      'INSERT INTO movies (movie_id, title, genres) SELECT id, $2, g::text[] FROM unnest($1::int[], $3::text[]) AS t(id, g)',
      [[...movies.keys()], 'A movie (2001)', [...movies.values()].map((g) => `{${g.map((x) => `"${x}"`).join(',')}}`)],
    );
    const made = await db.query<{ id: string }>(
      'INSERT INTO users (client_id, external_id) SELECT $1, e FROM unnest($2::bigint[]) AS e ORDER BY e RETURNING id',
      [client.id, users.map((u) => u.external)],
    );
    const userIds = made.rows.map((r) => Number(r.id)).sort((a, b) => a - b);
    const rows = users.flatMap((u, k) => u.ratings.map((r) => [userIds[k], r.movie, r.rating]));
    await db.query(
      `INSERT INTO ratings (user_id, movie_id, rating, rated_at) SELECT u, m, r, now() FROM unnest($1::bigint[], $2::int[], $3::real[]) AS t(u, m, r)`,
      [rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2])],
    );

    // The SQL form.
    await db.query(recomputeProfilesSql('SELECT id AS user_id FROM users'), [genreVocabulary()]);
    const stored = async () =>
      (
        await db.query<{ characteristic: number[]; rating_count: number }>(
          'SELECT characteristic, rating_count FROM users ORDER BY id',
        )
      ).rows.map((r) => ({
        v: Array.from(Float32Array.from(r.characteristic)),
        n: r.rating_count,
      }));
    const fromSql = await stored();

    // The Node forms: one history at a time, and every user at once over columns, in a shuffled row order.
    const slots = new MovieGenreSlots(movies);
    const profiles = new GenreProfiles(slots, users.length);
    const flat = users.flatMap((u, k) => u.ratings.map((r) => ({ k, ...r })));
    const rng = new Rng(seed, 'shuffle');
    for (let i = flat.length - 1; i > 0; i--) {
      const j = Math.floor(rng.next() * (i + 1));
      [flat[i], flat[j]] = [flat[j], flat[i]];
    }
    for (const r of flat) profiles.add(r.k, r.movie, r.rating);
    users.forEach((u, k) => {
      const one = Array.from(genreProfile(u.ratings.map((r) => ({ genres: movies.get(r.movie)!, rating: r.rating }))));
      expect(one).toEqual(fromSql[k].v);
      expect(Array.from(profiles.vector(k))).toEqual(fromSql[k].v);
      expect(profiles.count(k)).toBe(fromSql[k].n);
      expect(fromSql[k].n).toBe(u.ratings.length);
    });
    expect(fromSql.some((r) => r.v.some((x) => x > 0 && x < 1))).toBe(true);

    // The text the writers send reads back as the same real[] (both text writers).
    await db.query('UPDATE users SET characteristic = NULL, rating_count = 0');
    const texts = users.map((u, k) =>
      k % 2
        ? profiles.text(k)
        : genreProfileText(u.ratings.map((r) => ({ genres: movies.get(r.movie)!, rating: r.rating }))),
    );
    await db.query(
      'UPDATE users u SET characteristic = t.v::real[], rating_count = t.n FROM unnest($1::bigint[], $2::text[], $3::int[]) AS t(id, v, n) WHERE u.id = t.id',
      [userIds, texts, users.map((u) => u.ratings.length)],
    );
    expect(await stored()).toEqual(fromSql);
  });

  it('a history of genre-less movies and no history are the zero vector', () => {
    expect(Array.from(genreProfile([{ genres: [], rating: 4 }]))).toEqual(new Array(GENRES.length).fill(0));
    expect(genreProfileText([])).toBe(`{${new Array(GENRES.length).fill('0').join(',')}}`);
  });
});
