import { Rng } from '../../src/core/data/random.js';
import { buildInteractions, type Interactions } from '../../src/core/data/interactions.js';
import type { Matrix } from 'ml-matrix';
import type { Catalogue, Recommender } from '../../src/core/models/types.js';

const GROUP_GENRES = [['Action', 'Sci-Fi'], ['Comedy', 'Romance'], ['Horror', 'Thriller'], ['Animation', 'Children']];

export interface Synthetic {
  interactions: Interactions;
  catalogue: Catalogue;
  rows: { userId: number; movieId: number; rating: number; ts: number }[];
  movies: { movieId: number; title: string; genres: string[] }[];
}

/**
 * A small world with structure a recommender can learn: four taste groups, each with its own genres and
 * movies; users rate mostly movies of their group (popular ones more often), sometimes any movie.
 */
export function syntheticRatings(options: { users?: number; movies?: number; perUser?: number; seed?: number } = {}): Synthetic {
  const nUsers = options.users ?? 120;
  const nMovies = options.movies ?? 200;
  const perUser = options.perUser ?? 25;
  const rng = new Rng(options.seed ?? 1, 'fixture');
  const movies = Array.from({ length: nMovies }, (_, i) => ({ movieId: 10 + i * 3, title: `Movie ${i} (2000)`, genres: GROUP_GENRES[i % 4] }));
  const rows: Synthetic['rows'] = [];
  for (let u = 0; u < nUsers; u++) {
    const group = u % 4;
    const seen = new Set<number>();
    while (seen.size < perUser) {
      let i: number;
      if (rng.next() < 0.85) {
        // Within the group, a Zipf-like preference for its first movies.
        const k = Math.floor(nMovies / 4);
        i = group + 4 * Math.min(k - 1, Math.floor(k * rng.next() ** 2));
      } else i = rng.int(nMovies);
      if (seen.has(i)) continue;
      seen.add(i);
      rows.push({ userId: 1000 + u, movieId: movies[i].movieId, rating: 0.5 * (1 + rng.int(10)), ts: 1_500_000_000 + rows.length * 60 });
    }
  }
  const interactions = buildInteractions({
    userIds: Float64Array.from(rows, (r) => r.userId),
    movieIds: Int32Array.from(rows, (r) => r.movieId),
    ratings: Float32Array.from(rows, (r) => r.rating),
    timestamps: Float64Array.from(rows, (r) => r.ts),
  });
  return { interactions, catalogue: { genres: new Map(movies.map((m) => [m.movieId, m.genres])) }, rows, movies };
}

/** The history of row u of the interactions, as movie ids and ratings. */
export function historyOf(data: Interactions, u: number): { movieIds: number[]; ratings: number[] } {
  const movieIds: number[] = [];
  const ratings: number[] = [];
  for (let p = data.indptr[u]; p < data.indptr[u + 1]; p++) {
    movieIds.push(data.itemIds[data.indices[p]]);
    ratings.push(data.ratings[p]);
  }
  return { movieIds, ratings };
}

async function* lines(rows: string[]): AsyncIterable<string> {
  for (let i = 0; i < rows.length; i += 500) yield rows.slice(i, i + 500).join('');
}

/**
 * Loads a synthetic world into a database with COPY, as ingest would leave it: one client `username`, its
 * users (external_id = the fixture's userId), the movies and the ratings. Returns the client id.
 */
export async function loadByCopy(db: import('../../src/core/db/types.js').Queryable, syn: Synthetic, username = 'acme'): Promise<number> {
  // Trusted, as ingest makes its client: these ratings are training data.
  const c = await db.query<{ id: number }>('INSERT INTO clients (username, trusted) VALUES ($1, true) RETURNING id', [username]);
  const clientId = c.rows[0].id;
  const users = [...new Set(syn.rows.map((r) => r.userId))];
  await db.copyFrom('movies', ['movie_id', 'title', 'genres'], lines(syn.movies.map((m) => `${m.movieId},"${m.title}","{${m.genres.join(',')}}"\n`)));
  // users.id = external id + 0 keeps the fixture readable; ratings reference users.id.
  await db.copyFrom('users', ['id', 'client_id', 'external_id', 'rating_count'], lines(users.map((u) => `${u},${clientId},${u},0\n`)));
  await db.copyFrom(
    'ratings',
    ['user_id', 'movie_id', 'rating', 'rated_at'],
    lines(syn.rows.map((r) => `${r.userId},${r.movieId},${r.rating},${new Date(r.ts * 1000).toISOString()}\n`)),
  );
  return clientId;
}

/**
 * Checks an EASE model against the closed form from an independently inverted Gram `inv` (ml-matrix): for each of
 * `users`, the scores equal Σ B[history] with B = −P / diag(P) to about 1e-3 of the top score (16-bit weights and
 * the 1e-6 popularity tie-break), and the first recommendation is the closed form's best movie.
 * With `sameTopTen`, the ten recommended movies are also the closed form's ten.
 */
export function expectEaseClosedForm(model: Recommender, d: Interactions, inv: Matrix, users: number[], options: { sameTopTen?: boolean } = {}): void {
  for (const u of users) {
    const h = historyOf(d, u);
    const cols = h.movieIds.map((id) => d.itemIds.indexOf(id));
    const expected = Array.from({ length: d.nItems }, (_, i) => (cols.includes(i) ? -Infinity : cols.reduce((s, j) => s - inv.get(j, i) / inv.get(i, i), 0)));
    const order = expected.map((s, i) => [s, i] as const).sort((a, b) => b[0] - a[0]);
    const recs = model.recommend(h, 10);
    const scale = Math.abs(order[0][0]);
    recs.forEach((r) => expect(Math.abs(r.score - expected[d.itemIds.indexOf(r.movieId)])).toBeLessThan(1e-3 * scale));
    expect(recs[0].movieId).toBe(d.itemIds[order[0][1]]);
    if (options.sameTopTen) expect(recs.map((r) => r.movieId).sort()).toEqual(order.slice(0, 10).map(([, i]) => d.itemIds[i]).sort());
  }
}
