import { createHash } from 'node:crypto';
import { RecoError } from '../errors.js';
import { migrations as allMigrations, type Migration } from './migrations/index.js';
import type { Database, Queryable } from './types.js';
import { ExitCode } from '../exit-codes.js';
import { Table } from './tables.js';

/** Key of the advisory lock that serialises migrations across processes ("reco" in ASCII). */
const MIGRATION_LOCK_KEY = 0x7265636f;

export interface AppliedMigration {
  version: number;
  name: string;
  checksum: string;
  applied_at: Date;
}

export interface MigrationStatus {
  applied: AppliedMigration[];
  pending: Migration[];
  /** Highest version known to this build. */
  latest: number;
  /** Highest version recorded in the database. */
  current: number;
  /** Applied migrations whose file in this build no longer matches the recorded checksum. */
  changed: AppliedMigration[];
}

export function checksumOf(m: Migration): string {
  return createHash('sha256').update(m.sql).digest('hex');
}

const CREATE_LEDGER = `CREATE TABLE IF NOT EXISTS ${Table.schemaMigrations} (
  version    integer PRIMARY KEY,
  name       text NOT NULL,
  checksum   text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`;

async function ledgerExists(q: Queryable): Promise<boolean> {
  const r = await q.query<{ exists: boolean }>(`SELECT to_regclass('${Table.schemaMigrations}') IS NOT NULL AS exists`);
  return r.rows[0].exists;
}

async function readApplied(q: Queryable): Promise<AppliedMigration[]> {
  if (!(await ledgerExists(q))) return [];
  const r = await q.query<AppliedMigration>(
    `SELECT version, name, checksum, applied_at FROM ${Table.schemaMigrations} ORDER BY version`,
  );
  return r.rows;
}

export async function migrationStatus(
  db: Queryable,
  known: readonly Migration[] = allMigrations,
): Promise<MigrationStatus> {
  const applied = await readApplied(db);
  const done = new Set(applied.map((a) => a.version));
  const latest = known.reduce((max, m) => Math.max(max, m.version), 0);
  const current = applied.reduce((max, a) => Math.max(max, a.version), 0);
  const byVersion = new Map(known.map((m) => [m.version, m]));
  const changed = applied.filter((a) => {
    const m = byVersion.get(a.version);
    return m !== undefined && checksumOf(m) !== a.checksum;
  });
  return { applied, pending: known.filter((m) => !done.has(m.version)), latest, current, changed };
}

/**
 * A migration that ran is history: its file must not change afterwards, or databases migrated before and
 * after the change would hold different schemas under the same version (migrationStatus compares every
 * applied migration's recorded checksum with the file this build carries).
 */
function assertUnchanged(status: MigrationStatus): void {
  if (status.changed.length === 0) return;
  const list = status.changed.map((a) => `${a.version} (${a.name})`).join(', ');
  throw new RecoError(
    `migration ${list} changed after it was applied to this database (its checksum differs from the one recorded in schema_migrations); restore the migration file as it was and add the change as a new migration`,
    { exitCode: ExitCode.SCHEMA_MISMATCH },
  );
}

function assertNotNewer(status: MigrationStatus): void {
  if (status.current > status.latest) {
    throw new RecoError(
      `the database schema is at version ${status.current}, newer than this reco knows (${status.latest}); upgrade reco or point it at another database`,
      { exitCode: ExitCode.SCHEMA_MISMATCH },
    );
  }
}

/**
 * Applies every pending migration, each in its own transaction under a transaction-scoped advisory lock, so
 * two processes starting at once apply each migration exactly once and a failure leaves nothing half-done.
 * Returns the versions this call applied.
 */
export async function migrate(db: Database, known: readonly Migration[] = allMigrations): Promise<Migration[]> {
  const before = await migrationStatus(db, known);
  assertNotNewer(before);
  assertUnchanged(before);
  // Up to date: nothing to lock or create, so a role without DDL rights (the API's in Kubernetes) opens it too.
  if (before.pending.length === 0) return [];
  const appliedNow: Migration[] = [];
  for (const m of [...known].sort((a, b) => a.version - b.version)) {
    const applied = await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
      await tx.query(CREATE_LEDGER);
      const status = await migrationStatus(tx, known);
      assertNotNewer(status);
      assertUnchanged(status);
      if (!status.pending.some((p) => p.version === m.version)) return false;
      try {
        await tx.exec(m.sql);
      } catch (err: any) {
        throw new RecoError(`migration ${m.version} (${m.name}) failed and was rolled back: ${err?.message ?? err}`, {
          cause: err,
        });
      }
      await tx.query(`INSERT INTO ${Table.schemaMigrations} (version, name, checksum) VALUES ($1, $2, $3)`, [
        m.version,
        m.name,
        checksumOf(m),
      ]);
      return true;
    });
    if (applied) appliedNow.push(m);
  }
  return appliedNow;
}
