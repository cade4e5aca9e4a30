import { assertIdentifier, type Queryable, type Row } from '../types.js';
import { Table } from '../tables.js';

/**
 * The SQL of backup and restore. Tables are discovered from the catalog at run time (other areas add tables in
 * their own migrations), so identifiers come from the catalog, never from input, and are still checked with
 * assertIdentifier before they reach a statement.
 */

/** The migration ledger is the schema version, restored by migrating, never copied. */
export const LEDGER_TABLE = Table.schemaMigrations;
/** The job log: the target's own rows are kept on restore (see docs/backup.md). */
export const JOB_TABLE = Table.jobRuns;

export interface TableColumn {
  name: string;
  dataType: string;
}

export interface TableInfo {
  name: string;
  /** Columns that COPY can write (generated columns excluded), in table order. */
  columns: TableColumn[];
  primaryKey: string[];
  /** Tables this one references by foreign key (itself excluded). */
  references: string[];
}

/**
 * Output settings that make COPY's CSV the same bytes on every engine and server, so that per-table checksums
 * compare across PGlite and PostgreSQL. SET LOCAL: they end with the transaction.
 */
export async function useCanonicalOutput(tx: Queryable): Promise<void> {
  await tx.exec(
    `SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, MDY'; SET LOCAL IntervalStyle = 'postgres'; SET LOCAL extra_float_digits = 1; SET LOCAL bytea_output = 'hex'`,
  );
}

/** References kept by the writers instead of a foreign key (migration 011): ordered as if they were one. */
const WRITER_KEPT_REFERENCES = [
  { child: Table.ratings, parent: Table.users },
  { child: Table.ratings, parent: Table.movies },
];

/** Every base table of the current schema but the ledger, parents before children (foreign-key order). */
export async function listTables(q: Queryable): Promise<TableInfo[]> {
  const tables = await q.query<{ name: string }>(
    `SELECT table_name AS name FROM information_schema.tables
      WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> $1
      ORDER BY table_name`,
    [LEDGER_TABLE],
  );
  const names = tables.rows.map((t) => t.name);
  const byName = new Map<string, TableInfo>(
    names.map((n) => [n, { name: n, columns: [], primaryKey: [], references: [] }]),
  );

  const columns = await q.query<{ table_name: string; column_name: string; data_type: string }>(
    `SELECT table_name, column_name, data_type FROM information_schema.columns
      WHERE table_schema = current_schema() AND is_generated = 'NEVER'
      ORDER BY table_name, ordinal_position`,
  );
  for (const c of columns.rows) byName.get(c.table_name)?.columns.push({ name: c.column_name, dataType: c.data_type });

  const keys = await q.query<{ table_name: string; column_name: string }>(
    `SELECT tc.table_name, kcu.column_name
       FROM information_schema.table_constraints tc
       JOIN information_schema.key_column_usage kcu
         ON kcu.constraint_name = tc.constraint_name AND kcu.table_schema = tc.table_schema AND kcu.table_name = tc.table_name
      WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema = current_schema()
      ORDER BY tc.table_name, kcu.ordinal_position`,
  );
  for (const k of keys.rows) byName.get(k.table_name)?.primaryKey.push(k.column_name);

  const fks = await q.query<{ child: string; parent: string }>(
    `SELECT DISTINCT child.relname AS child, parent.relname AS parent
       FROM pg_constraint co
       JOIN pg_class child ON child.oid = co.conrelid
       JOIN pg_class parent ON parent.oid = co.confrelid
       JOIN pg_namespace n ON n.oid = child.relnamespace
      WHERE co.contype = 'f' AND n.nspname = current_schema()`,
  );
  for (const fk of [...fks.rows, ...WRITER_KEPT_REFERENCES]) {
    const t = byName.get(fk.child);
    if (t && fk.parent !== fk.child && byName.has(fk.parent) && !t.references.includes(fk.parent))
      t.references.push(fk.parent);
  }
  return foreignKeyOrder([...byName.values()]);
}

/** Topological order (parents first), alphabetical among equals so the order is stable; a cycle keeps the rest alphabetical. */
export function foreignKeyOrder(tables: TableInfo[]): TableInfo[] {
  const pending = new Map(tables.map((t) => [t.name, t]));
  const done = new Set<string>();
  const ordered: TableInfo[] = [];
  while (pending.size > 0) {
    const ready = [...pending.values()].filter((t) => t.references.every((r) => done.has(r) || !pending.has(r)));
    const next = ready.length > 0 ? ready : [...pending.values()];
    next.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const pick = next[0];
    ordered.push(pick);
    done.add(pick.name);
    pending.delete(pick.name);
  }
  return ordered;
}

const NATIVE_ORDER = /^(smallint|integer|bigint|numeric|real|double precision|boolean|date|timestamp.*|time.*|uuid)$/;

/** ORDER BY the primary key (or every column): the same rows in the same order on every engine; text in byte order. */
function orderBy(table: TableInfo): string {
  const keyed =
    table.primaryKey.length > 0
      ? table.primaryKey
          .map((k) => table.columns.find((c) => c.name === k))
          .filter((c): c is TableColumn => c !== undefined)
      : table.columns;
  return keyed
    .map((c) =>
      NATIVE_ORDER.test(c.dataType) ? assertIdentifier(c.name) : `(${assertIdentifier(c.name)}::text) COLLATE "C"`,
    )
    .join(', ');
}

/** The SELECT whose COPY output is a table's backup bytes. */
export function tableSelectSql(table: TableInfo): string {
  const cols = table.columns.map((c) => assertIdentifier(c.name)).join(', ');
  const order = orderBy(table);
  return `SELECT ${cols} FROM ${assertIdentifier(table.name)}${order ? ` ORDER BY ${order}` : ''}`;
}

export async function countRows(q: Queryable, table: string): Promise<number> {
  const r = await q.query<{ n: number }>(`SELECT count(*)::bigint AS n FROM ${assertIdentifier(table)}`);
  return Number(r.rows[0].n);
}

export async function hasRows(q: Queryable, table: string): Promise<boolean> {
  const r = await q.query<{ x: boolean }>(`SELECT EXISTS (SELECT 1 FROM ${assertIdentifier(table)}) AS x`);
  return r.rows[0].x;
}

/** Empties the tables in one statement (foreign keys between them are no obstacle); transactional. */
export async function truncateTables(q: Queryable, tables: readonly string[]): Promise<void> {
  if (tables.length === 0) return;
  await q.query(`TRUNCATE ${tables.map(assertIdentifier).join(', ')}`);
}

/** The applied migrations, as the manifest records them. */
export async function appliedMigrations(q: Queryable): Promise<{ version: number; name: string; checksum: string }[]> {
  const exists = await q.query<{ ok: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS ok`, [LEDGER_TABLE]);
  if (!exists.rows[0].ok) return [];
  const r = await q.query<{ version: number; name: string; checksum: string }>(
    `SELECT version, name, checksum FROM ${LEDGER_TABLE} ORDER BY version`,
  );
  return r.rows;
}

/**
 * Sets every serial/identity sequence of the tables past the highest id restored, so the next insert gets a new
 * id (an empty table starts again at 1). Returns the sequences it set.
 */
export async function resetSequences(
  q: Queryable,
  tables: readonly TableInfo[],
): Promise<{ table: string; column: string; sequence: string; value: number | null }[]> {
  const out: { table: string; column: string; sequence: string; value: number | null }[] = [];
  for (const t of tables) {
    for (const c of t.columns) {
      const seq = await q.query<{ seq: string | null }>(`SELECT pg_get_serial_sequence($1, $2) AS seq`, [
        assertIdentifier(t.name),
        assertIdentifier(c.name),
      ]);
      const sequence = seq.rows[0]?.seq;
      if (!sequence) continue;
      const col = assertIdentifier(c.name);
      const r = await q.query<{ max: number | null }>(
        `SELECT max(${col})::bigint AS max, setval($1::regclass, coalesce(max(${col})::bigint, 1), max(${col}) IS NOT NULL) FROM ${assertIdentifier(t.name)}`,
        [sequence],
      );
      out.push({
        table: t.name,
        column: c.name,
        sequence,
        value: r.rows[0].max === null ? null : Number(r.rows[0].max),
      });
    }
  }
  return out;
}

/** The job log rows of the target, to put back after the restore (without their ids, which the backup reuses). */
export async function readJobRuns(q: Queryable): Promise<Row[]> {
  const r = await q.query(`SELECT job, started_at, finished_at, status, details, error FROM job_runs ORDER BY id`);
  return r.rows;
}

export async function appendJobRuns(q: Queryable, rows: readonly Row[]): Promise<void> {
  for (const j of rows) {
    await q.query(
      `INSERT INTO job_runs (job, started_at, finished_at, status, details, error) VALUES ($1, $2, $3, $4, $5, $6)`,
      [j.job, j.started_at, j.finished_at, j.status, JSON.stringify(j.details ?? {}), j.error],
    );
  }
}

/**
 * Inside one transaction now() is the transaction's start, so a run recorded there would show no duration: give
 * the newest run of `job` its real start and the current clock as its end.
 */
export async function stampLatestJobRun(q: Queryable, job: string, startedAt: Date): Promise<void> {
  await q.query(
    `UPDATE job_runs SET started_at = $2, finished_at = clock_timestamp() WHERE id = (SELECT max(id) FROM job_runs WHERE job = $1)`,
    [job, startedAt],
  );
}
