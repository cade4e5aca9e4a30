import type { Logger } from 'pino';
import type { Database } from '../core/db/types.js';
import type { RecoMetrics } from '../core/metrics/registry.js';
import type { LoadedModel as RegistryModel } from '../core/training/registry.js';
import { RegistryWatch } from './registry-watch.js';

/** What the server needs of a registry model: the registry's LoadedModel, less what only evaluation uses. */
export type LoadedModel = Omit<RegistryModel, 'knownMovieIds'>;

/** Where models come from: the registry (registry-source.ts, the default); tests of the holder may pass another. */
export interface ModelSource {
  channel: string;
  activeVersion(db: Database): Promise<string | null | undefined>;
  loadActive(db: Database): Promise<LoadedModel | null | undefined>;
  fallback(db: Database): Promise<LoadedModel>;
}

export const FALLBACK_VERSION = 'fallback';

/**
 * Holds the model being served and swaps it without a restart: on a NOTIFY from `reco train`/`reco models
 * activate` (a LISTEN that reconnects after a lost connection and then checks the registry for what it missed),
 * and by polling the registry (a pooler that drops LISTEN). The new model is
 * loaded completely — and prepared (`prepare`: the warm-up) — before one reference assignment replaces the old one,
 * and every request reads the reference once, so no request sees half a model and none fails during the swap.
 */
export class ModelHolder {
  private model: LoadedModel | undefined;
  private readonly watch: RegistryWatch;

  constructor(
    private readonly db: Database,
    private readonly source: ModelSource,
    private readonly options: {
      pollMs?: number;
      heartbeatMs?: number;
      logger?: Logger;
      metrics?: RecoMetrics;
      onSwap?: (m: LoadedModel) => void;
      /** Called with a loaded model before it is served (warm-up.ts); a failure is logged and the swap goes on. */
      prepare?: (m: LoadedModel) => Promise<unknown>;
    },
  ) {
    this.watch = new RegistryWatch(db, source.channel, () => this.refreshOnce(), {
      ...options,
      what: 'model activation',
    });
  }

  get current(): LoadedModel | undefined {
    return this.model;
  }

  start(): Promise<void> {
    return this.watch.start();
  }

  /** Checks the registry and swaps in the active version when it differs. Calls are serialised. */
  refresh(): Promise<void> {
    return this.watch.refresh();
  }

  private async refreshOnce(): Promise<void> {
    if (this.watch.isStopped) return;
    const { logger, metrics } = this.options;
    let next: LoadedModel | null | undefined;
    try {
      const version = await this.source.activeVersion(this.db);
      if (version && version === this.model?.version) return;
      if (!version && this.model?.version === FALLBACK_VERSION) return;
      next = version ? await this.source.loadActive(this.db) : undefined;
      if (!next) next = await this.source.fallback(this.db);
      metrics?.modelLoadsTotal.inc({ outcome: 'success' });
    } catch (err) {
      metrics?.modelLoadsTotal.inc({ outcome: 'failure' });
      logger?.error({ err }, 'loading the active model failed; keeping the current one');
      if (!this.model) {
        try {
          next = await this.source.fallback(this.db);
        } catch (err2) {
          logger?.error({ err: err2 }, 'building the popularity fallback failed');
          return;
        }
      } else return;
    }
    if (this.watch.isStopped || !next) return;
    if (this.options.prepare) {
      try {
        await this.options.prepare(next);
      } catch (err) {
        logger?.warn({ err, version: next.version }, 'preparing the model failed; serving it anyway');
      }
      if (this.watch.isStopped) return;
    }
    const previous = this.model;
    this.model = next;
    logger?.info(
      { algorithm: next.algorithm, version: next.version, previous: previous?.version ?? null },
      'model loaded',
    );
    this.options.onSwap?.(next);
  }

  stop(): Promise<void> {
    return this.watch.stop();
  }
}
