import { Rng } from '../../src/core/data/random.js';
import fs from 'node:fs';
import path from 'node:path';
import { denseRows, sumRowsPlain } from '../../src/core/models/dense-rows.js';
import { EaseRecommender } from '../../src/core/models/ease.js';
import { DENSE_ROWS_WASM } from '../../src/core/models/wasm/dense-rows-wasm.js';
import { ROOT } from '../helpers/cli.js';
import { historyOf, syntheticRatings } from './fixtures.js';

describe('dense rows: the WebAssembly kernel against the plain loop', () => {
  it('is the compile of dense-rows.wat (npm run build:wasm)', async () => {
    // @ts-expect-error: a plain JavaScript module of the repository's scripts
    const { compileDenseRows, moduleText } = await import('../../scripts/build-wasm.mjs');
    const bytes: Buffer = await compileDenseRows();
    expect(bytes.toString('base64')).toBe(DENSE_ROWS_WASM);
    const file = path.join(ROOT, 'src/core/models/wasm/dense-rows-wasm.ts');
    expect(fs.readFileSync(file, 'utf8')).toBe(moduleText(bytes));
  });

  it('runs on this Node and gives the same sums to the bit, for every width and any rows', () => {
    const rng = new Rng(7, 'dense-rows test');
    const next = () => rng.next();
    for (const m of [1, 2, 7, 8, 9, 15, 16, 17, 63, 100, 257]) {
      const q = new Int16Array(m * m);
      for (let i = 0; i < q.length; i++) {
        const r = next();
        // The extremes of int16 among ordinary values.
        q[i] = r < 0.05 ? 32767 : r < 0.1 ? -32768 : r < 0.2 ? 0 : Math.round((next() - 0.5) * 65535);
      }
      const scale = Float32Array.from({ length: m }, () => (next() - 0.3) * 1e-3);
      const rows = Int32Array.from({ length: 1 + Math.floor(next() * 2 * m) }, () => Math.floor(next() * (m + 1)) - 1);
      const kernel = denseRows(q.slice(), m);
      expect(kernel.kernel).toBe(true);
      expect(kernel.q).toEqual(q);
      // A non-zero start: the kernel adds to what is there, as the loop does.
      const start = Float64Array.from({ length: m }, () => next() - 0.5);
      const expected = start.slice();
      sumRowsPlain(q, m, rows, scale, expected);
      const got = start.slice();
      kernel.sumRows(rows, scale, got);
      expect(Array.from(got)).toEqual(Array.from(expected));
      // Reused: the kernel's accumulator holds nothing of the last call.
      const again = new Float64Array(m);
      kernel.sumRows(rows.subarray(0, 1), scale, again);
      const once = new Float64Array(m);
      sumRowsPlain(q, m, rows.subarray(0, 1), scale, once);
      expect(Array.from(again)).toEqual(Array.from(once));
    }
  });

  it('gives an EASE model the same recommendations and similar movies as the plain loop', async () => {
    const data = syntheticRatings({ users: 120, movies: 90, perUser: 20 }).interactions;
    const model = new EaseRecommender({ lambda: 50, minRatings: 1 });
    await model.fit(data);
    const plain = EaseRecommender.load(model.serialize());
    // The loaded copy sums with the plain loop: its rows replaced by the reference.
    const internals = plain as unknown as { rows: ReturnType<typeof denseRows>; q: Int16Array; modelled: Int32Array };
    expect(internals.rows.kernel).toBe(true);
    internals.rows = denseRows(internals.q, internals.modelled.length, { plain: true });
    expect(internals.rows.kernel).toBe(false);
    for (let u = 0; u < data.nUsers; u += 7) {
      const history = historyOf(data, u);
      expect(model.recommend(history, 10)).toEqual(plain.recommend(history, 10));
    }
    for (const movieId of data.itemIds.slice(0, 20)) expect(model.similar(movieId, 5)).toEqual(plain.similar(movieId, 5));
  });
});
