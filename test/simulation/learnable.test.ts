import fs from 'node:fs';
import path from 'node:path';
import { evaluateAlgorithms } from '../../src/core/evaluation/protocol.js';
import { ease } from '../../src/core/models/ease.js';
import { buildInteractions } from '../../src/core/data/interactions.js';
import { popular } from '../../src/core/models/popular.js';
import { segments } from '../../src/core/models/segments.js';
import type { Algorithm } from '../../src/core/models/types.js';
import { simulateData } from '../../src/core/simulation/data.js';
import { tempDir } from '../helpers/engines.js';
import { readRatings, shippedCatalogue } from './helpers.js';

/**
 * The tastes are learnable: on simulated data, under the protocol of docs/evaluation.md (split user, seed 42, k 10),
 * models that use taste beat the most-popular baseline.
 */
describe('a model trained on simulated data', () => {
  const root = tempDir('reco-sim-learn-');
  const catalogue = shippedCatalogue();
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  async function ndcgOn(days: number, users: number, algorithms: Algorithm[]) {
    const sim = await simulateData({
      catalogue,
      start: '2018-09-25',
      days,
      users,
      newMovies: 3,
      badRows: 0,
      seed: 7,
      out: path.join(root, `d${days}`),
    });
    const rows = sim.day_summaries.flatMap((d) => readRatings(d.files.ratings.path));
    const data = buildInteractions({
      userIds: Float64Array.from(rows, (r) => r.userId),
      movieIds: Int32Array.from(rows, (r) => r.movieId),
      ratings: Float32Array.from(rows, (r) => r.rating),
      timestamps: Float64Array.from(rows, (r) => r.timestamp),
    });
    const genres = new Map<number, readonly string[]>(catalogue.map((m) => [m.movieId, m.genres]));
    const report = await evaluateAlgorithms(data, { genres }, algorithms, { split: 'user', seed: 42, k: 10 });
    const ndcg = Object.fromEntries(report.rows.map((r) => [r.algorithm, r.ndcg]));
    process.stderr.write(
      `${days} simulated days (${report.counts.ratings} ratings, ${report.counts.evaluatedUsers} evaluated users): nDCG@10 ${JSON.stringify(ndcg)}\n`,
    );
    return ndcg;
  }

  it('beats popular on the data of "simulate data --days 3 --seed 7"', async () => {
    const ndcg = await ndcgOn(3, 500, [popular, segments, ease]);
    expect(ndcg.segments).toBeGreaterThan(ndcg.popular);
    expect(ndcg.ease).toBeGreaterThan(ndcg.popular);
  }, 120_000);

  it('beats popular clearly on a week of a 600-user platform', async () => {
    const ndcg = await ndcgOn(7, 600, [popular, segments]);
    expect(ndcg.segments).toBeGreaterThan(ndcg.popular * 1.15);
  }, 120_000);
});
