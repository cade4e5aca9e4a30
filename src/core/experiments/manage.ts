import { findClient } from '../db/repositories/clients.js';
import {
  findExperiment,
  insertExperiment,
  listExperimentRecords,
  lockExperiments,
  markStopped,
  overlappingRunning,
  unknownModelVersions,
  type ExperimentRecord,
} from '../db/repositories/experiments.js';
import type { Database } from '../db/types.js';
import { RecoError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import { activateModelIn } from '../training/registry.js';
import type { ExperimentVariant } from './types.js';

/** Starting, listing and stopping experiments (docs/experiments.md). Every rule that can refuse a start is here. */

export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
export const DEFAULT_ATTRIBUTION_DAYS = 7;
export const MAX_VARIANTS = 10;

export type { ExperimentRecord };

export interface StartInput {
  name: string;
  /** `name=VERSION`, the first is the control. */
  variants: readonly string[];
  /** One per variant; equal when absent. */
  weights?: readonly number[];
  /** A client's username; absent: every client. */
  client?: string;
  attributionDays?: number;
}

const badInput = (message: string) => new RecoError(message, { exitCode: ExitCode.BAD_INPUT });

/** The variants of `--variant name=VERSION` flags and `--weights`, checked. */
export function parseVariants(specs: readonly string[], weights?: readonly number[]): ExperimentVariant[] {
  if (specs.length < 2)
    throw badInput(
      `an experiment needs at least two variants (got ${specs.length}): pass --variant control=VERSION --variant treatment=VERSION`,
    );
  if (specs.length > MAX_VARIANTS) throw badInput(`at most ${MAX_VARIANTS} variants`);
  if (weights && weights.length !== specs.length)
    throw badInput(
      `--weights has ${weights.length} values for ${specs.length} variants: give one weight per variant, in the order of --variant`,
    );
  const seen = new Set<string>();
  return specs.map((spec, i) => {
    const eq = spec.indexOf('=');
    const name = eq > 0 ? spec.slice(0, eq).trim() : '';
    const modelVersion = eq > 0 ? spec.slice(eq + 1).trim() : '';
    if (!name || !modelVersion)
      throw badInput(`--variant "${spec}" is not NAME=VERSION (e.g. control=20261126T212501Z-ease-3f9a)`);
    if (!NAME_PATTERN.test(name))
      throw badInput(`variant name "${name}": 1–64 letters, digits and _ . - (starting with a letter or digit)`);
    if (seen.has(name)) throw badInput(`variant "${name}" is named twice`);
    seen.add(name);
    const weight = weights ? weights[i] : 1;
    if (!(Number.isFinite(weight) && weight > 0))
      throw badInput(`weight ${weights?.[i]} of variant "${name}": weights are positive numbers`);
    return { name, modelVersion, weight };
  });
}

/** `--weights 50,50` → [50, 50]. */
export function parseWeights(text: string): number[] {
  const parts = text.split(',').map((p) => p.trim());
  const out = parts.map(Number);
  if (parts.some((p) => p === '') || out.some((w) => !(Number.isFinite(w) && w > 0)))
    throw badInput(`--weights "${text}": positive numbers separated by commas, one per variant (e.g. 50,50)`);
  return out;
}

export async function startExperiment(db: Database, input: StartInput): Promise<ExperimentRecord> {
  if (!NAME_PATTERN.test(input.name))
    throw badInput(`experiment name "${input.name}": 1–64 letters, digits and _ . - (starting with a letter or digit)`);
  const variants = parseVariants(input.variants, input.weights);
  const days = input.attributionDays ?? DEFAULT_ATTRIBUTION_DAYS;
  if (!(Number.isInteger(days) && days >= 1 && days <= 365))
    throw badInput(`--attribution-days ${days}: a whole number of days from 1 to 365`);
  await db.transaction(async (tx) => {
    await lockExperiments(tx);
    let clientId: number | null = null;
    if (input.client !== undefined) {
      const client = await findClient(tx, input.client);
      if (!client) throw badInput(`no client "${input.client}" (see reco clients list)`);
      clientId = client.id;
    }
    const unknown = await unknownModelVersions(
      tx,
      variants.map((v) => v.modelVersion),
    );
    if (unknown.length > 0) throw badInput(`no model version ${unknown.join(', ')} (see reco models list)`);
    if (await findExperiment(tx, input.name))
      throw new RecoError(`an experiment named "${input.name}" exists already (names are never reused: pick another)`, {
        exitCode: ExitCode.CONFLICT,
      });
    const overlapping = await overlappingRunning(tx, clientId);
    if (overlapping.length > 0) {
      const o = overlapping[0];
      throw new RecoError(
        `experiment "${o.name}" is running for ${o.clientUsername ? `client ${o.clientUsername}` : 'every client'}, which shares users with this one: at most one experiment runs per client (stop it first with reco experiments stop ${o.name})`,
        { exitCode: ExitCode.CONFLICT },
      );
    }
    await insertExperiment(tx, {
      name: input.name,
      clientId,
      attributionWindowSeconds: days * 86_400,
      variants,
    });
  });
  return (await findExperiment(db, input.name))!;
}

export function listExperiments(db: Database, limit?: number): Promise<ExperimentRecord[]> {
  return listExperimentRecords(db, limit);
}

export async function getExperiment(db: Database, name: string): Promise<ExperimentRecord> {
  const e = await findExperiment(db, name);
  if (!e) throw badInput(`no experiment "${name}" (see reco experiments list)`);
  return e;
}

export interface StopResult {
  experiment: ExperimentRecord;
  /** False when it had been stopped before (only a promotion happened, if asked). */
  stopped: boolean;
  promoted: { variant: string; version: string; previousVersion: string | null; changed: boolean } | null;
}

/**
 * Stops a running experiment; with `promote`, activates that variant's model version in the same transaction
 * (the registry's activation: servers swap models on its NOTIFY). A stopped experiment can still be promoted.
 */
export async function stopExperiment(db: Database, name: string, promote?: string): Promise<StopResult> {
  const out = await db.transaction(async (tx) => {
    await lockExperiments(tx);
    const e = await findExperiment(tx, name);
    if (!e) throw badInput(`no experiment "${name}" (see reco experiments list)`);
    const wasRunning = e.status === 'running';
    if (!wasRunning && promote === undefined)
      throw new RecoError(`experiment "${name}" was stopped at ${e.stoppedAt?.toISOString()}`, {
        exitCode: ExitCode.CONFLICT,
      });
    let promoted: StopResult['promoted'] = null;
    if (promote !== undefined) {
      const v = e.variants.find((x) => x.name === promote);
      if (!v)
        throw badInput(
          `experiment "${name}" has no variant "${promote}" (its variants: ${e.variants.map((x) => x.name).join(', ')})`,
        );
      const r = await activateModelIn(tx, v.modelVersion);
      promoted = {
        variant: v.name,
        version: v.modelVersion,
        previousVersion: r.previousVersion ?? null,
        changed: r.changed,
      };
    }
    await markStopped(tx, e.id, promoted?.variant ?? null);
    return { stopped: wasRunning, promoted };
  });
  return { experiment: (await findExperiment(db, name))!, ...out };
}
