import pg from 'pg';
import { ensureClient } from '../../src/core/db/repositories/clients.js';
import { copyIntoRatingStage, createRatingStage, upsertRatingsFromStage } from '../../src/core/db/repositories/ratings.js';
import { upsertStagedUsers } from '../../src/core/db/repositories/users.js';
import { createTestDatabase, type TestDatabase } from '../helpers/engines.js';
import { T0 } from './fixtures.js';

/**
 * The rating load takes a plain INSERT when no staged pair is stored yet. If another session (the API) stores
 * one of the pairs after that check, the INSERT hits a unique violation: the savepoint must take it back and
 * the upsert must run instead, in the same transaction. Made deterministic on PostgreSQL with a second
 * connection whose conflicting row is committed while the ingest's INSERT waits on it.
 */
describe('rating upsert: a pair stored concurrently after the check [postgres]', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase('postgres');
  });
  afterAll(async () => t?.drop());

  it('falls back to ON CONFLICT and updates the row instead of failing the day', async () => {
    const db = t.db;
    const client = await ensureClient(db, 'default');
    await db.query(`INSERT INTO movies (movie_id, title) VALUES (1, 'One')`);
    const user = await db.query<{ id: number }>('INSERT INTO users (client_id, external_id) VALUES ($1, 9) RETURNING id', [client.id]);
    const other = new pg.Client({ connectionString: t.url });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query('INSERT INTO ratings (user_id, movie_id, rating, rated_at) VALUES ($1, 1, 1.0, to_timestamp($2))', [user.rows[0].id, T0]);
      const result = await db.transaction(async (tx) => {
        await createRatingStage(tx);
        await copyIntoRatingStage(tx, (async function* () {
          yield `9,1,4.5,${T0 + 10}\n`;
        })());
        await upsertStagedUsers(tx, client.id);
        const upsert = upsertRatingsFromStage(tx);
        // The check has not seen the uncommitted row; the INSERT now waits on it until this commit.
        setTimeout(() => void other.query('COMMIT'), 500);
        return upsert;
      });
      expect(result).toEqual({ inserted: 0, updated: 1 });
      const stored = await db.query('SELECT rating, rated_at FROM ratings');
      expect(stored.rows).toEqual([{ rating: 4.5, rated_at: new Date((T0 + 10) * 1000) }]);
    } finally {
      await other.end();
    }
  });
});
