import path from 'node:path';
import { Flags } from '@oclif/core';
import { RecoCommand } from '../cli/base-command.js';
import { progressBar } from '../cli/progress.js';
import { dataPaths } from '../core/config.js';
import { isDatabaseUnavailable } from '../core/db/errors.js';
import { isRecoError, oneLine, RecoError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import type { IngestSummary, RejectReason } from '../core/pipeline/index.js';

export default class Ingest extends RecoCommand {
  static override summary = 'Load MovieLens files (a folder, or one folder per day) into the database, exactly once';
  static override description = `Each file is archived byte for byte to data/raw/, validated and deduplicated into data/processed/ (with the users' genre vectors), then loaded in one transaction per day. Rows that cannot be loaded go to data/no_injected_data/<day>/<file>.rejected.csv with their line number and a reason code. A file already loaded (same SHA-256, same client) is skipped, so running again is safe.

Reason codes in the rejected files and the summary: wrong_column_count, invalid_text, field_too_long, missing_field, malformed_number, rating_out_of_range, rating_not_half_step, unknown_movie, timestamp_in_future, timestamp_before_1995, duplicate_in_file (the latest timestamp wins). More in docs/ingest.md.

Nothing to load (no simulation_data folder yet, an empty one, or every day loaded before) is a normal day: exit 0 with one line, unless --require-new.

Exit codes: 0 the run completed (even with rejected rows, or with nothing to load), 2 --from is missing or a source file is unreadable or not MovieLens CSV, 3 --strict and a row was rejected, 4 the database failed, or the embedded database would pass its size limit of 32M ratings (set DATABASE_URL) (that day is left untouched), 6 --require-new and nothing new was loaded.`;
  static override examples = [
    {
      description: 'Load the initial MovieLens data set',
      command: '<%= config.bin %> ingest --from data/initial_data',
    },
    {
      description: 'Load every simulated day not loaded yet (data/simulation_data/YYYY/MM/DD), oldest first',
      command: '<%= config.bin %> ingest',
    },
    {
      description: 'Load one day for the client "netflix", failing on any bad row',
      command: '<%= config.bin %> ingest --date 2024-01-15 --client netflix --strict',
    },
    {
      description: 'Machine-readable summary (counts by file and by reason)',
      command: '<%= config.bin %> ingest --json',
    },
    {
      description: 'Fail (exit 6) when no new day arrived, e.g. to alert on a missing delivery',
      command: '<%= config.bin %> ingest --require-new',
    },
  ];
  static override flags = {
    from: Flags.string({
      description:
        'folder with movies.csv/ratings.csv, or with YYYY/MM/DD folders of them [default: $RECO_DATA_DIR/simulation_data]',
    }),
    date: Flags.string({
      description:
        'only this day, YYYY-MM-DD (default: every day under --from); for a flat folder, the day to file it under',
    }),
    client: Flags.string({
      description: 'the platform whose users these are; created without a password when absent',
      default: 'default',
    }),
    strict: Flags.boolean({ description: 'fail (exit 3) on any rejected row; the day with it is not loaded' }),
    'require-new': Flags.boolean({
      description: 'fail (exit 6) when there is nothing new to load, instead of exiting 0',
    }),
  };

  async run(): Promise<IngestSummary> {
    const { flags } = await this.parse(Ingest);
    // Loaded while the database connection opens.
    const pipeline = import('../core/pipeline/index.js');
    pipeline.catch(() => {}); // awaited below
    const dataDir = this.settings.dataDir;
    const from = path.resolve(flags.from ?? dataPaths(dataDir).simulationData);
    const bar = progressBar({ label: 'ingest', total: 1, enabled: !this.jsonEnabled(), unit: 'MB' });
    let total = 0;
    const summary = await this.withDb(async (db) =>
      (await pipeline)
        .ingest(db, {
          from,
          date: flags.date,
          client: flags.client,
          dataDir,
          strict: flags.strict,
          // A fresh install has no simulation_data yet: a normal day. A --from that does not exist is a mistake (exit 2).
          missingSourceIsEmpty: flags.from === undefined,
          onProgress: (p) => {
            const mb = (n: number) => Math.round((n / 1e6) * 10) / 10;
            if (p.bytesTotal !== total) bar.setTotal(mb((total = p.bytesTotal)));
            bar.update(mb(p.bytesDone));
          },
          beforeCommit: testPause(),
        })
        .finally(() => bar.stop()),
    ).catch(databaseFailure);
    if (flags['require-new'] && summary.filesLoaded === 0) {
      const why =
        summary.files.length === 0
          ? `${from} holds no day to load`
          : `all ${summary.filesSkipped} file(s) were loaded before`;
      throw new RecoError(`--require-new: nothing new to load, ${why}`, { exitCode: ExitCode.NOTHING_NEW });
    }
    this.report(summary, (await pipeline).REJECT_REASON_CODES, from);
    return summary;
  }

  private report(s: IngestSummary, reasonCodes: readonly RejectReason[], from: string): void {
    if (s.files.length === 0) {
      this.say(`Nothing to load: ${from} holds no YYYY/MM/DD folder with movies.csv or ratings.csv (yet).`);
      return;
    }
    for (const f of s.files) {
      const where = f.day ?? path.basename(path.dirname(f.source));
      if (f.status === 'skipped') {
        this.say(`${where} ${f.kind}.csv: already loaded (run ${f.loadedByRun}), skipped`);
        continue;
      }
      const reasons = reasonCodes.filter((r) => f.byReason[r] > 0).map((r) => `${r} ${f.byReason[r]}`);
      this.say(
        `${where} ${f.kind}.csv: ${f.read} read = ${f.accepted} accepted + ${f.rejected} rejected${reasons.length ? ` (${reasons.join(', ')})` : ''}`,
      );
      if (f.rejectedPath) this.say(`  rejected rows: ${f.rejectedPath}`);
    }
    const d = s.database;
    if (!s.changed) {
      this.say(
        s.filesLoaded === 0
          ? `Nothing changed: all ${s.filesSkipped} file(s) were loaded before.`
          : 'Nothing changed: the files held no new or changed rows.',
      );
    } else {
      this.say(
        `Loaded ${s.batches.length} batch(es) in ${(s.durationMs / 1000).toFixed(1)} s: movies +${d.moviesInserted} new ${d.moviesUpdated} updated, users +${d.usersCreated}, ratings +${d.ratingsInserted} new ${d.ratingsUpdated} updated, ${d.profilesUpdated} user vectors recomputed (client ${s.client}, run ${s.runId}).`,
      );
    }
  }
}

/**
 * A database that cannot be reached, or drops the connection outside the load of a batch (which says so
 * itself), exits with the database code too; its message stays one line.
 */
function databaseFailure(err: unknown): never {
  if (isRecoError(err) && err.exitCode !== ExitCode.FAILURE) throw err;
  if (!isDatabaseUnavailable(err)) throw err;
  const message = isRecoError(err)
    ? err.message
    : `the database connection failed: ${oneLine(err)}; nothing of the day being loaded was kept`;
  throw new RecoError(message, { exitCode: ExitCode.DATABASE, cause: err });
}

/**
 * The fault tests' hook (test/pipeline/cli.test.ts, test/faults): with RECO_INGEST_TEST_PAUSE_MS set, each file's
 * load says so on stderr and waits inside its transaction before the commit. Unset, the ingest gets no hook.
 */
function testPause(): (() => Promise<void>) | undefined {
  const ms = Number(process.env.RECO_INGEST_TEST_PAUSE_MS ?? 0);
  if (!(ms > 0)) return undefined;
  return async () => {
    process.stderr.write('reco-ingest-test: paused inside the load transaction\n');
    await new Promise((resolve) => setTimeout(resolve, ms));
  };
}
