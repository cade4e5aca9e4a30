import { createHash } from 'node:crypto';
import { RecoError } from '../errors.js';
import {
  activeModelRow,
  activeVersionOnly,
  findModel,
  insertModel,
  listModelRows,
  lockRegistry,
  modelArtifact,
  setActiveModel,
  type ModelRow,
  type NewModel,
} from '../db/repositories/models.js';
import { ratingCountsByMovie } from '../db/repositories/training-data.js';
import type { Database, Queryable } from '../db/types.js';
import { knownMovieIds, loadModel } from '../models/index.js';
import { PopularRecommender } from '../models/popular.js';
import type { Recommender } from '../models/types.js';

/** NOTIFY channel of activations: the payload is the version. */
export const MODEL_CHANNEL = 'reco_model_activated';
export const FALLBACK_VERSION = 'fallback';
/** The metric that decides activation and `auto`'s choice. */
export const DECISION_METRIC = 'ndcg_at_10';
/** A new model is activated unless its holdout nDCG@10 is lower than the active one's by more than this. */
export const DEFAULT_TOLERANCE = 0.01;
/**
 * The holdout `reco train` measures on: trusted clients' ratings only, which an untrusted API client cannot
 * write. The gate compares figures measured on it only; a figure from any other holdout proves nothing.
 */
export const TRUSTED_HOLDOUT = 'trusted';

export interface LoadedModel {
  version: string;
  algorithm: string;
  model: Recommender;
  metrics: Record<string, number>;
  createdAt: Date;
  activatedAt: Date | null;
  knownMovieIds: ReadonlySet<number>;
}

export type { ModelRow };

/** The active version, or undefined (one indexed lookup: cheap enough to poll). */
export function activeModelVersion(db: Queryable): Promise<string | undefined> {
  return activeVersionOnly(db);
}

/** The active model, loaded from the artifact bytes stored in the registry (no shared disk needed). */
export async function loadActiveModel(db: Queryable): Promise<LoadedModel | undefined> {
  const row = await activeModelRow(db);
  if (!row) return undefined;
  return loadVersion(db, row);
}

async function loadVersion(db: Queryable, row: ModelRow): Promise<LoadedModel> {
  const bytes = await modelArtifact(db, row.version);
  if (!bytes) throw new RecoError(`model ${row.version} has no artifact`);
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== row.artifact_sha256)
    throw new RecoError(
      `model ${row.version}: artifact checksum mismatch (stored ${row.artifact_sha256.slice(0, 12)}…, read ${sha.slice(0, 12)}…)`,
    );
  const model = loadModel(bytes);
  return {
    version: row.version,
    algorithm: row.algorithm,
    model,
    metrics: numericMetrics(row.metrics),
    createdAt: new Date(row.created_at),
    activatedAt: row.activated_at ? new Date(row.activated_at) : null,
    knownMovieIds: knownMovieIds(model),
  };
}

/** Loads one version (active or not), e.g. to compare or to serve a pinned version. */
export async function loadModelVersion(db: Queryable, version: string): Promise<LoadedModel> {
  const row = await findModel(db, version);
  if (!row) throw new RecoError(`no model version ${version} (see reco models list)`);
  return loadVersion(db, row);
}

/**
 * The `popular` model fitted on the ratings in the database, for a fresh install before any training. On an
 * empty database it knows no movies and recommends nothing.
 */
export async function buildFallbackModel(db: Queryable): Promise<LoadedModel> {
  const { movieIds, counts } = await ratingCountsByMovie(db);
  const model = PopularRecommender.fromCounts(movieIds, counts);
  return {
    version: FALLBACK_VERSION,
    algorithm: 'popular',
    model,
    metrics: {},
    createdAt: new Date(),
    activatedAt: null,
    knownMovieIds: new Set(movieIds),
  };
}

export interface ActivationDecision {
  activate: boolean;
  reason: string;
}

/**
 * Whether a new model replaces the active one: better, or worse by at most `tolerance` in nDCG@10; --force
 * always. The active model's figure counts only when it was measured on the trusted holdout: one measured on a
 * holdout API clients could write to (models trained before clients had a trusted flag) does not hold back a
 * new model, whose figure `reco train` always measures on the trusted holdout.
 */
export function decideActivation(
  candidate: Record<string, number>,
  active: { version: string; metrics: Record<string, number>; holdout?: string | null } | undefined,
  options: { tolerance?: number; force?: boolean } = {},
): ActivationDecision {
  const tolerance = options.tolerance ?? DEFAULT_TOLERANCE;
  if (options.force) return { activate: true, reason: 'activated: --force' };
  if (!active) return { activate: true, reason: 'activated: no model was active' };
  if (active.holdout !== TRUSTED_HOLDOUT)
    return {
      activate: true,
      reason: `activated: the active model ${active.version} was measured on a holdout that API clients could write to`,
    };
  const mine = candidate[DECISION_METRIC];
  const theirs = active.metrics[DECISION_METRIC];
  if (!Number.isFinite(theirs))
    return { activate: true, reason: `activated: the active model ${active.version} has no ${DECISION_METRIC}` };
  if (!Number.isFinite(mine))
    return { activate: false, reason: `kept ${active.version}: the new model has no ${DECISION_METRIC}` };
  const f = (x: number) => x.toFixed(4);
  if (mine >= theirs - tolerance) {
    return {
      activate: true,
      reason: `activated: ${DECISION_METRIC} ${f(mine)} vs ${f(theirs)} of ${active.version} (tolerance ${tolerance})`,
    };
  }
  return {
    activate: false,
    reason: `kept ${active.version}: ${DECISION_METRIC} ${f(mine)} is below its ${f(theirs)} by more than ${tolerance} (use --force to activate anyway)`,
  };
}

export interface RegisterResult {
  version: string;
  activated: boolean;
  decision: ActivationDecision;
  previousVersion: string | undefined;
}

/** Stores a model with its artifact and, per the decision, activates it in the same transaction. */
export async function registerModel(
  db: Database,
  model: Omit<NewModel, 'artifactSha256'>,
  options: { tolerance?: number; force?: boolean } = {},
): Promise<RegisterResult> {
  const artifactSha256 = createHash('sha256').update(model.artifact).digest('hex');
  return db.transaction(async (tx) => {
    await lockRegistry(tx);
    const active = await activeModelRow(tx);
    const decision = decideActivation(
      model.metrics,
      active
        ? { version: active.version, metrics: numericMetrics(active.metrics), holdout: active.holdout }
        : undefined,
      options,
    );
    await insertModel(tx, { ...model, artifactSha256 });
    if (decision.activate) await setActiveModel(tx, model.version, MODEL_CHANNEL);
    return { version: model.version, activated: decision.activate, decision, previousVersion: active?.version };
  });
}

/** `reco models activate VERSION`: flips the active flag and notifies, in one transaction. */
export async function activateModel(
  db: Database,
  version: string,
): Promise<{ version: string; previousVersion: string | undefined; changed: boolean }> {
  return db.transaction((tx) => activateModelIn(tx, version));
}

/** activateModel inside the caller's transaction (e.g. with the stop of an experiment): the servers swap on its commit. */
export async function activateModelIn(
  tx: Queryable,
  version: string,
): Promise<{ version: string; previousVersion: string | undefined; changed: boolean }> {
  await lockRegistry(tx);
  const previous = await activeVersionOnly(tx);
  if (!(await setActiveModel(tx, version, MODEL_CHANNEL)))
    throw new RecoError(`no model version ${version} (see reco models list)`);
  return { version, previousVersion: previous, changed: previous !== version };
}

export function listModels(db: Queryable, limit = 50): Promise<ModelRow[]> {
  return listModelRows(db, limit);
}

function numericMetrics(m: Record<string, unknown> | null | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(m ?? {})) if (typeof v === 'number' && Number.isFinite(v)) out[k] = v;
  return out;
}
