import type { Logger } from 'pino';
import { ReconnectingListener } from '../core/db/listener.js';
import type { Database } from '../core/db/types.js';
import type { RecoMetrics } from '../core/metrics/registry.js';
import type { LoadedModel as RegistryModel } from '../core/training/registry.js';

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
 * loaded completely before one reference assignment replaces the old one, and every request reads the
 * reference once, so no request sees half a model and none fails during the swap.
 */
export class ModelHolder {
  private model: LoadedModel | undefined;
  private refreshing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private listener: ReconnectingListener | undefined;
  private stopped = false;

  constructor(
    private readonly db: Database,
    private readonly source: ModelSource,
    private readonly options: {
      pollMs?: number;
      heartbeatMs?: number;
      logger?: Logger;
      metrics?: RecoMetrics;
      onSwap?: (m: LoadedModel) => void;
    },
  ) {}

  get current(): LoadedModel | undefined {
    return this.model;
  }

  async start(): Promise<void> {
    await this.refresh();
    const { logger } = this.options;
    this.listener = new ReconnectingListener(this.db, this.source.channel, () => void this.refresh(), {
      heartbeatMs: this.options.heartbeatMs,
      logger,
      // An activation may have been missed while the connection was away.
      onUp: () => void this.refresh(),
      onDown: (reason) => logger?.warn(`model activation notifications stopped arriving (${reason}): listening again`),
    });
    await this.listener.start();
    const pollMs = this.options.pollMs ?? 30_000;
    if (pollMs > 0) {
      this.timer = setInterval(() => void this.refresh(), pollMs);
      this.timer.unref();
    }
  }

  /** Checks the registry and swaps in the active version when it differs. Calls are serialised. */
  refresh(): Promise<void> {
    this.refreshing = this.refreshing.then(() => this.refreshOnce()).catch(() => {});
    return this.refreshing;
  }

  private async refreshOnce(): Promise<void> {
    if (this.stopped) return;
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
    if (this.stopped || !next) return;
    const previous = this.model;
    this.model = next;
    logger?.info(
      { algorithm: next.algorithm, version: next.version, previous: previous?.version ?? null },
      'model loaded',
    );
    this.options.onSwap?.(next);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.listener?.stop();
    await this.refreshing;
  }
}
