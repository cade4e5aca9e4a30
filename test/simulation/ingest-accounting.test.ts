import fs from 'node:fs';
import path from 'node:path';
import { ingest } from '../../src/core/pipeline/index.js';
import { REJECT_REASONS } from '../../src/core/pipeline/reasons.js';
import { RATING_BAD_KINDS } from '../../src/core/simulation/bad-rows.js';
import { simulateData, type SimulationSummary } from '../../src/core/simulation/data.js';
import { describeEachEngine, tempDir } from '../helpers/engines.js';
import { readRatings, shippedCatalogue } from './helpers.js';

/**
 * --bad-rows against the real `ingest` on both engines: what the simulator says it injected is exactly what
 * ingest rejects, kind by kind and file by file, and every good row is loaded.
 */
const catalogue = shippedCatalogue().slice(0, 1500);

describeEachEngine('simulated bad rows vs. the real ingest', (t) => {
  const root = tempDir('reco-sim-ingest-');
  const out = path.join(root, 'simulation_data');
  let sim: SimulationSummary;
  beforeAll(async () => {
    sim = await simulateData({
      catalogue,
      start: '2018-09-25',
      days: 2,
      users: 200,
      newMovies: 2,
      badRows: 0.1,
      seed: 11,
      out,
    });
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('rejects exactly the injected rows, by reason, in every file, and loads every good row', async () => {
    const summary = await ingest(t.db, { from: out, dataDir: root });
    expect(summary.batches).toEqual(['2018-09-25', '2018-09-26']);
    const zero = Object.fromEntries(Object.keys(REJECT_REASONS).map((k) => [k, 0]));
    for (const day of sim.day_summaries) {
      for (const kind of ['movies', 'ratings'] as const) {
        const injected = day.files[kind];
        const file = summary.files.find((f) => f.day === day.day && f.kind === kind)!;
        expect(file).toBeDefined();
        expect({ day: day.day, kind, byReason: file.byReason }).toEqual({
          day: day.day,
          kind,
          byReason: { ...zero, ...injected.bad },
        });
        expect(file.read).toBe(injected.rows);
        expect(file.accepted).toBe(injected.good);
      }
      // Every kind the simulator makes was injected at this rate, so the check covers them all.
      expect(Object.keys(day.files.ratings.bad).sort()).toEqual([...RATING_BAD_KINDS].sort());
    }
    const good = sim.day_summaries.flatMap((d) => readRatings(goodOnly(d.files.ratings.path)));
    const loaded = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM ratings');
    expect(loaded.rows[0].n).toBe(good.length);
    // The good row of each duplicated pair won (same ratings, not the injected earlier copies').
    const sum = await t.db.query<{ s: number }>('SELECT sum(rating * 2)::int AS s FROM ratings');
    expect(sum.rows[0].s).toBe(good.reduce((a, r) => a + r.rating * 2, 0));
    const users = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM users');
    expect(users.rows[0].n).toBe(new Set(good.map((r) => r.userId)).size);
    const movies = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM movies');
    expect(movies.rows[0].n).toBe(catalogue.length + 4);
  });
});

/** The rows of a ratings.csv that parse as good rows (bad ones are dropped by their known shapes). */
function goodOnly(file: string): string {
  const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
  const keep = [lines[0]];
  const seen = new Map<string, number>();
  const rows = lines.slice(1).map((l) => l.split(','));
  // Duplicates: keep the latest timestamp of each user and movie, as ingest does.
  for (const c of rows)
    if (isGood(c)) seen.set(`${c[0]},${c[1]}`, Math.max(seen.get(`${c[0]},${c[1]}`) ?? 0, Number(c[3])));
  for (const c of rows) if (isGood(c) && seen.get(`${c[0]},${c[1]}`) === Number(c[3])) keep.push(c.join(','));
  const tmp = `${file}.good`;
  fs.writeFileSync(tmp, keep.join('\n') + '\n');
  return tmp;
}

function isGood(c: string[]): boolean {
  if (c.length !== 4 || c.some((x) => x === '' || !/^\d+(\.\d+)?$/.test(x))) return false;
  const [u, m, r, t] = c.map(Number);
  return (
    u < 900_000_000 &&
    m < 9_000_000 &&
    r >= 0.5 &&
    r <= 5 &&
    r * 2 === Math.round(r * 2) &&
    t >= 788_918_400 &&
    t < 4_102_444_800
  );
}
