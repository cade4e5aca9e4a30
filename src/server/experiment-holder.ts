import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import type { Database } from '../core/db/types.js';
import { assignVariant } from '../core/experiments/assignment.js';
import type { RunningExperiment } from '../core/experiments/types.js';
import type { RecoMetrics } from '../core/metrics/registry.js';
import type { LoadedModel } from './model-holder.js';
import { RegistryWatch } from './registry-watch.js';

/** Where running experiments and their models come from: the registry (registry-source.ts); tests may pass another. */
export interface ExperimentSource {
  channel: string;
  running(db: Database): Promise<RunningExperiment[]>;
  load(db: Database, version: string): Promise<LoadedModel>;
}

/** The `experiment` field of an answer; one object per served variant, so answers can be compared by identity. */
export interface ExperimentLabel {
  name: string;
  variant: string;
}

/** One variant as served: its model in memory and what answers and impressions say about it. */
export interface ServedVariant {
  experimentId: number;
  model: LoadedModel;
  label: ExperimentLabel;
  weight: number;
  name: string;
  /** reco_experiment_lists_served_total for this variant (a child looked up once, not per request). */
  served: { inc(): void };
}

interface ServedExperiment {
  id: number;
  name: string;
  clientId: number | null;
  variants: ServedVariant[];
  /** Variants already computed, by client and user: a hash per request cost more than the rest of a cached answer. */
  assigned: Map<string, ServedVariant>;
}

/** Assignments remembered per experiment before the memo starts again from empty. */
const ASSIGNED_CAPACITY = 200_000;

interface State {
  /** The running experiments as loaded, to skip a reload that would change nothing. */
  signature: string;
  byClient: Map<number, ServedExperiment>;
  /** An experiment without a client covers every client. */
  everyClient: ServedExperiment | undefined;
  experiments: ServedExperiment[];
}

const EMPTY: State = { signature: '[]', byClient: new Map(), everyClient: undefined, experiments: [] };

/**
 * The running experiments and every model version they name, in memory, beside the active model of
 * ModelHolder. It reloads on the NOTIFY that `reco experiments start|stop` sends (a LISTEN that reconnects and
 * then catches up) and by polling. A new set of experiments is loaded completely — every variant's model — before
 * one reference assignment replaces the old set, so a request reads one consistent set; the models of stopped
 * experiments are released with the old set. A version already in memory (the active one, or one still named) is
 * not loaded twice.
 */
export class ExperimentHolder {
  private state: State = EMPTY;
  private readonly watch: RegistryWatch;

  constructor(
    private readonly db: Database,
    private readonly source: ExperimentSource,
    private readonly options: {
      pollMs?: number;
      heartbeatMs?: number;
      logger?: Logger;
      metrics?: RecoMetrics;
      /** The model the server serves otherwise: reused when a variant names its version. */
      active?: () => LoadedModel | undefined;
      /** Called with each newly loaded variant model before it is served (warm-up.ts); a failure is logged. */
      prepare?: (m: LoadedModel) => Promise<unknown>;
    },
  ) {
    this.watch = new RegistryWatch(db, source.channel, () => this.refreshOnce(), { ...options, what: 'experiment' });
  }

  /** Running experiments as served now (name, client, variants with their versions). */
  get running(): readonly {
    id: number;
    name: string;
    clientId: number | null;
    variants: readonly { name: string; version: string; weight: number }[];
  }[] {
    return this.state.experiments.map((e) => ({
      id: e.id,
      name: e.name,
      clientId: e.clientId,
      variants: e.variants.map((v) => ({ name: v.name, version: v.model.version, weight: v.weight })),
    }));
  }

  /** Model versions held for experiments. */
  get versions(): string[] {
    return [...new Set(this.state.experiments.flatMap((e) => e.variants.map((v) => v.model.version)))];
  }

  /** The variant a user of `clientId` sees (sticky: assignment.ts), or undefined outside every experiment. */
  choose(clientId: number, externalUserId: string): ServedVariant | undefined {
    const s = this.state;
    const experiment = s.byClient.get(clientId) ?? s.everyClient;
    if (experiment === undefined) return undefined;
    const key = experiment.clientId === null ? `${clientId}\u0000${externalUserId}` : externalUserId;
    let variant = experiment.assigned.get(key);
    if (variant === undefined) {
      variant = assignVariant(experiment, clientId, externalUserId);
      if (experiment.assigned.size >= ASSIGNED_CAPACITY) experiment.assigned.clear();
      experiment.assigned.set(key, variant);
    }
    return variant;
  }

  /** Whether any experiment runs (nothing to choose otherwise). */
  get any(): boolean {
    return this.state.experiments.length > 0;
  }

  start(): Promise<void> {
    return this.watch.start();
  }

  /** Reads the running experiments and swaps in the new set when it differs. Calls are serialised. */
  refresh(): Promise<void> {
    return this.watch.refresh();
  }

  private async refreshOnce(): Promise<void> {
    if (this.watch.isStopped) return;
    const { logger, metrics } = this.options;
    let running: RunningExperiment[];
    try {
      running = await this.source.running(this.db);
    } catch (err) {
      logger?.error({ err }, 'reading the running experiments failed; keeping the current ones');
      return;
    }
    const signature = JSON.stringify(
      running.map((e) => [e.id, e.name, e.clientId, e.variants.map((v) => [v.name, v.modelVersion, v.weight])]),
    );
    if (signature === this.state.signature) return;

    // Models already in memory are shared; only new versions are loaded.
    const held = new Map<string, LoadedModel>();
    for (const e of this.state.experiments) for (const v of e.variants) held.set(v.model.version, v.model);
    const active = this.options.active?.();
    if (active) held.set(active.version, active);
    const models = new Map<string, LoadedModel>();
    let complete = true;
    const experiments: ServedExperiment[] = [];
    for (const e of running) {
      if (e.variants.length === 0) continue;
      try {
        for (const v of e.variants) {
          if (models.has(v.modelVersion)) continue;
          const kept = held.get(v.modelVersion);
          if (kept) {
            models.set(v.modelVersion, kept);
            continue;
          }
          const started = Date.now();
          const model = await this.source.load(this.db, v.modelVersion);
          metrics?.modelLoadsTotal.inc({ outcome: 'success' });
          models.set(v.modelVersion, model);
          logger?.info(
            {
              experiment: e.name,
              version: model.version,
              algorithm: model.algorithm,
              typed_array_bytes: typedArrayBytes(model.model),
              load_ms: Date.now() - started,
            },
            'experiment model loaded',
          );
          await this.options
            .prepare?.(model)
            .catch((err) =>
              logger?.warn({ err, version: model.version }, 'preparing the model failed; serving it anyway'),
            );
        }
      } catch (err) {
        metrics?.modelLoadsTotal.inc({ outcome: 'failure' });
        logger?.error(
          { err, experiment: e.name },
          'loading a model of an experiment failed: its users get the active model until a retry succeeds',
        );
        complete = false;
        continue;
      }
      experiments.push(served(e, models, metrics?.experimentListsServedTotal));
    }
    if (this.watch.isStopped) return;
    const byClient = new Map<number, ServedExperiment>();
    let everyClient: ServedExperiment | undefined;
    for (const e of experiments) {
      if (e.clientId === null) everyClient ??= e;
      else if (!byClient.has(e.clientId)) byClient.set(e.clientId, e);
    }
    const before = this.state;
    // An incomplete set is retried at the next notification or poll.
    this.state = { signature: complete ? signature : '', byClient, everyClient, experiments };
    const released = [...new Set(before.experiments.flatMap((e) => e.variants.map((v) => v.model.version)))].filter(
      (v) => !models.has(v),
    );
    logger?.info(
      {
        experiments: experiments.map((e) => ({
          name: e.name,
          client_id: e.clientId,
          variants: e.variants.map((v) => `${v.name}=${v.model.version}`),
        })),
        versions: [...models.keys()],
        released,
        typed_array_bytes: [...models.values()]
          .filter((m) => m !== active)
          .reduce((s, m) => s + typedArrayBytes(m.model), 0),
      },
      'experiments loaded',
    );
  }

  stop(): Promise<void> {
    return this.watch.stop();
  }
}

function served(
  e: RunningExperiment,
  models: Map<string, LoadedModel>,
  counter: Counter<'experiment' | 'variant'> | undefined,
): ServedExperiment {
  return {
    id: e.id,
    name: e.name,
    clientId: e.clientId,
    assigned: new Map(),
    variants: e.variants.map((v) => {
      const labels = { experiment: e.name, variant: v.name };
      counter?.inc(labels, 0);
      return {
        experimentId: e.id,
        model: models.get(v.modelVersion)!,
        label: { name: e.name, variant: v.name },
        weight: v.weight,
        name: v.name,
        served: counter ? { inc: () => counter.inc(labels) } : { inc() {} },
      };
    }),
  };
}

/**
 * The bytes of the distinct ArrayBuffers an object reaches: a model's bulk (its matrices and neighbour lists are
 * typed arrays), though not its Maps and plain objects (docs/experiments.md, "Serving", compares it with the heap).
 */
export function typedArrayBytes(root: unknown): number {
  const seen = new Set<object>();
  const buffers = new Set<ArrayBufferLike>();
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const x = stack.pop();
    if (x === null || typeof x !== 'object' || seen.has(x)) continue;
    seen.add(x);
    if (ArrayBuffer.isView(x)) {
      buffers.add(x.buffer);
      continue;
    }
    if (x instanceof Map) {
      for (const v of x.values()) stack.push(v);
      continue;
    }
    if (x instanceof Set) continue;
    for (const v of Object.values(x)) stack.push(v);
  }
  let total = 0;
  for (const b of buffers) total += b.byteLength;
  return total;
}
