import fs from 'node:fs';
import pg from 'pg';
import { saveHistory } from '../../src/core/db/repositories/api-users.js';
import { ensureClient } from '../../src/core/db/repositories/clients.js';
import { countOrphanRatings, lockRatedMovies } from '../../src/core/db/repositories/ratings.js';
import { createFileUsers, createTouchedTable } from '../../src/core/db/repositories/users.js';
import { genreVocabulary, recomputeProfilesSql } from '../../src/core/features/genre-profile.js';
import { ingest } from '../../src/core/pipeline/index.js';
import type { Database } from '../../src/core/db/types.js';
import { createTestDatabase, describeEachEngine, tempDir, type TestDatabase } from '../helpers/engines.js';
import { CATALOGUE, T0, writeBatch } from './fixtures.js';

/**
 * `ratings` has no foreign keys (migration 011): its writers check users and movies themselves, and the delete
 * paths keep the old semantics in triggers. These tests prove that no path leaves a rating without its user or
 * movie, on both engines.
 */

const n = async (db: Database, sql: string, params: unknown[] = []) =>
  (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM (${sql}) q`, params)).rows[0].n;

async function loadDay(db: Database, dataDir: string, client: string, day: string, ratings: string[]) {
  const src = tempDir('reco-integrity-src-');
  try {
    writeBatch(src, null, { movies: CATALOGUE, ratings });
    return await ingest(db, { from: src, date: day, client, dataDir, now: T0 + 86_400 });
  } finally {
    fs.rmSync(src, { recursive: true, force: true });
  }
}

describeEachEngine('ratings integrity without foreign keys', (ctx) => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = tempDir('reco-integrity-');
    await ctx.db.exec('TRUNCATE ratings, users, movies, ingest_files, ingest_runs CASCADE');
  });
  afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('ratings carries no foreign key and no movie_id index (the bulk load is COPY speed)', async () => {
    expect(await n(ctx.db, `SELECT 1 FROM pg_constraint WHERE conrelid = 'ratings'::regclass AND contype = 'f'`)).toBe(
      0,
    );
    expect(
      await n(ctx.db, `SELECT 1 FROM pg_indexes WHERE tablename = 'ratings' AND indexname = 'ratings_movie_id_idx'`),
    ).toBe(0);
  });

  it('ingest, re-delivery and the API leave no orphan; deleting users or a client deletes their ratings', async () => {
    const db = ctx.db;
    await loadDay(db, dataDir, 'alpha', '2020-06-01', [`1,1,4.0,${T0}`, `1,2,3.0,${T0}`, `2,1,5.0,${T0}`]);
    // Re-delivery for an existing user (staged upsert) plus a new user (direct COPY), same day.
    await loadDay(db, dataDir, 'alpha', '2020-06-02', [`1,1,2.0,${T0 + 5}`, `1,3,1.0,${T0}`, `3,4,4.5,${T0}`]);
    await loadDay(db, dataDir, 'beta', '2020-06-01', [`1,1,1.0,${T0}`, `7,2,2.5,${T0}`]);
    const alpha = await ensureClient(db, 'alpha');
    await saveHistory(db, alpha.id, undefined, [
      { movieId: 1, rating: 3 },
      { movieId: 3, rating: 4 },
    ]);
    expect(await n(db, 'SELECT * FROM ratings')).toBe(3 + 2 + 2 + 2);
    expect(await countOrphanRatings(db)).toEqual({ withoutUser: 0, withoutMovie: 0 });

    // A user deleted directly: its ratings go with it (as ON DELETE CASCADE did).
    const u1 = (
      await db.query<{ id: number }>(
        `SELECT u.id FROM users u JOIN clients c ON c.id = u.client_id WHERE c.username = 'alpha' AND u.external_id = '1'`,
      )
    ).rows[0].id;
    await db.query('DELETE FROM users WHERE id = $1', [u1]);
    expect(await n(db, 'SELECT * FROM ratings WHERE user_id = $1', [u1])).toBe(0);
    expect(await countOrphanRatings(db)).toEqual({ withoutUser: 0, withoutMovie: 0 });

    // A client deleted: users go by their foreign key, the ratings by the users' trigger.
    await db.query(`DELETE FROM clients WHERE username = 'beta'`);
    expect(await n(db, `SELECT * FROM users u JOIN clients c ON c.id = u.client_id WHERE c.username = 'beta'`)).toBe(0);
    expect(await n(db, 'SELECT * FROM ratings')).toBe(2 + 2);
    expect(await countOrphanRatings(db)).toEqual({ withoutUser: 0, withoutMovie: 0 });

    // TRUNCATE users empties ratings too.
    await db.exec('TRUNCATE users');
    expect(await n(db, 'SELECT * FROM ratings')).toBe(0);
  });

  it('a rated movie cannot be deleted, renumbered or truncated away; an unrated one can be deleted', async () => {
    const db = ctx.db;
    await loadDay(db, dataDir, 'alpha', '2020-06-01', [`1,1,4.0,${T0}`]);
    await expect(db.query('DELETE FROM movies WHERE movie_id = 1')).rejects.toMatchObject({ code: '23503' });
    await expect(db.query('UPDATE movies SET movie_id = 100 WHERE movie_id = 1')).rejects.toMatchObject({
      code: '23503',
    });
    await expect(db.exec('TRUNCATE movies')).rejects.toMatchObject({ code: '23503' });
    await db.query('DELETE FROM movies WHERE movie_id = 2');
    expect(await n(db, 'SELECT * FROM movies')).toBe(CATALOGUE.length - 1);
    // A rating pointed at a movie or user that does not exist is refused.
    await expect(db.query('UPDATE ratings SET movie_id = 2')).rejects.toMatchObject({ code: '23503' });
    await expect(db.query('UPDATE ratings SET user_id = -1')).rejects.toMatchObject({ code: '23503' });
    const u = (await db.query<{ id: number }>('SELECT id FROM users')).rows[0].id;
    await expect(db.query('UPDATE users SET id = -1 WHERE id = $1', [u])).rejects.toMatchObject({ code: '23503' });
    expect(await countOrphanRatings(db)).toEqual({ withoutUser: 0, withoutMovie: 0 });
  });

  it('writers refuse a movie that is not in the catalogue: the API stores nothing, a load fails before writing', async () => {
    const db = ctx.db;
    await loadDay(db, dataDir, 'alpha', '2020-06-01', [`1,1,4.0,${T0}`]);
    const alpha = await ensureClient(db, 'alpha');
    const users = await n(db, 'SELECT * FROM users');
    await expect(
      saveHistory(db, alpha.id, undefined, [
        { movieId: 1, rating: 4 },
        { movieId: 999, rating: 4 },
      ]),
    ).rejects.toMatchObject({ code: '23503' });
    await expect(saveHistory(db, alpha.id, '1', [{ movieId: 999, rating: 4 }])).rejects.toMatchObject({
      code: '23503',
    });
    expect(await n(db, 'SELECT * FROM users')).toBe(users);
    expect(await n(db, 'SELECT * FROM ratings')).toBe(1);
    await expect(db.transaction((tx) => lockRatedMovies(tx, [1, 2, 999]))).rejects.toMatchObject({ code: '23503' });
  });

  it('the vectors computed in Node for new users equal the SQL recomputation from their ratings', async () => {
    const db = ctx.db;
    const s = await loadDay(db, dataDir, 'alpha', '2020-06-01', [
      `1,1,4.0,${T0}`,
      `1,2,3.5,${T0}`,
      `1,3,0.5,${T0}`,
      `2,4,5.0,${T0}`,
      `3,2,1.0,${T0}`,
      `3,3,2.5,${T0}`,
    ]);
    expect(s.database).toMatchObject({ usersCreated: 3, ratingsInserted: 6, profilesUpdated: 3 });
    const read = async () =>
      (await db.query('SELECT external_id, characteristic, rating_count FROM users ORDER BY external_id')).rows;
    const fromNode = await read();
    await db.query(recomputeProfilesSql('SELECT id AS user_id FROM users'), [genreVocabulary()]);
    expect(await read()).toEqual(fromNode);
    expect(fromNode.map((r) => r.rating_count)).toEqual([3, 1, 2]);
  });
});

/**
 * The row locks that replace the foreign keys' on PostgreSQL: a user deleted while a load writes its ratings
 * waits for the load's commit, and then its trigger deletes those ratings too. Without the FOR KEY SHARE lock
 * the delete would commit first and leave the load's ratings orphaned.
 */
describe('a user deleted during a load [postgres]', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase('postgres');
  });
  afterAll(async () => t?.drop());

  it('waits for the load and takes the new ratings with it: no orphan', async () => {
    const db = t.db;
    const client = await ensureClient(db, 'default');
    await db.query(`INSERT INTO movies (movie_id, title) VALUES (1, 'One'), (2, 'Two')`);
    const user = (
      await db.query<{ id: number }>('INSERT INTO users (client_id, external_id) VALUES ($1, 9) RETURNING id', [
        client.id,
      ])
    ).rows[0].id;
    const other = new pg.Client({ connectionString: t.url });
    await other.connect();
    try {
      let deleted: Promise<unknown> | undefined;
      await db.transaction(async (tx) => {
        await lockRatedMovies(tx, [1, 2]);
        await createTouchedTable(tx);
        const users = await createFileUsers(tx, client.id, [9], ['{}'], [0]);
        expect(users.createdCount).toBe(0);
        // The delete starts now and must wait for this transaction.
        deleted = other.query('DELETE FROM users WHERE id = $1', [user]);
        await new Promise((resolve) => setTimeout(resolve, 300));
        await tx.query(
          `INSERT INTO ratings (user_id, movie_id, rating, rated_at) VALUES ($1, 1, 4, now()), ($1, 2, 3, now())`,
          [user],
        );
      });
      await deleted;
      expect(await n(db, 'SELECT * FROM users')).toBe(0);
      expect(await countOrphanRatings(db)).toEqual({ withoutUser: 0, withoutMovie: 0 });
      expect(await n(db, 'SELECT * FROM ratings')).toBe(0);
    } finally {
      await other.end();
    }
  });
});
