import type { Database } from '../../src/core/db/types.js';
import type { Recommender } from '../../src/core/models/types.js';
import type { LoadedModel, ModelSource } from '../../src/server/model-holder.js';
import { startServer, type RecoServer, type ServerOptions } from '../../src/server/index.js';
import { coldStartBuilds } from '../../src/server/cold-start.js';
import { filterBuilds } from '../../src/server/filters.js';
import { genreListBuilds } from '../../src/server/similar.js';
import { tempDir } from '../helpers/engines.js';

/** A small catalogue: movies 1..40 with rotating genres; "Toy Story" and "Star Wars" titles for search tests. */
export const MOVIES = Array.from({ length: 40 }, (_, i) => {
  const id = i + 1;
  const genres = [['Action', 'Sci-Fi'], ['Comedy'], ['Drama', 'Romance'], ['Animation', 'Children', 'Comedy']][i % 4];
  const title =
    id === 1
      ? 'Toy Story (1995)'
      : id === 2
        ? 'Star Wars: Episode IV - A New Hope (1977)'
        : id === 3
          ? '100% Pure (2001)'
          : `Movie ${id} (${1980 + i})`;
  return { id, title, genres, year: 1980 + i };
});

export async function seedCatalogue(db: Database): Promise<void> {
  for (const m of MOVIES) {
    await db.query(
      'INSERT INTO movies (movie_id, title, genres, year) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
      [m.id, m.title, m.genres, m.year],
    );
  }
}

/**
 * A fixed ranking (movie 1 best, then 2, …) behind the Recommender interface: enough to check what the server
 * does around the model (exclusions, n, titles) without depending on an algorithm's figures.
 */
export function rankingModel(
  version: string,
  ranking: number[] = MOVIES.map((m) => m.id),
  algorithm = 'test-ranking',
): LoadedModel {
  const model: Recommender = {
    algorithm,
    params: {},
    async fit() {},
    recommend(history, n, options) {
      const seen = new Set(Array.from(history.movieIds));
      const out = [];
      for (let k = 0; k < ranking.length && out.length < n; k++) {
        const id = ranking[k];
        if (seen.has(id) || options?.exclude?.has(id) || (options?.candidates && !options.candidates.has(id))) continue;
        out.push({ movieId: id, score: ranking.length - k });
      }
      return out;
    },
    serialize: () => new Uint8Array(),
  };
  return {
    version,
    algorithm,
    model,
    metrics: { ndcg_at_10: 0.25, precision_at_10: 0.1, recall_at_10: 0.2 },
    createdAt: new Date(Date.now() - 60_000),
    activatedAt: new Date(),
  };
}

/** Models switched by the test: `activate(v)` then NOTIFY on the channel, as the registry does. */
export class SwitchableSource implements ModelSource {
  readonly channel = `reco_test_${Math.random().toString(36).slice(2, 10)}`;
  active: string | null = null;
  readonly models = new Map<string, LoadedModel>();
  activeVersion = async () => this.active;
  loadActive = async () => (this.active ? this.models.get(this.active) : undefined);
  fallback = async () =>
    rankingModel(
      'fallback',
      MOVIES.map((m) => m.id),
      'popular',
    );
}

export const TEST_SECRET = 'test-secret-0123456789abcdef0123456789abcdef';

export async function startTestServer(db: Database, overrides: Partial<ServerOptions> = {}): Promise<RecoServer> {
  return startServer({
    db,
    config: {
      dataDir: tempDir(),
      jwtSecret: TEST_SECRET,
      tokenTtlSeconds: 3600,
      production: false,
      ...(overrides.config ?? {}),
    },
    modelPollMs: 0,
    port: 0,
    host: '127.0.0.1',
    ...overrides,
  });
}

export interface Reply {
  status: number;
  body: any;
  headers: Headers;
}

/** Real HTTP to the server. */
export async function call(
  base: string,
  method: string,
  path: string,
  options: { json?: unknown; body?: string; token?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  let body: string | undefined = options.body;
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.json);
  }
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const res = await fetch(base + path, { method, headers, body });
  const text = await res.text();
  let parsed: any = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* text */
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

export async function registerAndLogin(
  base: string,
  username: string,
  password = 'correct horse battery',
): Promise<string> {
  const c = await call(base, 'POST', '/create-client', { json: { username, password } });
  if (c.status !== 201) throw new Error(`create-client ${c.status} ${JSON.stringify(c.body)}`);
  const t = await call(base, 'POST', '/token', { json: { username, password } });
  if (t.status !== 200) throw new Error(`token ${t.status}`);
  return t.body.access_token;
}

/** What the servers of this process have built on first use so far, counted by the modules that build it. */
export const builds = () => ({
  catalogueIndexes: filterBuilds.indexes,
  filterSets: filterBuilds.sets,
  genreLists: genreListBuilds.lists,
  coldStartLists: coldStartBuilds.pools,
});
