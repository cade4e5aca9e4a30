import type { ExperimentRecord } from '../core/experiments/manage.js';

/** An experiment as the experiments commands print it under --json (keys made snake_case by RecoCommand). */
export function experimentJson(e: ExperimentRecord) {
  return {
    name: e.name,
    status: e.status,
    client: e.clientUsername,
    allocation: e.allocation,
    attributionWindowDays: e.attributionWindowSeconds / 86_400,
    startedAt: e.startedAt.toISOString(),
    stoppedAt: e.stoppedAt ? e.stoppedAt.toISOString() : null,
    promotedVariant: e.promotedVariant,
    lists: e.lists,
    variants: e.variants.map((v, i) => ({
      name: v.name,
      modelVersion: v.modelVersion,
      weight: v.weight,
      control: i === 0,
    })),
  };
}
