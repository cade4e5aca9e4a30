import fs from 'node:fs';
import path from 'node:path';
import { ingest } from '../../src/core/pipeline/index.js';
import {
  EMBEDDED_MAX_RATINGS,
  estimateEmbeddedSize,
  storedRatingsFromHeap,
} from '../../src/core/pipeline/embedded-limit.js';
import { ExitCode } from '../../src/core/exit-codes.js';
import type { RecoError } from '../../src/core/errors.js';
import type { Database } from '../../src/core/db/types.js';
import { createTestDatabase, tempDir, type TestDatabase } from '../helpers/engines.js';
import { CATALOGUE, T0, writeBatch } from './fixtures.js';

async function scalar(db: Database, sql: string): Promise<number> {
  const r = await db.query<{ n: number }>(sql);
  return Number(r.rows[0].n);
}

/** `n` ratings of distinct (user, movie) pairs over the four catalogue movies, users from `firstUser`. */
function ratings(n: number, firstUser: number): string[] {
  return Array.from({ length: n }, (_, i) => `${firstUser + Math.floor(i / 4)},${(i % 4) + 1},4.0,${T0 + i}`);
}

describe('the embedded engine size limit', () => {
  let t: TestDatabase;
  let dataDir: string;
  beforeAll(async () => {
    t = await createTestDatabase('pglite');
  });
  afterAll(async () => {
    await t.drop();
  });
  beforeEach(() => {
    dataDir = tempDir('reco-limit-');
  });
  afterEach(() => {
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('estimates from file bytes and heap size, erring high', () => {
    expect(storedRatingsFromHeap(52 * 1000)).toBe(1000);
    // The simulated set of MovieLens 25M's shape: 25,000,095 ratings in 672,482,848 bytes, estimated at ≥ the true count.
    const e = estimateEmbeddedSize({ stored: 0, incomingBytes: 672_482_848 });
    expect(e.incoming).toBeGreaterThan(25_000_095);
    expect(e.incoming).toBeLessThan(25_000_095 * 1.15);
    // MovieLens 25M's size fits, with a third of it again on top refused.
    expect(e.after).toBeLessThanOrEqual(EMBEDDED_MAX_RATINGS);
    expect(estimateEmbeddedSize({ stored: 8_000_000, incomingBytes: 672_482_848 }).after).toBeGreaterThan(
      EMBEDDED_MAX_RATINGS,
    );
    expect(e.limit).toBe(EMBEDDED_MAX_RATINGS);
  });

  it('refuses the batch that would pass the limit before loading any of it, and names the limit, the estimate and DATABASE_URL', async () => {
    const db = t.db;
    const src = path.join(dataDir, 'simulation_data');
    writeBatch(src, '2020-06-01', { movies: CATALOGUE, ratings: ratings(40, 101) });
    writeBatch(src, '2020-06-02', { ratings: ratings(60, 201) });
    // Day one: about 36 ratings estimated from its file ≤ 80. Day two: 40 stored + about 52 > 80.
    const err = (await ingest(db, { from: src, dataDir, now: T0 + 86_400 * 10, embeddedRatingLimit: 80 }).catch(
      (e: unknown) => e,
    )) as RecoError;
    expect(err).toBeInstanceOf(Error);
    expect(err.exitCode).toBe(ExitCode.DATABASE);
    expect(err.message).toMatch(
      /^the embedded database would hold about 9\d ratings after loading 2020-06-02 \(40 stored \+ about 5\d in 0 MB of ratings files\), over its limit of 80; set DATABASE_URL to a PostgreSQL database for this size\. Nothing of 2020-06-02 was loaded$/,
    );
    expect(err.message).not.toContain('\n');
    expect(await scalar(db, 'SELECT count(*)::int AS n FROM ratings')).toBe(40);
    expect(await scalar(db, "SELECT count(*)::int AS n FROM ingest_files WHERE day = '2020-06-02'")).toBe(0);
    expect(await scalar(db, "SELECT count(*)::int AS n FROM ingest_runs WHERE status = 'failed'")).toBe(1);

    // Under the default limit the same day loads.
    const s = await ingest(db, { from: src, dataDir, now: T0 + 86_400 * 10 });
    expect(s.database.ratingsInserted).toBe(60);
    expect(await scalar(db, 'SELECT count(*)::int AS n FROM ratings')).toBe(100);
  });

  it('estimates the stored ratings from the table on the next run', async () => {
    const db = t.db;
    const src = path.join(dataDir, 'more');
    writeBatch(src, null, { ratings: ratings(4, 900) });
    // 100 rows stored fill one heap page: 8192 / 52 = 158 ratings estimated, so 150 is passed.
    const err = (await ingest(db, {
      from: src,
      dataDir,
      date: '2020-06-03',
      now: T0 + 86_400 * 10,
      embeddedRatingLimit: 150,
    }).catch((e: unknown) => e)) as RecoError;
    expect(err.exitCode).toBe(ExitCode.DATABASE);
    expect(err.message).toMatch(/about 16\d ratings after loading .*\(158 stored \+ about \d+ in/);
    expect(await scalar(db, 'SELECT count(*)::int AS n FROM ratings')).toBe(100);
  });
});

describe('the size limit on PostgreSQL', () => {
  it('does not apply', async () => {
    const t = await createTestDatabase('postgres');
    const dataDir = tempDir('reco-limit-');
    try {
      const src = writeBatch(path.join(dataDir, 'initial_data'), null, { movies: CATALOGUE, ratings: ratings(8, 101) });
      const s = await ingest(t.db, { from: src, dataDir, now: T0 + 86_400 * 10, embeddedRatingLimit: 1 });
      expect(s.database.ratingsInserted).toBe(8);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
      await t.drop();
    }
  });
});
