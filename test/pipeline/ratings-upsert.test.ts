import pg from 'pg';
import { ensureClient } from '../../src/core/db/repositories/clients.js';
import { copyIntoRatings, isUniqueViolation, upsertRatings } from '../../src/core/db/repositories/ratings.js';
import { createFileUsers, createTouchedTable } from '../../src/core/db/repositories/users.js';
import { createTestDatabase, type TestDatabase } from '../helpers/engines.js';
import { T0 } from './fixtures.js';

/**
 * The staged upsert of re-delivered ratings: a pair another session (the API) stores while it runs is updated,
 * not a failure of the day. Made deterministic on PostgreSQL with a second connection whose conflicting row is
 * committed while the upsert waits on it.
 */
describe('rating upsert: a pair stored concurrently [postgres]', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase('postgres');
  });
  afterAll(async () => t?.drop());

  it('updates the row instead of failing the day', async () => {
    const db = t.db;
    const client = await ensureClient(db, 'default');
    await db.query(`INSERT INTO movies (movie_id, title) VALUES (1, 'One')`);
    const user = await db.query<{ id: number }>(
      'INSERT INTO users (client_id, external_id) VALUES ($1, 9) RETURNING id',
      [client.id],
    );
    const other = new pg.Client({ connectionString: t.url });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query(
        'INSERT INTO ratings (user_id, movie_id, rating, rated_at) VALUES ($1, 1, 1.0, to_timestamp($2))',
        [user.rows[0].id, T0],
      );
      const result = await db.transaction(async (tx) => {
        await createTouchedTable(tx);
        await createFileUsers(tx, client.id, [9], ['{}'], [0]);
        const upsert = upsertRatings(
          tx,
          (async function* () {
            yield stageTuple(9, 1, 4.5, T0 + 10);
          })(),
        );
        // The upsert's INSERT waits on the uncommitted row until this commit.
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

/** One binary COPY tuple of ratings (user_id int8, movie_id int4, rating float4, rated_at µs since 2000). */
function ratingTuple(userId: number, movieId: number, rating: number, unixSeconds: number): Uint8Array {
  const b = Buffer.alloc(42);
  let o = b.writeInt16BE(4, 0);
  o = b.writeInt32BE(8, o);
  o = b.writeBigInt64BE(BigInt(userId), o);
  o = b.writeInt32BE(4, o);
  o = b.writeInt32BE(movieId, o);
  o = b.writeInt32BE(4, o);
  o = b.writeFloatBE(rating, o);
  o = b.writeInt32BE(8, o);
  b.writeBigInt64BE(BigInt(unixSeconds - 946_684_800) * 1_000_000n, o);
  return b;
}

/** One binary COPY tuple of the upsert's staging table (user_ext int8, movie_id int4, rating float4, ts int8). */
function stageTuple(userExt: number, movieId: number, rating: number, unixSeconds: number): Uint8Array {
  const b = Buffer.alloc(42);
  let o = b.writeInt16BE(4, 0);
  o = b.writeInt32BE(8, o);
  o = b.writeBigInt64BE(BigInt(userExt), o);
  o = b.writeInt32BE(4, o);
  o = b.writeInt32BE(movieId, o);
  o = b.writeInt32BE(4, o);
  o = b.writeFloatBE(rating, o);
  o = b.writeInt32BE(8, o);
  b.writeBigInt64BE(BigInt(unixSeconds), o);
  return b;
}

/**
 * Users that existed get their ratings by a direct COPY under Transaction.attempt. A pair stored by another
 * session while the COPY runs makes it fail with a unique violation: the attempt must take the whole COPY back
 * and leave the transaction usable for the staged upsert.
 */
describe('direct COPY for existing users: a pair stored concurrently [postgres]', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase('postgres');
  });
  afterAll(async () => t?.drop());

  it('reports the clash with nothing of the COPY kept, and the transaction goes on', async () => {
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
      await other.query('BEGIN');
      await other.query(
        'INSERT INTO ratings (user_id, movie_id, rating, rated_at) VALUES ($1, 2, 1.0, to_timestamp($2))',
        [user, T0],
      );
      const result = await db.transaction(async (tx) => {
        const copy = tx.attempt(
          (sp) =>
            copyIntoRatings(
              sp,
              (async function* () {
                yield ratingTuple(user, 1, 4.5, T0 + 10);
                yield ratingTuple(user, 2, 3.0, T0 + 10);
              })(),
            ),
          { rollbackOn: isUniqueViolation },
        );
        setTimeout(() => void other.query('COMMIT'), 500);
        const copied = await copy;
        const after = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM ratings');
        return {
          copied: copied.ok,
          code: copied.ok ? undefined : (copied.error as { code?: string }).code,
          after: after.rows[0].n,
        };
      });
      expect(result).toEqual({ copied: false, code: '23505', after: 1 });
      expect((await db.query('SELECT movie_id FROM ratings')).rows).toEqual([{ movie_id: 2 }]);
    } finally {
      await other.end();
    }
  });
});
