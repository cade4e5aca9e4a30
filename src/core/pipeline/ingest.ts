import { performance } from 'node:perf_hooks';
import {
  catalogueMovieIds,
  copyIntoMovieStage,
  createMovieStage,
  upsertMoviesFromStage,
} from '../db/repositories/catalogue.js';
import { ensureClient } from '../db/repositories/clients.js';
import {
  failAbandonedRuns,
  findLoadedFile,
  finishIngestRun,
  lockIngest,
  recordIngestedFile,
  startIngestRun,
  type RunTotals,
} from '../db/repositories/ingest-ledger.js';
import { recordJob, recordJobFailures } from '../db/repositories/jobs.js';
import { analyzeChangedTables } from '../db/repositories/planner-stats.js';
import { copyIntoRatings, isUniqueViolation, ratingsHeapBytes, upsertRatings } from '../db/repositories/ratings.js';
import {
  PROFILE_CSV_HEADER,
  createTouchedTable,
  recomputeTouchedProfiles,
  touchedProfilesCsv,
} from '../db/repositories/users.js';
import type { Database, Queryable, Transaction } from '../db/types.js';
import { RecoError, isRecoError, oneLine } from '../errors.js';
import { archiveFile } from './archive.js';
import { FileSink, withoutHeader } from './file-sink.js';
import { profilesPath, stagePaths } from './output-paths.js';
import { processMovies, type FileStageResult } from './process-movies.js';
import { processRatings, writeProcessedRatings } from './process-ratings.js';
import type { RatingColumns } from './rating-columns.js';
import { ratingTuples, stagedRatingTuples } from '../db/copy-binary.js';
import { withBackground, type Background } from './background.js';
import { EarlyUsers } from './early-users.js';
import type { LoadPlan } from './rating-load.js';
import { addReasonCounts, emptyReasonCounts } from './reasons.js';
import { discoverBatches, type Batch, type SourceFile } from './sources.js';
import type {
  DatabaseChanges,
  FileSummary,
  IngestOptions,
  IngestSummary,
  RatingsReader,
  StageTimings,
} from './types.js';
import { ExitCode } from '../exit-codes.js';
import { assertWithinEmbeddedLimit, estimateEmbeddedSize, storedRatingsFromHeap } from './embedded-limit.js';

const noTimings = (): StageTimings => ({
  archive: 0,
  process: 0,
  writeProcessed: 0,
  copyMovies: 0,
  upsertMovies: 0,
  copyRatings: 0,
  upsertUsers: 0,
  upsertRatings: 0,
  vectors: 0,
  writeVectors: 0,
  commit: 0,
});

/** Runs `fn` and adds its wall time to `timings[stage]`. */
async function timed<T>(timings: StageTimings, stage: keyof StageTimings, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    timings[stage] += performance.now() - t0;
  }
}

const noChanges = (): DatabaseChanges => ({
  moviesInserted: 0,
  moviesUpdated: 0,
  usersCreated: 0,
  ratingsInserted: 0,
  ratingsUpdated: 0,
  profilesUpdated: 0,
});

interface RunContext {
  db: Database;
  options: IngestOptions;
  runId: number;
  clientId: number;
  catalogue: Set<number>;
  now: number;
  bytesTotal: number;
  bytesDone: number;
  timings: StageTimings;
  /** Embedded engine: ratings stored, estimated once from the table's size, then counted up batch by batch. */
  embeddedStored?: number;
}

/**
 * `reco ingest`: for every batch (day) under `from`, oldest first — archive the files (raw/), validate and
 * deduplicate them (processed/, rejected rows to no_injected_data/), then load the batch in one transaction
 * (movies, users, ratings, the touched users' vectors and the ledger rows). A file loaded before (same
 * checksum, same client) is skipped. A crash at any point leaves a batch either fully loaded or not at all.
 */
export function ingest(db: Database, options: IngestOptions): Promise<IngestSummary> {
  return recordJobFailures(db, 'ingest', () => ingestRun(db, options));
}

async function ingestRun(db: Database, options: IngestOptions): Promise<IngestSummary> {
  const started = performance.now();
  const batches = discoverBatches(options.from, options.date, { missingIsEmpty: options.missingSourceIsEmpty });
  const clientName = options.client ?? 'default';
  const client = await ensureClient(db, clientName);
  // The embedded engine admits one process, so any run still 'running' there is dead; on a server, wait 6 h.
  await failAbandonedRuns(db, db.engine === 'pglite' ? 0 : 6 * 3600);
  const runId = await startIngestRun(db, batches.length === 1 ? batches[0].dir : options.from, client.id);
  const summary: IngestSummary = {
    runId,
    status: 'succeeded',
    client: clientName,
    source: options.from,
    batches: [],
    files: [],
    filesLoaded: 0,
    filesSkipped: 0,
    read: 0,
    accepted: 0,
    rejected: 0,
    byReason: emptyReasonCounts(),
    database: noChanges(),
    changed: false,
    durationMs: 0,
    timingsMs: noTimings(),
  };
  const totals = (): RunTotals => ({
    filesLoaded: summary.filesLoaded,
    filesSkipped: summary.filesSkipped,
    rowsRead: summary.read,
    rowsAccepted: summary.accepted,
    rowsRejected: summary.rejected,
    durationMs: performance.now() - started,
  });
  return recordJob(
    db,
    'ingest',
    async () => {
      try {
        const ctx: RunContext = {
          db,
          options,
          runId,
          clientId: client.id,
          catalogue: await catalogueMovieIds(db),
          now: options.now ?? Math.floor(Date.now() / 1000),
          bytesTotal: batches.reduce((s, b) => s + b.files.reduce((t, f) => t + f.bytes, 0), 0),
          bytesDone: 0,
          timings: summary.timingsMs,
        };
        for (const batch of batches) {
          const { files, changes } = await ingestBatch(ctx, batch);
          summary.files.push(...files);
          if (files.some((f) => f.status === 'loaded')) summary.batches.push(batch.day ?? batch.segment);
          for (const f of files) {
            if (f.status === 'skipped') {
              summary.filesSkipped++;
              continue;
            }
            summary.filesLoaded++;
            summary.read += f.read;
            summary.accepted += f.accepted;
            summary.rejected += f.rejected;
            addReasonCounts(summary.byReason, f.byReason);
          }
          for (const k of Object.keys(changes) as (keyof DatabaseChanges)[]) summary.database[k] += changes[k];
        }
        const d = summary.database;
        summary.changed =
          d.moviesInserted + d.moviesUpdated + d.usersCreated + d.ratingsInserted + d.ratingsUpdated > 0;
        // The API's queries plan on these statistics; a large load would otherwise leave them stale (planner-stats.ts).
        if (summary.changed) {
          await analyzeChangedTables(db, {
            movies: d.moviesInserted + d.moviesUpdated,
            users: d.usersCreated,
            ratings: d.ratingsInserted + d.ratingsUpdated,
          });
        }
        summary.durationMs = Math.round(performance.now() - started);
        for (const k of Object.keys(summary.timingsMs) as (keyof StageTimings)[])
          summary.timingsMs[k] = Math.round(summary.timingsMs[k]);
        await finishIngestRun(db, runId, 'succeeded', totals());
        options.onProgress?.({ stage: 'done', batch: '', bytesDone: ctx.bytesTotal, bytesTotal: ctx.bytesTotal });
        return summary;
      } catch (err) {
        await finishIngestRun(db, runId, 'failed', totals(), oneLine(err).slice(0, 2000)).catch(() => {});
        throw err;
      }
    },
    (s) => ({
      run_id: s.runId,
      files_loaded: s.filesLoaded,
      files_skipped: s.filesSkipped,
      read: s.read,
      accepted: s.accepted,
      rejected: s.rejected,
    }),
  );
}

/** A file of the batch not loaded before (stage 1 done), and what its later stages make of it. */
interface FreshFile {
  file: SourceFile;
  summary: FileSummary;
  paths: ReturnType<typeof stagePaths>;
  started: number;
  /** Ratings on the fast path: the users step, started during the parse (early-users.ts). */
  early?: EarlyUsers;
  /** Ratings: the processed file, once its writing has started (it is complete before the commit). */
  processedWritten?: Promise<void>;
}

/** What stage 2 (parse → validate → plan) makes of a file; for ratings, the rows and their plan. */
type ParsedFile = { kind: 'movies' } | { kind: 'ratings'; rows: RatingColumns; plan: LoadPlan };

/**
 * One batch (day): stage 1 (archive, ledger check), then stage 2 (parse → validate → plan, the files one after
 * the other) beside stage 3 (load → record, one transaction). On the fast path the transaction starts while
 * the files are parsed: PostgreSQL takes the lock, checks the ledger, loads the movies and creates the users of
 * the ratings parsed so far while Node still parses, instead of idling until the whole day is processed. A file
 * that fails (unreadable, --strict) fails the transaction, which then leaves nothing of the day.
 */
async function ingestBatch(ctx: RunContext, batch: Batch): Promise<{ files: FileSummary[]; changes: DatabaseChanges }> {
  const { files, fresh } = await archiveBatch(ctx, batch);
  if (fresh.length === 0) return { files, changes: noChanges() };
  const label = batch.day ?? batch.segment;
  await checkEmbeddedSize(ctx, fresh, label);
  const reader = ctx.options.reader ?? 'fast';
  const dayMovies = new Set<number>();
  const changes = await withBackground(async (bg) => {
    if (reader === 'fast') for (const f of fresh) if (f.file.kind === 'ratings') f.early = new EarlyUsers(ctx.clientId);
    const parsed = bg.inOrder(fresh, (f) => parseFile(ctx, label, f, { dayMovies, reader }));
    const allParsed = bg.start(() => Promise.all(parsed));
    bg.start(async () => {
      await allParsed;
      ctx.options.onProgress?.({ stage: 'load', batch: label, bytesDone: ctx.bytesDone, bytesTotal: ctx.bytesTotal });
    });
    if (reader === 'reference') await allParsed;
    try {
      return await loadBatch(ctx, batch, fresh, parsed, bg);
    } finally {
      // The processed files are written on every path, as stage 2 left them.
      for (const [k, f] of fresh.entries()) {
        bg.start(async () => {
          const p = await parsed[k];
          if (p.kind === 'ratings') await startProcessedWrite(ctx, bg, f, p.rows);
        });
      }
    }
  });
  for (const id of dayMovies) ctx.catalogue.add(id);
  if (ctx.embeddedStored !== undefined) ctx.embeddedStored += changes.ratingsInserted;
  return { files, changes };
}

/**
 * The embedded engine refuses a batch that would take it past its size limit (embedded-limit.ts), before any of
 * the batch is parsed or loaded. PostgreSQL has no such limit.
 */
async function checkEmbeddedSize(ctx: RunContext, fresh: FreshFile[], label: string): Promise<void> {
  if (ctx.db.engine !== 'pglite') return;
  const incomingBytes = fresh.reduce((s, f) => s + (f.file.kind === 'ratings' ? f.file.bytes : 0), 0);
  if (incomingBytes === 0) return;
  ctx.embeddedStored ??= storedRatingsFromHeap(await ratingsHeapBytes(ctx.db));
  assertWithinEmbeddedLimit(
    estimateEmbeddedSize({ stored: ctx.embeddedStored, incomingBytes, limit: ctx.options.embeddedRatingLimit }),
    label,
  );
}

/** Stage 1 (raw) for every file, then the ledger says which files are new. */
async function archiveBatch(ctx: RunContext, batch: Batch): Promise<{ files: FileSummary[]; fresh: FreshFile[] }> {
  const { db, options } = ctx;
  const fresh: FreshFile[] = [];
  const files: FileSummary[] = [];
  for (const file of batch.files) {
    const t0 = performance.now();
    options.onProgress?.({
      stage: 'archive',
      batch: batch.day ?? batch.segment,
      kind: file.kind,
      bytesDone: ctx.bytesDone,
      bytesTotal: ctx.bytesTotal,
    });
    const paths = stagePaths(options.dataDir, batch, file.kind);
    const { sha256 } = await timed(ctx.timings, 'archive', () => archiveFile(file.path, paths.raw));
    const loaded = await findLoadedFile(db, file.kind, sha256, ledgerClient(file.kind, ctx.clientId));
    const summary: FileSummary = {
      day: batch.day,
      kind: file.kind,
      source: file.path,
      sha256,
      status: loaded ? 'skipped' : 'loaded',
      read: 0,
      accepted: 0,
      rejected: 0,
      byReason: emptyReasonCounts(),
      rawPath: paths.raw,
      loadedByRun: loaded?.run_id,
      durationMs: 0,
    };
    files.push(summary);
    if (loaded) {
      ctx.bytesDone += file.bytes;
      summary.durationMs = Math.round(performance.now() - t0);
    } else fresh.push({ file, summary, paths, started: t0 });
  }
  return { files, fresh };
}

/**
 * Stage 2 of one file: parse → validate → plan (processed/, rejected rows to no_injected_data/). Movies come
 * first in a batch, so that the day's new movies count as known for its ratings.
 */
async function parseFile(
  ctx: RunContext,
  label: string,
  f: FreshFile,
  options: { dayMovies: Set<number>; reader: RatingsReader },
): Promise<ParsedFile> {
  const onBytes = (n: number) => {
    ctx.bytesDone += n;
    ctx.options.onProgress?.({
      stage: 'process',
      batch: label,
      kind: f.file.kind,
      bytesDone: ctx.bytesDone,
      bytesTotal: ctx.bytesTotal,
    });
  };
  let result: FileStageResult;
  let parsed: ParsedFile;
  if (f.file.kind === 'movies') {
    const r = await timed(ctx.timings, 'process', () => processMovies(f.file.path, f.paths, onBytes));
    for (const id of r.movieIds) options.dayMovies.add(id);
    result = r;
    parsed = { kind: 'movies' };
  } else {
    const early = f.early;
    try {
      const r = await timed(ctx.timings, 'process', () =>
        processRatings(f.file.path, f.paths, {
          checks: { knownMovie: movieLookup(ctx.catalogue, options.dayMovies), now: ctx.now },
          reader: options.reader,
          onBytes,
          onRows: early && ((rows, from) => early.onRows(rows, from)),
          writeProcessed: false,
        }),
      );
      early?.end();
      result = r;
      parsed = { kind: 'ratings', rows: r.rows, plan: { index: r.index, order: r.order } };
    } catch (err) {
      early?.end(err);
      throw err;
    }
  }
  Object.assign(f.summary, {
    read: result.read,
    accepted: result.accepted,
    rejected: result.rejected,
    byReason: result.byReason,
    processedPath: result.processedPath,
    rejectedPath: result.rejectedPath,
  });
  if (ctx.options.strict && result.rejected > 0) {
    throw new RecoError(
      `--strict: ${result.rejected} of ${result.read} rows of ${f.file.path} rejected (see ${result.rejectedPath}); nothing of ${label} was loaded`,
      { exitCode: ExitCode.REJECTED_ROWS },
    );
  }
  return parsed;
}

/** Stage 3: load → record, the whole batch in one transaction, so a crash leaves all of it or nothing. */
async function loadBatch(
  ctx: RunContext,
  batch: Batch,
  fresh: FreshFile[],
  parsed: Promise<ParsedFile>[],
  bg: Background,
): Promise<DatabaseChanges> {
  const { db, options } = ctx;
  const label = batch.day ?? batch.segment;
  const changes = noChanges();
  const t = ctx.timings;
  let commitStarted = 0;
  try {
    await db.transaction(async (tx) => {
      await lockIngest(tx);
      for (const [k, f] of fresh.entries()) {
        // Another process may have loaded the same file while this one was validating it.
        const loaded = await findLoadedFile(tx, f.file.kind, f.summary.sha256, ledgerClient(f.file.kind, ctx.clientId));
        if (loaded) {
          f.early?.drop();
          await parsed[k];
          Object.assign(f.summary, {
            status: 'skipped',
            loadedByRun: loaded.run_id,
            read: 0,
            accepted: 0,
            rejected: 0,
            byReason: emptyReasonCounts(),
          });
          continue;
        }
        // From here on the users of the ratings still being parsed may be created (early-users.ts).
        if (f.file.kind === 'ratings') await createTouchedTable(tx);
        const earlyRun = f.early?.run(tx);
        let p: ParsedFile;
        try {
          p = await parsed[k];
        } catch (err) {
          await earlyRun?.catch(() => {});
          throw err;
        }
        // The users that closed in the last chunks are still being created.
        const early = await timed(t, 'upsertUsers', async () => earlyRun && (await earlyRun));
        const t0 = performance.now();
        if (p.kind === 'movies') await loadMovies(tx, f.paths.processed, changes, t);
        else {
          await loadRatings(tx, {
            rows: p.rows,
            plan: p.plan,
            users: f.early ?? new EarlyUsers(ctx.clientId),
            early,
            startProcessedWrite: () => startProcessedWrite(ctx, bg, f, p.rows),
            changes,
            timings: t,
          });
          await recordVectors(tx, { file: profilesPath(options.dataDir, batch), timings: t });
        }
        await options.beforeCommit?.();
        await recordFile(tx, {
          runId: ctx.runId,
          day: batch.day,
          clientId: ctx.clientId,
          file: f,
          loadMs: performance.now() - t0,
        });
      }
      await Promise.all(fresh.map((f) => f.processedWritten));
      commitStarted = performance.now();
    });
    t.commit += performance.now() - commitStarted;
  } catch (err) {
    if (isRecoError(err)) throw err;
    throw new RecoError(`loading ${label} into the database failed, nothing of it was kept: ${oneLine(err)}`, {
      exitCode: ExitCode.DATABASE,
      cause: err,
    });
  }
  return changes;
}

/** Writes the processed ratings file in the background, once (it overlaps the COPY, when Node would wait). */
function startProcessedWrite(ctx: RunContext, bg: Background, f: FreshFile, rows: RatingColumns): Promise<void> {
  f.processedWritten ??= bg.start(() =>
    timed(ctx.timings, 'writeProcessed', () => writeProcessedRatings(rows, f.paths.processed)),
  );
  return f.processedWritten;
}

/** record: the file's ledger row, in the load transaction (a file is loaded once, by checksum and client). */
async function recordFile(
  tx: Queryable,
  o: { runId: number; day: string | null; clientId: number; file: FreshFile; loadMs: number },
): Promise<void> {
  const s = o.file.summary;
  s.durationMs = Math.round(performance.now() - o.file.started);
  await recordIngestedFile(tx, {
    runId: o.runId,
    day: o.day,
    kind: s.kind,
    path: s.source,
    sha256: s.sha256,
    clientId: ledgerClient(s.kind, o.clientId),
    rowsRead: s.read,
    rowsAccepted: s.accepted,
    rowsRejected: s.rejected,
    durationMs: o.loadMs + s.durationMs,
  });
}

/** record: the touched users' vectors into processed/, as the seed's extract-feature step left them. */
async function recordVectors(tx: Queryable, o: { file: string; timings: StageTimings }): Promise<void> {
  await timed(o.timings, 'writeVectors', async () => {
    const sink = await FileSink.open(o.file);
    await sink.write(`${PROFILE_CSV_HEADER.join(',')}\n`);
    for await (const chunk of touchedProfilesCsv(tx)) await sink.write(Buffer.from(chunk).toString('utf8'));
    await sink.close();
  });
}

/** Is a movie id in the catalogue or the day's movies? A bitmap for ids up to 2^24 (a million rows ask). */
function movieLookup(catalogue: Set<number>, dayMovies: Set<number>): (id: number) => boolean {
  let max = 0;
  for (const s of [catalogue, dayMovies]) for (const id of s) if (id > max) max = id;
  if (max >= 1 << 24) return (id) => catalogue.has(id) || dayMovies.has(id);
  const known = new Uint8Array(max + 1);
  for (const s of [catalogue, dayMovies]) for (const id of s) known[id] = 1;
  return (id) => id <= max && known[id] === 1;
}

/** Movies are one catalogue for all clients, so a movies file is recorded once, without a client. */
function ledgerClient(kind: SourceFile['kind'], clientId: number): number | null {
  return kind === 'movies' ? null : clientId;
}

async function loadMovies(tx: Queryable, processed: string, changes: DatabaseChanges, t: StageTimings): Promise<void> {
  await createMovieStage(tx);
  await timed(t, 'copyMovies', () => copyIntoMovieStage(tx, withoutHeader(processed)));
  const r = await timed(t, 'upsertMovies', () => upsertMoviesFromStage(tx));
  changes.moviesInserted += r.inserted;
  changes.moviesUpdated += r.updated;
}

export interface LoadRatingsOptions {
  rows: RatingColumns;
  plan: LoadPlan;
  /** Creates the users `early` did not. */
  users: EarlyUsers;
  /** The users created during the parse, by external id (undefined: none). */
  early: Map<number, { id: number; created: boolean }> | undefined;
  /** Starts writing the processed file: called when the COPY begins (Node mostly waits for PostgreSQL then). */
  startProcessedWrite: () => Promise<void>;
  changes: DatabaseChanges;
  timings: StageTimings;
}

/**
 * load: the ratings of one file, from the typed columns of stage 2. The file's movies are checked and locked
 * (FOR KEY SHARE), and users the client does not have yet are created with their vectors computed in Node —
 * most of them already while the file was parsed (early-users.ts) —: their ratings are new pairs that no other
 * session can write, so they go into `ratings` by a plain COPY. The ratings of users that existed go by COPY
 * too, on the bet that their pairs are new; a stored pair takes that COPY back and the one remedy, the staged
 * upsert, runs instead. Those users' vectors are then recomputed from all of their ratings (in SQL).
 */
async function loadRatings(tx: Transaction, o: LoadRatingsOptions): Promise<void> {
  const { rows, plan, changes, timings: t } = o;
  const { rowUser } = plan.index;
  const users = await timed(t, 'upsertUsers', () => o.users.finish(tx, rows, plan.index, o.early));
  changes.usersCreated += users.createdCount;
  changes.profilesUpdated += users.createdCount;
  void o.startProcessedWrite();
  if (users.createdCount > 0) {
    const tuples = ratingTuples({ rows, rowUser, users: users.created, userIds: users.ids, order: plan.order });
    changes.ratingsInserted += await timed(t, 'copyRatings', () => copyIntoRatings(tx, tuples));
  }
  if (users.createdCount < plan.index.users.length) {
    const existing = users.created.map((c) => 1 - c);
    const direct = await timed(t, 'copyRatings', () =>
      tx.attempt(
        (sp) =>
          copyIntoRatings(sp, ratingTuples({ rows, rowUser, users: existing, userIds: users.ids, order: plan.order })),
        { rollbackOn: isUniqueViolation },
      ),
    );
    if (direct.ok) changes.ratingsInserted += direct.value;
    else {
      const r = await timed(t, 'upsertRatings', () =>
        upsertRatings(tx, stagedRatingTuples({ rows, rowUser, users: existing })),
      );
      changes.ratingsInserted += r.inserted;
      changes.ratingsUpdated += r.updated;
    }
    changes.profilesUpdated += await timed(t, 'vectors', () => recomputeTouchedProfiles(tx));
  }
}
