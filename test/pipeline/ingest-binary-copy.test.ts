import fs from 'node:fs';
import { ingest } from '../../src/core/pipeline/index.js';
import { describeEachEngine, tempDir } from '../helpers/engines.js';
import { CATALOGUE, T0, writeBatch } from './fixtures.js';

/**
 * The load sends ratings as binary COPY tuples (int8 halves, µs since 2000, float4): values at the edges must
 * arrive exactly — ids beyond 2^32, timestamps before 2000 (negative on PostgreSQL's clock), every half-step —
 * on the direct path (new users) and on the staged path (users that existed).
 */
describeEachEngine('ingest: binary COPY values', (ctx) => {
  it('stores ids, ratings and timestamps exactly on both load paths', async () => {
    const db = ctx.db;
    const big = 2 ** 40 + 7;
    const huge = Number.MAX_SAFE_INTEGER;
    const times = [788_918_400, 946_684_799, 946_684_800, 946_684_801, T0, 2_000_000_000];
    const day1 = [
      `${big},1,0.5,${times[0]}`,
      `${big},2,1,${times[1]}`,
      `${big},3,1.5,${times[2]}`,
      `${big},4,2.0,${times[3]}`,
      `${huge},1,0.5,${times[0]}`,
      `${huge},2,5.0,${times[5]}`,
      `3,3,2.5,${times[1]}`,
    ];
    const dataDir = tempDir('reco-binary-');
    const src1 = tempDir('reco-binary-src-');
    const src2 = tempDir('reco-binary-src-');
    try {
      writeBatch(src1, null, { movies: CATALOGUE, ratings: day1 });
      const now = 2_100_000_000;
      const first = await ingest(db, { from: src1, date: '2020-06-01', dataDir, now });
      expect(first.database).toMatchObject({ usersCreated: 3, ratingsInserted: 7, ratingsUpdated: 0 });
      // Day 2: the same users again (staged path): one re-delivery with a later time, one new movie.
      writeBatch(src2, null, { movies: CATALOGUE, ratings: [`${big},1,4.5,${times[4]}`, `${huge},3,1.5,${times[2]}`] });
      const second = await ingest(db, { from: src2, date: '2020-06-02', dataDir, now });
      expect(second.database).toMatchObject({ usersCreated: 0, ratingsInserted: 1, ratingsUpdated: 1 });
      const stored = await db.query<{ external_id: number; movie_id: number; rating: number; at: number }>(
        `SELECT u.external_id, r.movie_id, r.rating, extract(epoch FROM r.rated_at)::bigint AS at
           FROM ratings r JOIN users u ON u.id = r.user_id ORDER BY u.external_id::bigint, r.movie_id`,
      );
      expect(stored.rows.map((r) => [Number(r.external_id), r.movie_id, r.rating, Number(r.at)])).toEqual([
        [3, 3, 2.5, times[1]],
        [big, 1, 4.5, times[4]],
        [big, 2, 1.0, times[1]],
        [big, 3, 1.5, times[2]],
        [big, 4, 2.0, times[3]],
        [huge, 1, 0.5, times[0]],
        [huge, 2, 5.0, times[5]],
        [huge, 3, 1.5, times[2]],
      ]);
    } finally {
      for (const d of [dataDir, src1, src2]) fs.rmSync(d, { recursive: true, force: true });
    }
  });
});
