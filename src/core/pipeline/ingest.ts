import { performance } from 'node:perf_hooks';
import { catalogueMovieIds, copyIntoMovieStage, createMovieStage, upsertMoviesFromStage } from '../db/repositories/catalogue.js';
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
import { copyIntoRatings, copyIntoRatingStage, createRatingStage, lockRatedMovies, tryCopyIntoRatings, upsertRatingsFromStage } from '../db/repositories/ratings.js';
import { PROFILE_CSV_HEADER, createFileUsers, createTouchedTable, recomputeTouchedProfiles, touchedProfilesCsv } from '../db/repositories/users.js';
import type { Database, Queryable } from '../db/types.js';
import { RecoError, isRecoError, oneLine } from '../errors.js';
import { archiveFile } from './archive.js';
import { FileSink, withoutHeader } from './file-sink.js';
import { profilesPath, stagePaths } from './output-paths.js';
import { processMovies, type FileStageResult } from './process-movies.js';
import { processRatings, writeProcessedRatings } from './process-ratings.js';
import type { RatingColumns } from './rating-columns.js';
import { ratingTuples, stagedRatingTuples } from '../db/copy-binary.js';
import { EarlyUsers } from './early-users.js';
import { distinctMovies, fileProfiles, type FileUserIndex } from './rating-load.js';
import { addReasonCounts, emptyReasonCounts } from './reasons.js';
import { discoverBatches, type Batch, type SourceFile } from './sources.js';
import type { DatabaseChanges, FileSummary, IngestOptions, IngestSummary, StageTimings } from './types.js';
import { ExitCode } from '../exit-codes.js';

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

const noChanges = (): DatabaseChanges => ({ moviesInserted: 0, moviesUpdated: 0, usersCreated: 0, ratingsInserted: 0, ratingsUpdated: 0, profilesUpdated: 0 });

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
        summary.changed = d.moviesInserted + d.moviesUpdated + d.usersCreated + d.ratingsInserted + d.ratingsUpdated > 0;
        summary.durationMs = Math.round(performance.now() - started);
        for (const k of Object.keys(summary.timingsMs) as (keyof StageTimings)[]) summary.timingsMs[k] = Math.round(summary.timingsMs[k]);
        await finishIngestRun(db, runId, 'succeeded', totals());
        options.onProgress?.({ stage: 'done', batch: '', bytesDone: ctx.bytesTotal, bytesTotal: ctx.bytesTotal });
        return summary;
      } catch (err) {
        await finishIngestRun(db, runId, 'failed', totals(), oneLine(err).slice(0, 2000)).catch(() => {});
        throw err;
      }
    },
    (s) => ({ run_id: s.runId, files_loaded: s.filesLoaded, files_skipped: s.filesSkipped, read: s.read, accepted: s.accepted, rejected: s.rejected }),
  );
}

/** A file of the batch not loaded before; `rows`: the accepted ratings, once processed. */
interface PendingFile {
  file: SourceFile;
  summary: FileSummary;
  paths: ReturnType<typeof stagePaths>;
  started: number;
  rows?: RatingColumns;
  /** The rows' users and load order (from the processed stage). */
  index?: FileUserIndex;
  order?: Int32Array;
  /** Writes the processed ratings file (once; later calls return the same promise). */
  writeProcessed?: () => Promise<void>;
  /** Settles when stage 2 (processed) of this file is done; rejects when it failed (or a file before it did). */
  processed?: Promise<void>;
  /** Ratings: the users step, started during the parse once the load transaction admits it. */
  early?: EarlyUsers;
}

/** `fn` called at most once; every call returns the first call's promise, marked handled (callers await it). */
function once(fn: () => Promise<void>): () => Promise<void> {
  let p: Promise<void> | undefined;
  return () => {
    if (!p) {
      p = fn();
      p.catch(() => {});
    }
    return p;
  };
}

async function ingestBatch(ctx: RunContext, batch: Batch): Promise<{ files: FileSummary[]; changes: DatabaseChanges }> {
  const { db, options } = ctx;
  const label = batch.day ?? batch.segment;
  const progress = (stage: 'archive' | 'process' | 'load', kind?: SourceFile['kind']) =>
    options.onProgress?.({ stage, batch: label, kind, bytesDone: ctx.bytesDone, bytesTotal: ctx.bytesTotal });

  // Stage 1 (raw) for every file, then the ledger decides which files are new.
  const pending: PendingFile[] = [];
  const files: FileSummary[] = [];
  for (const file of batch.files) {
    const t0 = performance.now();
    progress('archive', file.kind);
    const paths = stagePaths(options.dataDir, batch, file.kind);
    const { sha256 } = await timed(ctx.timings, 'archive', () => archiveFile(file.path, paths.raw));
    const clientId = ledgerClient(file.kind, ctx.clientId);
    const loaded = await findLoadedFile(db, file.kind, sha256, clientId);
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
    } else pending.push({ file, summary, paths, started: t0 });
  }
  if (pending.length === 0) return { files, changes: noChanges() };

  // Stage 2 (processed): movies first, so that the day's new movies count as known for its ratings.
  // The processed ratings file is written while the database copies the rows (the load reads the columns,
  // not the file), when Node would otherwise wait; it is complete before the commit, and written on every path.
  try {
    return await processAndLoad(ctx, batch, pending, files);
  } finally {
    for (const p of pending) p.early?.attach(undefined); // no-op once attached; else its queued work ends
    await Promise.allSettled(pending.map((p) => p.processed));
    await Promise.allSettled(pending.map((p) => p.early?.settle()));
    await Promise.allSettled(pending.map((p) => p.writeProcessed?.()));
  }
}

async function processAndLoad(
  ctx: RunContext,
  batch: Batch,
  pending: PendingFile[],
  files: FileSummary[],
): Promise<{ files: FileSummary[]; changes: DatabaseChanges }> {
  const { db, options } = ctx;
  const label = batch.day ?? batch.segment;
  const onBytes = (kind: SourceFile['kind']) => (n: number) => {
    ctx.bytesDone += n;
    options.onProgress?.({ stage: 'process', batch: label, kind, bytesDone: ctx.bytesDone, bytesTotal: ctx.bytesTotal });
  };
  const dayMovies = new Set<number>();
  const processFile = async (p: PendingFile) => {
    let result: FileStageResult;
    if (p.file.kind === 'movies') {
      const r = await timed(ctx.timings, 'process', () => processMovies(p.file.path, p.paths, onBytes('movies')));
      for (const id of r.movieIds) dayMovies.add(id);
      result = r;
    } else {
      const knownMovie = movieLookup(ctx.catalogue, dayMovies);
      const early = p.early;
      const r = await timed(ctx.timings, 'process', () =>
        processRatings(p.file.path, p.paths, { knownMovie, now: ctx.now }, onBytes('ratings'), { writeProcessed: false, onRows: early && ((rows, from) => early.onRows(rows, from)) }),
      );
      p.rows = r.rows;
      p.index = r.index;
      p.order = r.order;
      result = r;
      p.writeProcessed = once(() => timed(ctx.timings, 'writeProcessed', () => writeProcessedRatings(r.rows, p.paths.processed)));
    }
    Object.assign(p.summary, {
      read: result.read,
      accepted: result.accepted,
      rejected: result.rejected,
      byReason: result.byReason,
      processedPath: result.processedPath,
      rejectedPath: result.rejectedPath,
    });
    if (options.strict && result.rejected > 0) {
      throw new RecoError(`--strict: ${result.rejected} of ${result.read} rows of ${p.file.path} rejected (see ${result.rejectedPath}); nothing of ${label} was loaded`, { exitCode: ExitCode.REJECTED_ROWS });
    }
  };
  // The files are processed one after the other (each settles `processed`) while the load transaction below
  // starts: PostgreSQL takes the lock, checks the ledger and loads the movies while Node still parses the
  // ratings, instead of idling until the whole day is processed. A file that fails (unreadable, --strict)
  // fails the transaction, which then leaves nothing of the day, as before.
  let previous: Promise<void> = Promise.resolve();
  for (const p of pending) {
    if (p.file.kind === 'ratings') p.early = new EarlyUsers(ctx.clientId);
    const before = previous;
    p.processed = before.then(() => processFile(p));
    p.processed.catch(() => {}); // awaited by the load (and by ingestBatch)
    previous = p.processed;
  }
  previous.then(
    () => options.onProgress?.({ stage: 'load', batch: label, bytesDone: ctx.bytesDone, bytesTotal: ctx.bytesTotal }),
    () => {},
  );

  // Stage 3 (load): the whole batch in one transaction, so a crash leaves all of it or nothing.
  const changes = noChanges();
  const t = ctx.timings;
  let commitStarted = 0;
  try {
    await db.transaction(async (tx) => {
      await lockIngest(tx);
      for (const p of pending) {
        // Another process may have loaded the same file while this one was validating it.
        const loaded = await findLoadedFile(tx, p.file.kind, p.summary.sha256, ledgerClient(p.file.kind, ctx.clientId));
        if (p.early) {
          // From here on the users of the ratings still being parsed may be created (early-users.ts).
          if (!loaded) await createTouchedTable(tx);
          p.early.attach(loaded ? undefined : tx);
        }
        await p.processed;
        const t0 = performance.now();
        if (loaded) {
          Object.assign(p.summary, { status: 'skipped', loadedByRun: loaded.run_id, read: 0, accepted: 0, rejected: 0, byReason: emptyReasonCounts() });
          continue;
        }
        if (p.file.kind === 'movies') await loadMovies(tx, p.paths.processed, changes, t);
        else await loadRatings(tx, ctx.clientId, p.rows!, p.index!, p.order!, p.early!, p.writeProcessed!, profilesPath(options.dataDir, batch), changes, t);
        await options.beforeCommit?.();
        const s = p.summary;
        s.durationMs = Math.round(performance.now() - p.started);
        await recordIngestedFile(tx, {
          runId: ctx.runId,
          day: batch.day,
          kind: s.kind,
          path: s.source,
          sha256: s.sha256,
          clientId: ledgerClient(s.kind, ctx.clientId),
          rowsRead: s.read,
          rowsAccepted: s.accepted,
          rowsRejected: s.rejected,
          durationMs: performance.now() - t0 + s.durationMs,
        });
      }
      await Promise.all(pending.map((p) => p.writeProcessed?.()));
      commitStarted = performance.now();
    });
    t.commit += performance.now() - commitStarted;
  } catch (err) {
    if (isRecoError(err)) throw err;
    throw new RecoError(`loading ${label} into the database failed, nothing of it was kept: ${oneLine(err)}`, { exitCode: ExitCode.DATABASE, cause: err });
  }
  for (const id of dayMovies) ctx.catalogue.add(id);
  return { files, changes };
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

/**
 * The ratings of one file, from the typed columns of the processed stage. The file's movies are checked and
 * locked (FOR KEY SHARE), and users the client does not have yet are created with their vectors computed
 * here — most of them already while the file was parsed (early-users.ts) — : their ratings are new pairs that
 * no other session can write, so they go into `ratings` by a plain COPY. The ratings of users that existed
 * before go by COPY under a savepoint, else through the staging table and the set-based upsert (re-delivery),
 * and those users' vectors are recomputed from all of their ratings.
 */
async function loadRatings(
  tx: Queryable,
  clientId: number,
  rows: RatingColumns,
  index: FileUserIndex,
  order: Int32Array,
  early: EarlyUsers,
  writeProcessed: () => Promise<void>,
  profilesFile: string,
  changes: DatabaseChanges,
  t: StageTimings,
): Promise<void> {
  const created = await timed(t, 'upsertUsers', async () => {
    const done = await early.finish(tx, rows, index);
    if (done) return done;
    const { vectors, counts } = fileProfiles(rows, index, await lockRatedMovies(tx, distinctMovies(rows)));
    return createFileUsers(tx, clientId, index.users, vectors, counts);
  });
  changes.usersCreated += created.createdCount;
  changes.profilesUpdated += created.createdCount;
  // The processed file is written while PostgreSQL works through the COPY (Node mostly waits for it there).
  if (created.createdCount > 0) {
    writeProcessed();
    changes.ratingsInserted += await timed(t, 'copyRatings', () => copyIntoRatings(tx, ratingTuples(rows, index.rowUser, created.ids, order, created.created, 1)));
  }
  if (created.createdCount < index.users.length) {
    writeProcessed();
    // Users that existed: first the bet that their pairs are all new (plain COPY), else the staged upsert.
    const copied = await timed(t, 'copyRatings', () => tryCopyIntoRatings(tx, ratingTuples(rows, index.rowUser, created.ids, order, created.created, 0)));
    if (copied !== undefined) changes.ratingsInserted += copied;
    else {
      await createRatingStage(tx);
      await timed(t, 'copyRatings', () => copyIntoRatingStage(tx, stagedRatingTuples(rows, index.rowUser, created.created, 0), true));
      const r = await timed(t, 'upsertRatings', () => upsertRatingsFromStage(tx));
      changes.ratingsInserted += r.inserted;
      changes.ratingsUpdated += r.updated;
    }
    changes.profilesUpdated += await timed(t, 'vectors', () => recomputeTouchedProfiles(tx));
  }
  // The processed folder also gets the touched users' vectors, as the seed's extract-feature step left them.
  await timed(t, 'writeVectors', async () => {
    const sink = await FileSink.open(profilesFile);
    await sink.write(`${PROFILE_CSV_HEADER.join(',')}\n`);
    for await (const chunk of touchedProfilesCsv(tx)) await sink.write(Buffer.from(chunk).toString('utf8'));
    await sink.close();
  });
}
