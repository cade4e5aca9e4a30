import { createHash } from 'node:crypto';

/** What assignment needs of an experiment: its name and its variants' weights, in their stored order. */
export interface AssignableExperiment {
  name: string;
  variants: readonly { name: string; weight: number }[];
}

/**
 * A user's point in [0, 1) for an experiment: the first 48 bits of SHA-256 over `name \0 clientId \0 userId`.
 * The same inputs give the same point on every replica and after every restart (nothing is stored); another
 * experiment name gives an independent point, so consecutive experiments do not reuse the same split of users.
 */
export function assignmentPoint(experimentName: string, clientId: number, externalUserId: string): number {
  const digest = createHash('sha256').update(`${experimentName}\u0000${clientId}\u0000${externalUserId}`).digest();
  return digest.readUIntBE(0, 6) / 2 ** 48;
}

/**
 * The variant of `experiment` that a user of `clientId` (the id as the client gives it, users.external_id)
 * sees: the user's point against the variants' cumulative weights, so shares follow the weights.
 */
export function assignVariant<V extends { name: string; weight: number }>(
  experiment: { name: string; variants: readonly V[] },
  clientId: number,
  externalUserId: string,
): V {
  const { variants } = experiment;
  if (variants.length === 0) throw new RangeError(`experiment ${experiment.name} has no variants`);
  let total = 0;
  for (const v of variants) {
    if (!(v.weight > 0) || !Number.isFinite(v.weight))
      throw new RangeError(`experiment ${experiment.name}: variant ${v.name} has weight ${v.weight}`);
    total += v.weight;
  }
  const target = assignmentPoint(experiment.name, clientId, externalUserId) * total;
  let cumulative = 0;
  for (const v of variants) {
    cumulative += v.weight;
    if (target < cumulative) return v;
  }
  // Rounding of the cumulative sum: the point belongs to the last variant.
  return variants[variants.length - 1];
}
