import type { Queryable } from '../types.js';

/** The model registry table (001_init: models). Every statement of the registry lives here. */
export interface ModelRow {
  version: string;
  algorithm: string;
  params: Record<string, unknown>;
  metrics: Record<string, number>;
  data_counts: Record<string, number>;
  timings: Record<string, number>;
  artifact_sha256: string;
  artifact_bytes: number;
  created_at: Date;
  active: boolean;
  activated_at: Date | null;
  note: string | null;
  /** The data its holdout figures come from (migration 053): 'trusted', or null when measured on every rating. */
  holdout: string | null;
}

const COLUMNS = `version, algorithm, params, metrics, data_counts, timings, artifact_sha256, length(artifact)::int AS artifact_bytes,
  created_at, active, activated_at, note, holdout`;

export interface NewModel {
  version: string;
  algorithm: string;
  params: Record<string, unknown>;
  metrics: Record<string, number>;
  dataCounts: Record<string, number>;
  timings: Record<string, number>;
  artifact: Uint8Array;
  artifactSha256: string;
  note?: string;
  holdout?: string;
}

export async function insertModel(db: Queryable, m: NewModel): Promise<void> {
  await db.query(
    `INSERT INTO models (version, algorithm, params, metrics, data_counts, timings, artifact, artifact_sha256, note, holdout)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [
      m.version,
      m.algorithm,
      JSON.stringify(m.params),
      JSON.stringify(m.metrics),
      JSON.stringify(m.dataCounts),
      JSON.stringify(m.timings),
      Buffer.from(m.artifact.buffer, m.artifact.byteOffset, m.artifact.byteLength),
      m.artifactSha256,
      m.note ?? null,
      m.holdout ?? null,
    ],
  );
}

/** Key of the transaction-scoped advisory lock that serialises activation decisions ("rego" in ASCII). */
const REGISTRY_LOCK_KEY = 0x7265676f;

/**
 * Serialises registry changes until the caller's transaction ends, so that two `reco train` finishing together
 * each decide against the model the other activated (without it both read the same active row and the second
 * fails on models_one_active after all its work).
 */
export async function lockRegistry(tx: Queryable): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock($1)', [REGISTRY_LOCK_KEY]);
}

/**
 * Makes `version` the one active model and notifies listeners on `channel`, inside the caller's
 * transaction: the NOTIFY is delivered only if the flip commits. Returns false when there is no such version.
 */
export async function setActiveModel(tx: Queryable, version: string, channel: string): Promise<boolean> {
  const exists = await tx.query('SELECT 1 FROM models WHERE version = $1 FOR UPDATE', [version]);
  if (exists.rows.length === 0) return false;
  await tx.query('UPDATE models SET active = false WHERE active AND version <> $1', [version]);
  await tx.query('UPDATE models SET active = true, activated_at = now() WHERE version = $1', [version]);
  await tx.query('SELECT pg_notify($1, $2)', [channel, version]);
  return true;
}

export async function activeModelRow(db: Queryable): Promise<ModelRow | undefined> {
  const r = await db.query<ModelRow>(`SELECT ${COLUMNS} FROM models WHERE active`);
  return r.rows[0];
}

export async function activeVersionOnly(db: Queryable): Promise<string | undefined> {
  const r = await db.query<{ version: string }>('SELECT version FROM models WHERE active');
  return r.rows[0]?.version;
}

/** Bytes of an artifact read per query (see modelArtifact). */
export const ARTIFACT_CHUNK_BYTES = 8 * 1024 * 1024;

/**
 * A version's artifact, read in slices of `chunkBytes` into one array. Read whole, a bytea arrives as hex text: a
 * 100 MB artifact (rp3beta at 62k movies) took the server from 0.3 to 1.2 GB of RSS at each hot swap (the message,
 * the hex string and the bytes at once); in slices the peak is the artifact and one slice.
 */
export async function modelArtifact(
  db: Queryable,
  version: string,
  chunkBytes = ARTIFACT_CHUNK_BYTES,
): Promise<Uint8Array | undefined> {
  const size = await db.query<{ n: number | null }>(
    'SELECT octet_length(artifact) AS n FROM models WHERE version = $1',
    [version],
  );
  const n = size.rows[0]?.n;
  if (n === undefined || n === null) return undefined;
  const out = new Uint8Array(n);
  for (let at = 0; at < n; at += chunkBytes) {
    const r = await db.query<{ part: Uint8Array }>(
      'SELECT substring(artifact FROM $2 FOR $3) AS part FROM models WHERE version = $1',
      [version, at + 1, chunkBytes],
    );
    const part = r.rows[0]?.part;
    if (!part || part.byteLength !== Math.min(chunkBytes, n - at))
      throw new Error(`model ${version}: its artifact changed while it was read`);
    out.set(part, at);
  }
  return out;
}

export async function findModel(db: Queryable, version: string): Promise<ModelRow | undefined> {
  const r = await db.query<ModelRow>(`SELECT ${COLUMNS} FROM models WHERE version = $1`, [version]);
  return r.rows[0];
}

/** Newest first. */
export async function listModelRows(db: Queryable, limit = 50): Promise<ModelRow[]> {
  const r = await db.query<ModelRow>(`SELECT ${COLUMNS} FROM models ORDER BY created_at DESC, version DESC LIMIT $1`, [
    limit,
  ]);
  return r.rows;
}
