import fs from 'node:fs';
import path from 'node:path';
import { evaluateAlgorithms } from '../../src/core/evaluation/protocol.js';
import { buildInteractions } from '../../src/core/models/interactions.js';
import { popular } from '../../src/core/models/popular.js';
import { segments } from '../../src/core/models/segments.js';
import { itemKnn } from '../../src/core/models/item-knn.js';
import { simulateData } from '../../src/core/simulation/data.js';
import { tempDir } from '../helpers/engines.js';
import { readRatings, shippedCatalogue } from './helpers.js';

/**
 * The tastes are learnable: on simulated data, under the EVALUATION.md protocol (split user, seed 42, k 10),
 * models that use taste beat the most-popular baseline.
 */
describe('a model trained on simulated data', () => {
  const root = tempDir('reco-sim-learn-');
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('beats popular on nDCG@10', async () => {
    const catalogue = shippedCatalogue();
    const sim = simulateData({ catalogue, start: '2018-09-25', days: 7, users: 600, newMovies: 3, badRows: 0, seed: 7, out: path.join(root, 'sim') });
    const rows = sim.day_summaries.flatMap((d) => readRatings(d.files.ratings.path));
    const data = buildInteractions({
      userIds: Float64Array.from(rows, (r) => r.userId),
      movieIds: Int32Array.from(rows, (r) => r.movieId),
      ratings: Float32Array.from(rows, (r) => r.rating),
      timestamps: Float64Array.from(rows, (r) => r.timestamp),
    });
    const genres = new Map<number, readonly string[]>(catalogue.map((m) => [m.movieId, m.genres]));
    const report = await evaluateAlgorithms(data, { genres }, [popular, segments, itemKnn], { split: 'user', seed: 42, k: 10 });
    const ndcg = Object.fromEntries(report.rows.map((r) => [r.algorithm, r.ndcg]));
    process.stderr.write(`simulated data (${report.counts.ratings} ratings, ${report.counts.users} users): nDCG@10 ${JSON.stringify(ndcg)}\n`);
    expect(report.counts.evaluatedUsers).toBeGreaterThan(300);
    expect(ndcg.segments).toBeGreaterThan(ndcg.popular * 1.15);
  }, 120_000);
});
