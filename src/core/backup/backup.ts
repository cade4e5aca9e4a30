import fs from 'node:fs';
import path from 'node:path';
import type { Database } from '../db/types.js';
import { serverVersion } from '../db/repositories/status.js';
import { recordJob } from '../db/repositories/jobs.js';
import { appliedMigrations, listTables, tableSelectSql, useCanonicalOutput } from '../db/repositories/backup.js';
import { RecoError } from '../errors.js';
import { ContainerWriter } from './container.js';
import { ARCHIVE_SUFFIX, SQL_SUFFIX, archiveStamp, fsyncDir, publish, pruneArchives, tempPath } from './files.js';
import { FORMAT, FORMAT_VERSION, recoVersion, type Manifest, type ManifestTable } from './manifest.js';
import { findPgDump, runPgDump } from './pg-dump.js';
import { signManifest } from './signature.js';
import { TableDigest } from './verify.js';

export interface BackupProgress {
  table: string;
  /** Tables finished so far, of `total`. */
  done: number;
  total: number;
}

export interface BackupOptions {
  /** Directory for the archive (created if missing). */
  outDir: string;
  /** Keep only the newest N archives in outDir (the new one included). */
  keep?: number;
  /** Also write a plain pg_dump file (PostgreSQL only; needs pg_dump on PATH and the connection string). */
  sqlDump?: { databaseUrl?: string };
  onProgress?: (p: BackupProgress) => void;
  /** RECO_BACKUP_KEY: sign the manifest with HMAC-SHA-256 under this key. */
  key?: string;
  /** For tests: called inside the snapshot transaction after each table is written. */
  afterTable?: (table: string) => Promise<void>;
}

export interface BackupResult {
  file: string;
  size: number;
  durationMs: number;
  manifest: Manifest;
  signed: boolean;
  pruned: string[];
  sqlDump?: { file?: string; skipped?: string };
}

function ensureDir(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (err: any) {
    throw new RecoError(`cannot write backups to ${dir} (${err?.code ?? err}); pass --out with a writable directory`, {
      cause: err,
    });
  }
}

/**
 * Writes a consistent snapshot of every table to `archive` (a temp path): one repeatable-read, read-only
 * transaction, so concurrent writers never leave the backup between two states. Returns the manifest.
 */
async function writeSnapshot(db: Database, archive: string, options: BackupOptions): Promise<Manifest> {
  const writer = new ContainerWriter(archive);
  try {
    const manifest = await db.transaction(
      async (tx) => {
        await useCanonicalOutput(tx);
        const createdAt = new Date().toISOString();
        const migrations = await appliedMigrations(tx);
        const tables = await listTables(tx);
        await writer.json('H', { format: FORMAT, formatVersion: FORMAT_VERSION });
        const written: ManifestTable[] = [];
        for (const table of tables) {
          const columns = table.columns.map((c) => c.name);
          await writer.json('T', { name: table.name, columns });
          const digest = new TableDigest();
          for await (const chunk of tx.copyTo(tableSelectSql(table))) {
            if (chunk.length === 0) continue;
            digest.update(chunk);
            await writer.record('D', chunk);
          }
          await writer.record('E');
          written.push({ name: table.name, columns, rows: digest.rows, bytes: digest.bytes, sha256: digest.digest() });
          options.onProgress?.({ table: table.name, done: written.length, total: tables.length });
          await options.afterTable?.(table.name);
        }
        const m: Manifest = {
          format: FORMAT,
          formatVersion: FORMAT_VERSION,
          createdAt,
          reco: { version: recoVersion() },
          engine: db.engine,
          serverVersion: await serverVersion(tx),
          schema: { version: migrations.reduce((max, x) => Math.max(max, x.version), 0), migrations },
          tables: written,
        };
        return m;
      },
      { isolation: 'repeatable read', readOnly: true },
    );
    const manifestBytes = Buffer.from(JSON.stringify(manifest));
    await writer.record('M', manifestBytes);
    if (options.key !== undefined) await writer.json('S', signManifest(options.key, manifestBytes));
    await writer.record('Z');
    await writer.finish();
    return manifest;
  } catch (err) {
    await writer.abort();
    throw err;
  }
}

/**
 * `reco backup-db`: snapshot → temp file → fsync → link to its final name → fsync the directory → prune.
 * The run is recorded in job_runs (the snapshot itself shows this run as 'running', as it was at that instant).
 */
export async function createBackup(db: Database, options: BackupOptions): Promise<BackupResult> {
  const outDir = path.resolve(options.outDir);
  return recordJob(
    db,
    'backup',
    async () => {
      // Inside the recorded run: an output directory that cannot be created is a failed backup.
      ensureDir(outDir);
      const started = Date.now();
      const temp = tempPath(outDir);
      let manifest: Manifest;
      try {
        manifest = await writeSnapshot(db, temp, options);
      } catch (err) {
        fs.rmSync(temp, { force: true });
        throw err;
      }
      const base = `reco-backup-${archiveStamp(new Date(manifest.createdAt))}`;
      let file: string;
      try {
        file = publish(temp, outDir, base, ARCHIVE_SUFFIX);
      } catch (err: any) {
        fs.rmSync(temp, { force: true });
        throw new RecoError(`cannot write the backup archive in ${outDir}: ${err?.message ?? err}`, { cause: err });
      }
      const result: BackupResult = {
        file,
        size: fs.statSync(file).size,
        durationMs: 0,
        manifest,
        signed: options.key !== undefined,
        pruned: [],
      };
      if (options.sqlDump) result.sqlDump = await writeSqlDump(db, file, options.sqlDump.databaseUrl);
      if (options.keep !== undefined) result.pruned = pruneArchives(outDir, options.keep, file);
      result.durationMs = Date.now() - started;
      return result;
    },
    (r) => ({
      file: r.file,
      bytes: r.size,
      signed: r.signed,
      tables: r.manifest.tables.length,
      rows: r.manifest.tables.reduce((n, t) => n + t.rows, 0),
      schema_version: r.manifest.schema.version,
      pruned: r.pruned.length,
      duration_ms: r.durationMs,
    }),
  );
}

/** The pg_dump file beside the archive (same name, .sql), written atomically too; or why it was skipped. */
async function writeSqlDump(
  db: Database,
  archive: string,
  databaseUrl?: string,
): Promise<{ file?: string; skipped?: string }> {
  if (db.engine !== 'postgres' || !databaseUrl)
    return {
      skipped:
        'the embedded engine has no pg_dump; the archive is the backup (set DATABASE_URL for a PostgreSQL server)',
    };
  const tool = findPgDump();
  if (!tool) return { skipped: 'pg_dump is not installed (install the PostgreSQL client tools)' };
  const dir = path.dirname(archive);
  const temp = tempPath(dir);
  try {
    // Created 0600 before pg_dump writes into it (it keeps the mode), and set again after: it holds password hashes.
    fs.writeFileSync(temp, '', { flag: 'wx', mode: 0o600 });
    await runPgDump(databaseUrl, temp);
    fs.chmodSync(temp, 0o600);
    const base = path.basename(archive, ARCHIVE_SUFFIX);
    const final = path.join(dir, base + SQL_SUFFIX);
    fs.renameSync(temp, final);
    fsyncDir(dir);
    return { file: final };
  } catch (err: any) {
    fs.rmSync(temp, { force: true });
    throw new RecoError(`the archive ${archive} was written, but ${err?.message ?? err}`, { cause: err });
  }
}

/**
 * Row count and SHA-256 of every table's canonical CSV, exactly as a backup would record them, from one
 * snapshot and without writing anything: compare two databases (e.g. before and after a move between engines).
 */
export async function tableDigests(db: Database): Promise<Record<string, { rows: number; sha256: string }>> {
  return db.transaction(
    async (tx) => {
      await useCanonicalOutput(tx);
      const out: Record<string, { rows: number; sha256: string }> = {};
      for (const table of await listTables(tx)) {
        const digest = new TableDigest();
        for await (const chunk of tx.copyTo(tableSelectSql(table))) digest.update(chunk);
        out[table.name] = { rows: digest.rows, sha256: digest.digest() };
      }
      return out;
    },
    { isolation: 'repeatable read', readOnly: true },
  );
}
