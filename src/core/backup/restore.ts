import type { Database, Queryable } from '../db/types.js';
import { migrate, migrationStatus } from '../db/migrate.js';
import { migrations as knownMigrations } from '../db/migrations/index.js';
import { recordJob } from '../db/repositories/jobs.js';
import { countOrphanRatings } from '../db/repositories/ratings.js';
import { analyzeChangedTables } from '../db/repositories/planner-stats.js';
import { Table } from '../db/tables.js';
import {
  JOB_TABLE,
  appendJobRuns,
  countRows,
  hasRows,
  listTables,
  readJobRuns,
  resetSequences,
  stampLatestJobRun,
  truncateTables,
  useCanonicalOutput,
  type TableInfo,
} from '../db/repositories/backup.js';
import { RecoError, oneLine } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import { EMBEDDED_MAX_RATINGS } from '../pipeline/embedded-limit.js';
import { corrupted, readContainer, type ArchiveRecord } from './container.js';
import type { Manifest, ManifestTable } from './manifest.js';
import type { SignatureStatus } from './signature.js';
import { TableDigest, checkHeader, parseJson, verifyArchive } from './verify.js';

export interface RestoreProgress {
  table: string;
  done: number;
  total: number;
}

export interface RestoreOptions {
  /** Replace the data of a non-empty database (in the same single transaction). */
  force?: boolean;
  onProgress?: (p: RestoreProgress) => void;
  /** Called once the archive is verified, before the database is touched (the command's "verified" note). */
  onVerified?: (manifest: Manifest, signature: SignatureStatus) => void;
  /** RECO_BACKUP_KEY: when given, only archives signed with it are restored. */
  key?: string;
  /** The embedded engine's limit in ratings (default EMBEDDED_MAX_RATINGS; tests set a small one). */
  embeddedRatingLimit?: number;
}

export interface RestoreResult {
  file: string;
  manifest: Manifest;
  tables: { name: string; rows: number }[];
  rows: number;
  sequences: number;
  /** Migrations applied after the data, from the backup's schema version up to this reco's. */
  upgradedTo: number;
  replaced: boolean;
  durationMs: number;
}

/** Thrown before anything changed: not recorded as a failed run. */
class Refusal extends RecoError {}

function checkSchemaVersion(manifest: Manifest): number {
  const known = new Set(knownMigrations.map((m) => m.version));
  const latest = knownMigrations.reduce((max, m) => Math.max(max, m.version), 0);
  const version = manifest.schema.version;
  if (version > latest)
    throw new Refusal(
      `the backup's schema version ${version} is newer than this reco knows (${latest}); restore it with reco ${manifest.reco.version} or newer`,
    );
  const unknown = manifest.schema.migrations.filter((m) => !known.has(m.version));
  if (unknown.length > 0)
    throw new Refusal(
      `the backup was made with migrations this reco does not have (${unknown.map((m) => `${m.version} ${m.name}`).join(', ')}); restore it with reco ${manifest.reco.version}`,
    );
  return version;
}

/** Brings the target to exactly the backup's schema version (never further: the data must fit its tables). */
async function migrateToBackupVersion(db: Database, version: number): Promise<void> {
  const status = await migrationStatus(db);
  if (status.current > version)
    throw new Refusal(
      `the database is at schema version ${status.current}, newer than the backup's ${version}; restore into an empty database (a new DATABASE_URL or RECO_DATA_DIR) and reco migrates it after the data is in`,
    );
  await migrate(
    db,
    knownMigrations.filter((m) => m.version <= version),
  );
}

/**
 * The embedded engine refuses a backup with more ratings than its limit (embedded-limit.ts) before anything
 * changes: past it, training's read of the ratings runs out of memory. The restore replaces all data, so only the
 * backup's own ratings count.
 */
function checkEmbeddedSize(manifest: Manifest, limit: number): void {
  const ratings = manifest.tables.find((t) => t.name === 'ratings')?.rows ?? 0;
  if (ratings <= limit) return;
  throw new Refusal(
    `the backup holds ${ratings.toLocaleString('en-US')} ratings, over the embedded database's limit of ${limit.toLocaleString('en-US')}; set DATABASE_URL to a PostgreSQL database to restore it. Nothing was restored`,
    { exitCode: ExitCode.DATABASE },
  );
}

function checkTablesFit(manifest: Manifest, target: TableInfo[]): void {
  const byName = new Map(target.map((t) => [t.name, t]));
  for (const t of manifest.tables) {
    const have = byName.get(t.name);
    if (!have) throw new Refusal(`the backup holds table ${t.name}, which this database's schema does not have`);
    const cols = new Set(have.columns.map((c) => c.name));
    const missing = t.columns.filter((c) => !cols.has(c));
    if (missing.length > 0)
      throw new Refusal(`table ${t.name} of this database lacks the backup's columns ${missing.join(', ')}`);
  }
}

/** Tables that hold rows; the job log does not make a database "non-empty" (a fresh install logs its runs too). */
async function occupiedTables(q: Queryable, tables: readonly TableInfo[]): Promise<string[]> {
  const occupied: string[] = [];
  for (const t of tables) if (t.name !== JOB_TABLE && (await hasRows(q, t.name))) occupied.push(t.name);
  return occupied;
}

/** The target holds data and `force` was not given: nothing was changed. */
export class NotEmptyError extends Refusal {
  constructor(
    message: string,
    readonly tables: readonly string[],
  ) {
    super(message);
  }
}

function notEmpty(occupied: readonly string[]): Refusal {
  return new NotEmptyError(
    `the database is not empty (${occupied.join(', ')} hold rows); pass --force to replace its data with the backup's`,
    occupied,
  );
}

/** The data records of one table from the archive's record stream, hashed as they pass. */
async function* tableChunks(
  file: string,
  records: AsyncIterator<ArchiveRecord>,
  digest: TableDigest,
): AsyncGenerator<Buffer> {
  for (;;) {
    const next = await records.next();
    if (next.done) throw new RecoError(`the backup archive ${file} ended inside a table`);
    if (next.value.type === 'E') return;
    if (next.value.type !== 'D') throw corrupted(file, `unexpected ${next.value.type} record inside a table`);
    digest.update(next.value.payload);
    yield next.value.payload;
  }
}

/** ratings has no foreign keys (migration 011): a restore, which writes it wholesale, checks its references once. */
async function checkRatingReferences(tx: Queryable): Promise<void> {
  const o = await countOrphanRatings(tx);
  if (o.withoutUser + o.withoutMovie > 0) {
    throw new RecoError(
      `restoring table ratings failed, so nothing was restored: ${o.withoutUser} ratings name a missing user and ${o.withoutMovie} a missing movie (the foreign keys of ratings, kept by its writers)`,
    );
  }
}

/** Loads every table of the archive in order; the bytes are re-hashed so a file changed since verification fails. */
async function loadTables(
  tx: Queryable,
  file: string,
  manifest: Manifest,
  onProgress?: (p: RestoreProgress) => void,
): Promise<void> {
  const records = readContainer(file)[Symbol.asyncIterator]();
  try {
    checkHeader(file, (await records.next()).value);
    for (const [i, expected] of manifest.tables.entries()) {
      const rec = (await records.next()).value as ArchiveRecord | undefined;
      if (!rec || rec.type !== 'T' || parseJson(file, rec, 'table record').name !== expected.name)
        throw new RecoError(`the backup archive ${file} changed after it was verified`);
      const digest = new TableDigest();
      let copied: number;
      try {
        copied = await tx.copyFrom(expected.name, expected.columns, tableChunks(file, records, digest));
      } catch (err: any) {
        if (err instanceof RecoError) throw err;
        throw new RecoError(`restoring table ${expected.name} failed, so nothing was restored: ${oneLine(err)}`, {
          cause: err,
        });
      }
      if (digest.digest() !== expected.sha256)
        throw new RecoError(`the backup archive ${file} changed after it was verified (table ${expected.name})`);
      if (copied !== expected.rows)
        throw new RecoError(
          `restoring ${expected.name} copied ${copied} rows, the backup holds ${expected.rows}; nothing was restored`,
        );
      onProgress?.({ table: expected.name, done: i + 1, total: manifest.tables.length });
    }
  } finally {
    await records.return?.(undefined);
  }
}

async function checkCounts(tx: Queryable, tables: readonly ManifestTable[]): Promise<{ name: string; rows: number }[]> {
  const out: { name: string; rows: number }[] = [];
  for (const t of tables) {
    const n = await countRows(tx, t.name);
    if (n !== t.rows)
      throw new RecoError(`after the restore ${t.name} holds ${n} rows, the backup ${t.rows}; nothing was restored`);
    out.push({ name: t.name, rows: n });
  }
  return out;
}

/**
 * `reco restore-db FILE`: verify the whole archive → migrate the target to the backup's schema version → in one
 * transaction: refuse a non-empty database unless `force`, empty every table, COPY each table in foreign-key
 * order, reset the sequences, check the row counts, record the run → then apply any newer migrations.
 *
 * job_runs is special: the target's own rows are read first and appended (with new ids) after the backup's, and
 * this run's record is written inside the same transaction, so the restore neither loses its own record nor
 * updates a restored row that happens to share its id. A refusal changes nothing and records nothing; a failure
 * inside the transaction rolls everything back and then records a failed run.
 */
export async function restoreBackup(db: Database, file: string, options: RestoreOptions = {}): Promise<RestoreResult> {
  const started = Date.now();
  // Refuse a non-empty target at once, before reading a large archive (checked again inside the transaction).
  if (!options.force) {
    const occupied = await occupiedTables(db, await listTables(db));
    if (occupied.length > 0) throw notEmpty(occupied);
  }
  const { manifest, signature } = await verifyArchive(file, { key: options.key });
  options.onVerified?.(manifest, signature);
  if (db.engine === 'pglite') checkEmbeddedSize(manifest, options.embeddedRatingLimit ?? EMBEDDED_MAX_RATINGS);
  const version = checkSchemaVersion(manifest);
  await migrateToBackupVersion(db, version);

  let touched = false;
  let result: RestoreResult;
  try {
    result = await db.transaction(async (tx) => {
      await useCanonicalOutput(tx);
      const target = await listTables(tx);
      checkTablesFit(manifest, target);
      const occupied = await occupiedTables(tx, target);
      if (occupied.length > 0 && !options.force) throw notEmpty(occupied);
      touched = true;
      const hasJobs = target.some((t) => t.name === JOB_TABLE);
      const ownJobs = hasJobs ? await readJobRuns(tx) : [];
      await truncateTables(
        tx,
        target.map((t) => t.name),
      );
      await loadTables(tx, file, manifest, options.onProgress);
      await checkRatingReferences(tx);
      const sequences = await resetSequences(tx, target);
      const tables = await checkCounts(tx, manifest.tables);
      if (hasJobs) await appendJobRuns(tx, ownJobs);
      const r: RestoreResult = {
        file,
        manifest,
        tables,
        rows: tables.reduce((n, t) => n + t.rows, 0),
        sequences: sequences.length,
        upgradedTo: version,
        replaced: occupied.length > 0,
        durationMs: Date.now() - started,
      };
      if (hasJobs) {
        await recordJob(
          tx,
          'restore',
          async () => r,
          (x) => ({
            file: x.file,
            rows: x.rows,
            tables: x.tables.length,
            schema_version: version,
            replaced: x.replaced,
            duration_ms: x.durationMs,
            backup_created_at: manifest.createdAt,
          }),
        );
        await stampLatestJobRun(tx, 'restore', new Date(started));
      }
      return r;
    });
  } catch (err) {
    if (touched && !(err instanceof Refusal)) await recordJob(db, 'restore', () => Promise.reject(err)).catch(() => {});
    throw err;
  }
  // Newer migrations than the backup's run on the restored data, as they would have on the original.
  const applied = await migrate(db);
  result.upgradedTo = applied.reduce((max, m) => Math.max(max, m.version), version);
  // The restored rows are new to the planner's statistics, as after a bulk ingest (planner-stats.ts).
  const restored = (name: string) => result.tables.find((t) => t.name === name)?.rows ?? 0;
  await analyzeChangedTables(db, {
    movies: restored(Table.movies),
    users: restored(Table.users),
    ratings: restored(Table.ratings),
  });
  result.durationMs = Date.now() - started;
  return result;
}
