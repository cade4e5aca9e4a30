import { migrate } from '../../src/core/db/migrate.js';
import { migrations } from '../../src/core/db/migrations/index.js';
import { createClient, ensureClient, findClient } from '../../src/core/db/repositories/clients.js';
import { loadTrainingSet } from '../../src/core/training/train.js';
import { describeEachEngine } from '../helpers/engines.js';

/** Migration 051 and the writers of clients: who is trusted (their ratings train the models). */
describeEachEngine(
  'trusted clients',
  (t) => {
    it('migration 051 trusts the clients ingest made (no password, or with ingested files), not API clients', async () => {
      await migrate(
        t.db,
        migrations.filter((m) => m.version < 51),
      );
      await t.db.query(`INSERT INTO clients (username) VALUES ('daily')`);
      await t.db.query(`INSERT INTO clients (username, password_hash) VALUES ('platform', 'x'), ('both', 'y')`);
      const run = await t.db.query<{ id: number }>(`INSERT INTO ingest_runs (source) VALUES ('x') RETURNING id`);
      await t.db.query(
        `INSERT INTO ingest_files (run_id, kind, path, sha256, client_id, rows_read, rows_accepted, rows_rejected)
                        SELECT $1, 'ratings', 'r.csv', 'abc', id, 1, 1, 0 FROM clients WHERE username = 'both'`,
        [run.rows[0].id],
      );
      await migrate(t.db);
      const r = await t.db.query<{ username: string; trusted: boolean }>(
        'SELECT username, trusted FROM clients ORDER BY username',
      );
      expect(Object.fromEntries(r.rows.map((x) => [x.username, x.trusted]))).toEqual({
        both: true,
        daily: true,
        platform: false,
      });
    });

    it('API registration makes untrusted clients unless asked; ingest makes trusted ones and keeps an existing flag', async () => {
      expect((await createClient(t.db, { username: 'api_client', password: 'correct horse battery' })).trusted).toBe(
        false,
      );
      expect(
        (await createClient(t.db, { username: 'api_trusted', password: 'correct horse battery', trusted: true }))
          .trusted,
      ).toBe(true);
      expect((await ensureClient(t.db, 'new_daily')).trusted).toBe(true);
      expect((await ensureClient(t.db, 'api_client')).trusted).toBe(false);
      expect((await findClient(t.db, 'api_client'))!.trusted).toBe(false);
    });

    it('training refuses a database whose only ratings are of untrusted clients, naming reco clients trust', async () => {
      await t.db.query(`INSERT INTO movies (movie_id, title) VALUES (1, 'Toy Story (1995)')`);
      const u = await t.db.query<{ id: number }>(
        `INSERT INTO users (client_id, external_id) SELECT id, 1 FROM clients WHERE username = 'api_client' RETURNING id`,
      );
      await t.db.query('INSERT INTO ratings (user_id, movie_id, rating, rated_at) VALUES ($1, 1, 4, now())', [
        u.rows[0].id,
      ]);
      await expect(loadTrainingSet(t.db)).rejects.toThrow(
        /none of the 1 ratings in the database is of a trusted client/,
      );
    });
  },
  { migrate: false },
);
