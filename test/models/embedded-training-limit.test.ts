import fs from 'node:fs';
import { RecoError } from '../../src/core/errors.js';
import { trainModel } from '../../src/core/training/train.js';
import { describeEachEngine, tempDir } from '../helpers/engines.js';
import { loadByCopy, syntheticRatings } from './fixtures.js';

/**
 * Training reads every training rating at once, which on the embedded engine is not known to fit in memory past
 * its limit (embedded-limit.ts). API writes can take a database there without ingest's check, so training refuses
 * first, with advice; it counts only what it would read (trusted clients' ratings). PostgreSQL has no such limit.
 */
describeEachEngine('training past the embedded engine’s size limit', (t) => {
  const modelsDir = tempDir('reco-models-');
  const syn = syntheticRatings({ users: 60, movies: 80, perUser: 15 }); // 900 ratings
  afterAll(() => fs.rmSync(modelsDir, { recursive: true, force: true }));

  beforeAll(async () => {
    await loadByCopy(t.db, syn);
    // 900 more, of an untrusted client: stored (the heap grows) but never read by training.
    const c = await t.db.query<{ id: number }>(`INSERT INTO clients (username) VALUES ('api-only') RETURNING id`);
    await t.db.query(
      `INSERT INTO users (id, client_id, external_id, rating_count)
       SELECT 100000 + u, $1, 'u' || u, 0 FROM generate_series(1, 60) u`,
      [c.rows[0].id],
    );
    await t.db.query(
      `INSERT INTO ratings (user_id, movie_id, rating, rated_at)
       SELECT 100000 + u, m.movie_id, 4, now() FROM generate_series(1, 60) u
         CROSS JOIN LATERAL (SELECT movie_id FROM movies ORDER BY movie_id OFFSET u % 50 LIMIT 15) m`,
    );
    const n = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM ratings');
    expect(n.rows[0].n).toBe(1800);
  });

  it('refuses past the limit with the advice to use PostgreSQL, and trains up to it', async () => {
    const past = () => trainModel(t.db, { algorithm: 'popular', modelsDir, embeddedRatingLimit: 899 });
    if (t.engine === 'pglite') {
      const err = await past().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(RecoError);
      expect((err as RecoError).exitCode).toBe(4);
      expect((err as RecoError).message).toMatch(
        /^the embedded database holds 900 ratings to train on, over its limit of 899, .*set DATABASE_URL/,
      );
      expect((err as RecoError).hint).toMatch(/reco backup-db here, then reco restore-db with DATABASE_URL set/);
    } else {
      expect((await past()).dataCounts.ratings).toBe(900);
    }
    // The limit counts what training reads: the 900 trusted ratings, not the 1,800 stored.
    const at = await trainModel(t.db, { algorithm: 'popular', modelsDir, embeddedRatingLimit: 900 });
    expect(at.dataCounts.ratings).toBe(900);
  });
});
