import {
  EXPERIMENTS_CHANNEL,
  type ExperimentVariant,
  type ImpressionRow,
  type RunningExperiment,
} from '../../experiments/types.js';
import { prepared, type Database, type Queryable } from '../types.js';

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
  const r = await db.query<{
    id: number;
    name: string;
    client_id: number | null;
    started_at: Date;
    attribution_window_seconds: number;
  }>(
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

/** Separates the values of one column in insertImpressions' parameters (never in an id, a variant or a version). */
const UNIT = '\u001f';

/** Prepared: a running experiment writes a batch of impressions every few milliseconds under load. */
const INSERT_IMPRESSIONS = prepared(
  `INSERT INTO impressions (recommendation_id, shown_at, client_id, user_id, experiment_id, variant, model_version, movie_ids)
     SELECT rid, to_timestamp(at::double precision / 1000), cid::int, uid::bigint, nullif(eid, '')::int, nullif(v, ''), mv,
            coalesce(string_to_array(nullif(m, ''), ' ')::int[], '{}')
       FROM unnest(string_to_array($1, $9), string_to_array($2, $9), string_to_array($3, $9), string_to_array($4, $9),
                   string_to_array($5, $9), string_to_array($6, $9), string_to_array($7, $9), string_to_array($8, $9))
         AS t(rid, at, cid, uid, eid, v, mv, m)`,
);

/**
 * One multi-row statement whatever the number of rows: each column travels as one text of its values joined by
 * UNIT (a list's movie ids by spaces) and is split on the server. A text[] parameter per column cost the server
 * process four times as much CPU per row (node-postgres quotes and escapes every element), on the hot route's
 * core. A value containing UNIT would misalign the columns, which NOT NULL turns into a failed batch, not bad rows.
 */
export async function insertImpressions(db: Queryable, rows: readonly ImpressionRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  const n = rows.length;
  const rid = new Array<string>(n);
  const at = new Array<number>(n);
  const cid = new Array<number>(n);
  const uid = new Array<number>(n);
  const eid = new Array<number | string>(n);
  const variant = new Array<string>(n);
  const version = new Array<string>(n);
  const movies = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const x = rows[i];
    rid[i] = x.recommendationId;
    at[i] = x.shownAt.getTime();
    cid[i] = x.clientId;
    uid[i] = x.userId;
    eid[i] = x.experimentId ?? '';
    variant[i] = x.variant ?? '';
    version[i] = x.modelVersion;
    movies[i] = x.movieIds.join(' ');
  }
  const r = await db.query(INSERT_IMPRESSIONS, [
    rid.join(UNIT),
    at.join(UNIT),
    cid.join(UNIT),
    uid.join(UNIT),
    eid.join(UNIT),
    variant.join(UNIT),
    version.join(UNIT),
    movies.join(UNIT),
    UNIT,
  ]);
  return r.rowCount;
}

/** Retention: deletes impressions shown more than `days` days ago; returns how many. */
export async function deleteImpressionsOlderThan(db: Queryable, days: number): Promise<number> {
  const r = await db.query(`DELETE FROM impressions WHERE shown_at < now() - make_interval(days => $1)`, [days]);
  return r.rowCount;
}

export interface ExperimentRecord {
  id: number;
  name: string;
  clientId: number | null;
  /** The client's username; null for an every-client experiment. */
  clientUsername: string | null;
  status: 'running' | 'stopped';
  allocation: string;
  attributionWindowSeconds: number;
  startedAt: Date;
  stoppedAt: Date | null;
  promotedVariant: string | null;
  variants: ExperimentVariant[];
  /** Lists served inside the experiment so far (impressions rows). */
  lists: number;
}

interface ExperimentDbRow {
  id: number;
  name: string;
  client_id: number | null;
  client_username: string | null;
  status: 'running' | 'stopped';
  allocation: string;
  attribution_window_seconds: number;
  started_at: Date;
  stopped_at: Date | null;
  promoted_variant: string | null;
  lists: number;
}

const EXPERIMENT_SELECT = `
  SELECT e.id, e.name, e.client_id, c.username AS client_username, e.status, e.allocation, e.attribution_window_seconds,
         e.started_at, e.stopped_at, e.promoted_variant,
         (SELECT count(*) FROM impressions i WHERE i.experiment_id = e.id)::float8 AS lists
    FROM experiments e LEFT JOIN clients c ON c.id = e.client_id`;

async function withVariants(db: Queryable, rows: ExperimentDbRow[]): Promise<ExperimentRecord[]> {
  const variants = await variantsOf(
    db,
    rows.map((e) => e.id),
  );
  return rows.map((e) => ({
    id: e.id,
    name: e.name,
    clientId: e.client_id,
    clientUsername: e.client_username,
    status: e.status,
    allocation: e.allocation,
    attributionWindowSeconds: e.attribution_window_seconds,
    startedAt: new Date(e.started_at),
    stoppedAt: e.stopped_at ? new Date(e.stopped_at) : null,
    promotedVariant: e.promoted_variant,
    variants: variants.get(e.id) ?? [],
    lists: Number(e.lists),
  }));
}

/** Newest first. */
export async function listExperimentRecords(db: Queryable, limit = 100): Promise<ExperimentRecord[]> {
  const r = await db.query<ExperimentDbRow>(`${EXPERIMENT_SELECT} ORDER BY e.started_at DESC, e.id DESC LIMIT $1`, [
    limit,
  ]);
  return withVariants(db, r.rows);
}

export async function findExperiment(db: Queryable, name: string): Promise<ExperimentRecord | undefined> {
  const r = await db.query<ExperimentDbRow>(`${EXPERIMENT_SELECT} WHERE e.name = $1`, [name]);
  return (await withVariants(db, r.rows))[0];
}

/** Key of the transaction-scoped advisory lock that serialises experiment starts and stops ("expe" in ASCII). */
const EXPERIMENTS_LOCK_KEY = 0x65787065;

export async function lockExperiments(tx: Queryable): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock($1)', [EXPERIMENTS_LOCK_KEY]);
}

/** Running experiments that share users with one for `clientId` (null: every client). */
export async function overlappingRunning(
  tx: Queryable,
  clientId: number | null,
): Promise<{ name: string; clientUsername: string | null }[]> {
  const r = await tx.query<{ name: string; client_username: string | null }>(
    `SELECT e.name, c.username AS client_username FROM experiments e LEFT JOIN clients c ON c.id = e.client_id
      WHERE e.status = 'running' AND (e.client_id IS NULL OR $1::int IS NULL OR e.client_id = $1::int) ORDER BY e.started_at`,
    [clientId],
  );
  return r.rows.map((x) => ({ name: x.name, clientUsername: x.client_username }));
}

/** Of these model versions, those the registry does not have. */
export async function unknownModelVersions(tx: Queryable, versions: readonly string[]): Promise<string[]> {
  const r = await tx.query<{ v: string }>(
    'SELECT v FROM unnest($1::text[]) AS v WHERE NOT EXISTS (SELECT 1 FROM models m WHERE m.version = v) ORDER BY v',
    [[...new Set(versions)]],
  );
  return r.rows.map((x) => x.v);
}

export interface NewExperiment {
  name: string;
  clientId: number | null;
  attributionWindowSeconds: number;
  variants: ExperimentVariant[];
}

/** Inserts the experiment (running) and its variants, and notifies the servers when the transaction commits. */
export async function insertExperiment(tx: Queryable, e: NewExperiment): Promise<number> {
  const r = await tx.query<{ id: number }>(
    `INSERT INTO experiments (name, client_id, attribution_window_seconds) VALUES ($1, $2, $3) RETURNING id`,
    [e.name, e.clientId, e.attributionWindowSeconds],
  );
  const id = r.rows[0].id;
  await tx.query(
    `INSERT INTO experiment_variants (experiment_id, name, model_version, weight, position)
     SELECT $1, n, v, w, p::smallint - 1 FROM unnest($2::text[], $3::text[], $4::float8[]) WITH ORDINALITY AS t(n, v, w, p)`,
    [id, e.variants.map((v) => v.name), e.variants.map((v) => v.modelVersion), e.variants.map((v) => v.weight)],
  );
  await notifyExperimentsChanged(tx, e.name);
  return id;
}

/** Marks a running experiment stopped (and, with `promotedVariant`, which variant was promoted); notifies on commit. */
export async function markStopped(tx: Queryable, id: number, promotedVariant: string | null): Promise<void> {
  await tx.query(
    `UPDATE experiments SET status = 'stopped', stopped_at = coalesce(stopped_at, now()), promoted_variant = coalesce($2, promoted_variant) WHERE id = $1`,
    [id, promotedVariant],
  );
  const r = await tx.query<{ name: string }>('SELECT name FROM experiments WHERE id = $1', [id]);
  await notifyExperimentsChanged(tx, r.rows[0]?.name ?? '');
}

async function notifyExperimentsChanged(tx: Queryable, name: string): Promise<void> {
  // Inside the caller's transaction: delivered only if it commits.
  await tx.query('SELECT pg_notify($1, $2)', [EXPERIMENTS_CHANNEL, name]);
}

/**
 * Attribution of feedback events to the lists served (docs/experiments.md, "What counts"), for experiment $1:
 * a view, a like or a rating of 4 or more of a movie that a list showed the user is a conversion of that list,
 * a dislike or a skip is counted as such. An event is credited to one list: the one whose recommendation_id it
 * names, when that list showed the user the movie, else the latest list that showed the user the movie before
 * the event. Either way only within the experiment's attribution window after the list was shown. The same
 * answer served again keeps its recommendation_id: of the lists with that id, the latest shown before the event
 * is credited (else the first after it, for a client clock behind the server's). Every list
 * of the user competes (also those of other experiments), so an event is never credited twice. A list's
 * conversions count each movie once, however many events followed.
 * `ud`: one row per variant, user and day (UTC) the user was shown lists: lists, impressions n, conversions c.
 * `conv`: one row per credited (list, movie, outcome), with the movie's position in the list (1 = top).
 */
const ATTRIBUTION_CTE = `
WITH x AS (
  SELECT make_interval(secs => attribution_window_seconds) AS w FROM experiments WHERE id = $1
), shown AS (
  SELECT recommendation_id, user_id, variant, shown_at, movie_ids FROM impressions WHERE experiment_id = $1
), ev AS (
  SELECT f.user_id, f.movie_id, f.occurred_at, f.recommendation_id,
         CASE WHEN f.type IN ('dislike', 'skip') THEN f.type ELSE 'conversion' END AS outcome
    FROM feedback_events f
   WHERE f.user_id IN (SELECT DISTINCT user_id FROM shown)
     AND (f.type IN ('view', 'like', 'dislike', 'skip') OR (f.type = 'rating' AND f.rating >= 4))
), credit AS (
  SELECT ev.outcome, ev.movie_id, ev.user_id, l.recommendation_id, l.experiment_id, l.variant, l.shown_at, l.position
    FROM ev CROSS JOIN x
    CROSS JOIN LATERAL (
      SELECT i.recommendation_id, i.experiment_id, i.variant, i.shown_at, array_position(i.movie_ids, ev.movie_id) AS position
        FROM impressions i
       WHERE i.user_id = ev.user_id AND i.movie_ids @> ARRAY[ev.movie_id]
         AND ev.occurred_at < i.shown_at + x.w
         AND (i.shown_at <= ev.occurred_at OR i.recommendation_id = ev.recommendation_id)
       ORDER BY coalesce(i.recommendation_id = ev.recommendation_id, false) DESC, i.shown_at <= ev.occurred_at DESC,
                abs(extract(epoch FROM ev.occurred_at - i.shown_at))
       LIMIT 1
    ) l
), conv AS (
  SELECT DISTINCT recommendation_id, user_id, movie_id, outcome, variant, shown_at, position
    FROM credit WHERE experiment_id = $1
), lists_day AS (
  SELECT variant, user_id, (shown_at AT TIME ZONE 'UTC')::date AS day, count(*)::float8 AS lists, sum(cardinality(movie_ids))::float8 AS n
    FROM shown GROUP BY 1, 2, 3
), conv_day AS (
  SELECT variant, user_id, (shown_at AT TIME ZONE 'UTC')::date AS day,
         count(*) FILTER (WHERE outcome = 'conversion')::float8 AS c,
         count(*) FILTER (WHERE outcome = 'dislike')::float8 AS dislikes,
         count(*) FILTER (WHERE outcome = 'skip')::float8 AS skips
    FROM conv GROUP BY 1, 2, 3
), ud AS (
  SELECT l.variant, l.user_id, l.day, l.lists, l.n, coalesce(c.c, 0) AS c, coalesce(c.dislikes, 0) AS dislikes, coalesce(c.skips, 0) AS skips
    FROM lists_day l LEFT JOIN conv_day c USING (variant, user_id, day)
)`;

/** A variant's totals, with the sums over its users that the statistics need (n: impressions, c: conversions). */
export interface VariantOutcomeRow {
  variant: string;
  users: number;
  lists: number;
  n: number;
  c: number;
  nn: number;
  cc: number;
  nc: number;
  converted: number;
  dislikes: number;
  skips: number;
}

/** A variant's cumulative sums at the end of a day (UTC), and that day's own impressions and conversions. */
export interface VariantDayRow extends Omit<VariantOutcomeRow, 'lists' | 'converted' | 'dislikes' | 'skips'> {
  day: string;
  dayN: number;
  dayC: number;
}

export interface ExperimentOutcomes {
  variants: VariantOutcomeRow[];
  days: VariantDayRow[];
  /** Conversions by position in the list (1 = top). */
  positions: { variant: string; position: number; conversions: number }[];
}

const num = (row: Record<string, unknown>, keys: readonly string[]) =>
  Object.fromEntries(keys.map((k) => [k, Number(row[k])]));

/** The outcomes of experiment `id`, read in one snapshot. */
export async function experimentOutcomes(db: Database, id: number): Promise<ExperimentOutcomes> {
  return db.transaction(
    async (tx) => {
      const totals = await tx.query(
        `${ATTRIBUTION_CTE}, u AS (
           SELECT variant, user_id, sum(lists) AS lists, sum(n) AS n, sum(c) AS c, sum(dislikes) AS dislikes, sum(skips) AS skips FROM ud GROUP BY 1, 2
         )
         SELECT variant, count(*)::float8 AS users, sum(lists) AS lists, sum(n) AS n, sum(c) AS c, sum(n * n) AS nn, sum(c * c) AS cc, sum(n * c) AS nc,
                count(*) FILTER (WHERE c > 0)::float8 AS converted, sum(dislikes) AS dislikes, sum(skips) AS skips
           FROM u GROUP BY variant ORDER BY variant`,
        [id],
      );
      // Cumulative sums of squares without a row per user and day: when a user with p impressions so far gets
      // a more on a day, Σn² grows by 2·p·a + a² (likewise for c and n·c).
      const days = await tx.query(
        `${ATTRIBUTION_CTE}, d AS (
           SELECT variant, day, n, c,
                  coalesce(sum(n) OVER prior, 0) AS pn, coalesce(sum(c) OVER prior, 0) AS pc,
                  row_number() OVER (PARTITION BY variant, user_id ORDER BY day) = 1 AS first
             FROM ud WINDOW prior AS (PARTITION BY variant, user_id ORDER BY day ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
         ), per_day AS (
           SELECT variant, day, count(*) FILTER (WHERE first)::float8 AS new_users, sum(n) AS dn, sum(c) AS dc,
                  sum(2 * pn * n + n * n) AS dnn, sum(2 * pc * c + c * c) AS dcc, sum(pn * c + pc * n + n * c) AS dnc
             FROM d GROUP BY 1, 2
         )
         SELECT variant, day::text AS day, dn AS day_n, dc AS day_c,
                sum(new_users) OVER v AS users, sum(dn) OVER v AS n, sum(dc) OVER v AS c,
                sum(dnn) OVER v AS nn, sum(dcc) OVER v AS cc, sum(dnc) OVER v AS nc
           FROM per_day WINDOW v AS (PARTITION BY variant ORDER BY day)
          ORDER BY variant, day`,
        [id],
      );
      const positions = await tx.query(
        `${ATTRIBUTION_CTE}
         SELECT variant, position, count(*)::float8 AS conversions FROM conv WHERE outcome = 'conversion' AND position IS NOT NULL
          GROUP BY 1, 2 ORDER BY 1, 2`,
        [id],
      );
      return {
        variants: totals.rows.map(
          (r) =>
            ({
              variant: r.variant,
              ...num(r, ['users', 'lists', 'n', 'c', 'nn', 'cc', 'nc', 'converted', 'dislikes', 'skips']),
            }) as VariantOutcomeRow,
        ),
        days: days.rows.map(
          (r) =>
            ({
              variant: r.variant,
              day: r.day,
              dayN: Number(r.day_n),
              dayC: Number(r.day_c),
              ...num(r, ['users', 'n', 'c', 'nn', 'cc', 'nc']),
            }) as VariantDayRow,
        ),
        positions: positions.rows.map((r) => ({
          variant: r.variant,
          position: Number(r.position),
          conversions: Number(r.conversions),
        })),
      };
    },
    { isolation: 'repeatable read', readOnly: true },
  );
}
