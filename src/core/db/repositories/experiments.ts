import type { ExperimentVariant, ImpressionRow, RunningExperiment } from '../../experiments/types.js';
import type { Queryable } from '../types.js';

/**
 * The experiments' tables (migration 081): experiments and their variants, impressions, and the report's
 * attribution of feedback events to the lists served.
 */

interface VariantRow {
  experiment_id: number;
  name: string;
  model_version: string;
  weight: number;
}

async function variantsOf(db: Queryable, ids: readonly number[]): Promise<Map<number, ExperimentVariant[]>> {
  const out = new Map<number, ExperimentVariant[]>();
  if (ids.length === 0) return out;
  const r = await db.query<VariantRow>(
    'SELECT experiment_id, name, model_version, weight FROM experiment_variants WHERE experiment_id = ANY($1::int[]) ORDER BY experiment_id, position',
    [ids],
  );
  for (const v of r.rows) {
    let list = out.get(v.experiment_id);
    if (!list) out.set(v.experiment_id, (list = []));
    list.push({ name: v.name, modelVersion: v.model_version, weight: Number(v.weight) });
  }
  return out;
}

/** Every running experiment with its variants, oldest first. */
export async function runningExperiments(db: Queryable): Promise<RunningExperiment[]> {
  const r = await db.query<{ id: number; name: string; client_id: number | null; started_at: Date; attribution_window_seconds: number }>(
    `SELECT id, name, client_id, started_at, attribution_window_seconds FROM experiments WHERE status = 'running' ORDER BY started_at, id`,
  );
  const variants = await variantsOf(
    db,
    r.rows.map((e) => e.id),
  );
  return r.rows.map((e) => ({
    id: e.id,
    name: e.name,
    clientId: e.client_id,
    variants: variants.get(e.id) ?? [],
    startedAt: new Date(e.started_at),
    attributionWindowSeconds: e.attribution_window_seconds,
  }));
}

/** One multi-row statement (arrays unnested on the server), whatever the number of rows. */
export async function insertImpressions(db: Queryable, rows: readonly ImpressionRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  // A two-dimensional array cannot hold lists of different lengths: each list travels as its text form.
  const r = await db.query(
    `INSERT INTO impressions (recommendation_id, shown_at, client_id, user_id, experiment_id, variant, model_version, movie_ids)
     SELECT rid, at, cid, uid, eid, v, mv, m::int[]
       FROM unnest($1::text[], $2::timestamptz[], $3::int[], $4::bigint[], $5::int[], $6::text[], $7::text[], $8::text[])
         AS t(rid, at, cid, uid, eid, v, mv, m)`,
    [
      rows.map((x) => x.recommendationId),
      rows.map((x) => x.shownAt.toISOString()),
      rows.map((x) => x.clientId),
      rows.map((x) => x.userId),
      rows.map((x) => x.experimentId),
      rows.map((x) => x.variant),
      rows.map((x) => x.modelVersion),
      rows.map((x) => `{${x.movieIds.map((id) => Math.trunc(id)).join(',')}}`),
    ],
  );
  return r.rowCount;
}

/** Retention: deletes impressions shown more than `days` days ago; returns how many. */
export async function deleteImpressionsOlderThan(db: Queryable, days: number): Promise<number> {
  const r = await db.query(`DELETE FROM impressions WHERE shown_at < now() - make_interval(days => $1)`, [days]);
  return r.rowCount;
}
