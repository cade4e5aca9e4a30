import { deleteImpressionsOlderThan, insertImpressions } from '../../src/core/db/repositories/experiments.js';
import type { ImpressionRow } from '../../src/core/experiments/types.js';
import { describeEachEngine } from '../helpers/engines.js';

/** The impressions' batched insert (one statement, columns as delimited texts) and the retention delete. */
describeEachEngine('impressions', (t) => {
  const base = { clientId: 3, experimentId: 7, variant: 'treatment', modelVersion: '20261206T114519Z-ease-96f2' };

  it('stores every row as given: one row, many rows, no experiment, an empty list, odd but valid ids', async () => {
    const shownAt = new Date('2026-12-01T10:11:12.345Z');
    const one: ImpressionRow = { ...base, recommendationId: '3.abc-_DEF.xyz', shownAt, userId: 1, movieIds: [5, 3, 1] };
    expect(await insertImpressions(t.db, [one])).toBe(1);
    const outside: ImpressionRow = {
      ...base,
      recommendationId: '3.n',
      shownAt,
      userId: 2,
      experimentId: null,
      variant: null,
      movieIds: [],
    };
    expect(await insertImpressions(t.db, [outside])).toBe(1);
    const many = Array.from({ length: 2500 }, (_, i): ImpressionRow => ({
      ...base,
      recommendationId: `3.r${i}`,
      shownAt: new Date(shownAt.getTime() + i),
      userId: 2 ** 40 + i,
      movieIds: [i, i + 1, 193609],
    }));
    many[10] = { ...many[10], experimentId: null, variant: null };
    expect(await insertImpressions(t.db, many)).toBe(2500);
    const r = await t.db.query<any>(
      'SELECT recommendation_id, shown_at, client_id, user_id, experiment_id, variant, model_version, movie_ids FROM impressions ORDER BY shown_at, user_id',
    );
    const got = r.rows.map((x) => ({
      recommendationId: x.recommendation_id,
      shownAt: new Date(x.shown_at),
      clientId: x.client_id,
      userId: Number(x.user_id),
      experimentId: x.experiment_id,
      variant: x.variant,
      modelVersion: x.model_version,
      movieIds: x.movie_ids.map(Number),
    }));
    expect(got).toEqual(
      [one, outside, ...many].sort((a, b) => a.shownAt.getTime() - b.shownAt.getTime() || a.userId - b.userId),
    );
  });

  it('keeps only the indexes a statement uses: by experiment, by user and time, by time', async () => {
    // Each impression pays an insert per index; none is looked up by recommendation_id (migration 103).
    const r = await t.db.query<{ indexdef: string }>(
      "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'impressions' ORDER BY indexname",
    );
    expect(r.rows.map((x) => x.indexdef.replace(/^.* USING btree /, ''))).toEqual([
      '(experiment_id, shown_at) WHERE (experiment_id IS NOT NULL)',
      '(shown_at)',
      '(user_id, shown_at)',
    ]);
  });

  it('deletes what is older than the retention', async () => {
    await t.db.query('DELETE FROM impressions');
    const now = Date.now();
    const rows = [40, 10, 0].map((days, i): ImpressionRow => ({
      ...base,
      recommendationId: `3.d${i}`,
      shownAt: new Date(now - days * 86_400_000),
      userId: i,
      movieIds: [1],
    }));
    await insertImpressions(t.db, rows);
    expect(await deleteImpressionsOlderThan(t.db, 30)).toBe(1);
    expect(Number((await t.db.query<{ n: string }>('SELECT count(*) AS n FROM impressions')).rows[0].n)).toBe(2);
  });
});
