import { snakeCaseKeys } from '../../src/cli/json-output.js';

/** `--json` keys are snake_case (the API's casing); keys that are data keep their spelling. No process. */
describe('snakeCaseKeys', () => {
  test('renames camelCase keys at any depth, inside arrays too', () => {
    const ingest = {
      runId: 3,
      filesLoaded: 2,
      files: [{ byReason: { wrong_column_count: 1 }, durationMs: 41, loadedByRun: 2 }],
      database: { ratingsInserted: 990, profilesUpdated: 120 },
      timingsMs: { copyRatings: 8 },
    };
    expect(snakeCaseKeys(ingest)).toEqual({
      run_id: 3,
      files_loaded: 2,
      files: [{ by_reason: { wrong_column_count: 1 }, duration_ms: 41, loaded_by_run: 2 }],
      database: { ratings_inserted: 990, profiles_updated: 120 },
      timings_ms: { copy_ratings: 8 },
    });
  });

  test('leaves data keys, values and non-plain objects alone', () => {
    const at = new Date('2026-01-02T03:04:05Z');
    const out = snakeCaseKeys({
      genres: { 'Sci-Fi': 2, Action: 1, '(no genres listed)': 0 },
      rows: [{ algorithm: 'item-knn', createdAt: at }],
      note: 'camelCase value',
      n: null,
    }) as any;
    expect(out).toEqual({
      genres: { 'Sci-Fi': 2, Action: 1, '(no genres listed)': 0 },
      rows: [{ algorithm: 'item-knn', created_at: at }],
      note: 'camelCase value',
      n: null,
    });
    expect(out.rows[0].created_at).toBe(at);
  });

  test('every --json result goes through it (RecoCommand.toSuccessJson)', async () => {
    const { RecoCommand } = await import('../../src/cli/base-command.js');
    const toJson = (RecoCommand.prototype as any).toSuccessJson as (r: unknown) => unknown;
    expect(toJson.call({}, { schemaVersion: 7, rowCounts: { ratings: 1 } })).toEqual({
      schema_version: 7,
      row_counts: { ratings: 1 },
    });
  });
});
