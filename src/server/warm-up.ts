import { setImmediate as yieldToRequests } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { RecoMetrics } from '../core/metrics/registry.js';
import type { Recommender } from '../core/models/types.js';
import { warmColdStart } from './cold-start.js';
import { warmFilters, type CatalogueView } from './filters.js';
import { commonGenreSignatures, genreListBuilds, warmGenreSimilar } from './similar.js';

/** Default bound of /similar's genre lists at a warm-up; the rest are built on demand. */
export const DEFAULT_WARM_UP_BUDGET_MS = 1000;
/** Work between two yields to the event loop, so that requests of the served model keep flowing meanwhile. */
const SLICE_MS = 10;

export type WarmUpReason = 'start' | 'model' | 'catalogue';

export interface WarmUpFigures {
  reason: WarmUpReason;
  ms: number;
  /** Models whose kept list for an empty history (cold-start.ts) was built. */
  models: number;
  /** Filter sets built (filters.ts), after the catalogue in columns. */
  filterSets: number;
  /** Ranked lists of /similar's genre fallback built (similar.ts), the most common genre sets first. */
  genreLists: number;
  /** Whether the budget ran out before every genre set of the catalogue had its list. */
  cut: boolean;
  /** Parts that failed (logged); what they would have built is built on demand instead. */
  failed: string[];
}

/**
 * What requests would otherwise build on first use, built before they come: at start (before the server
 * listens), for a model before it is swapped in, and for a catalogue generation as it is published. Each part
 * stands alone: one that fails is logged and leaves its structure to be built on demand, never stopping the
 * server. /similar's genre lists, the one part that grows with the catalogue's genre sets, stop at the budget.
 */
export class WarmUp {
  constructor(
    private readonly catalogue: CatalogueView,
    private readonly options: { budgetMs?: number; logger?: Logger; metrics?: RecoMetrics } = {},
  ) {}

  /** Everything: the models' cold-start lists, the filters and the genre lists of the current catalogue. */
  start(models: readonly Recommender[]): Promise<WarmUpFigures> {
    return this.run('start', models, true);
  }

  /** A model about to be served (a hot swap or an experiment's variant): its cold-start list. */
  model(model: Recommender): Promise<WarmUpFigures> {
    return this.run('model', [model], false);
  }

  /**
   * A catalogue generation just published: its filter structures now (before any request can run: this part does
   * not yield), then the genre lists in slices.
   */
  catalogueChanged(): Promise<WarmUpFigures> {
    return this.run('catalogue', [], true);
  }

  private async run(reason: WarmUpReason, models: readonly Recommender[], catalogue: boolean): Promise<WarmUpFigures> {
    const { logger, metrics } = this.options;
    const started = performance.now();
    const figures: WarmUpFigures = { reason, ms: 0, models: 0, filterSets: 0, genreLists: 0, cut: false, failed: [] };
    const part = (name: string, fn: () => void) => {
      try {
        fn();
      } catch (err) {
        figures.failed.push(name);
        logger?.warn({ err, reason, part: name }, `warm-up: ${name} failed; built on demand instead`);
      }
    };
    if (catalogue) part('filters', () => (figures.filterSets = warmFilters(this.catalogue)));
    for (const m of models) part('cold-start list', () => (warmColdStart(m), figures.models++));
    if (catalogue) {
      try {
        await this.genreLists(started, figures);
      } catch (err) {
        figures.failed.push('genre lists');
        logger?.warn({ err, reason, part: 'genre lists' }, 'warm-up: genre lists failed; built on demand instead');
      }
    }
    figures.ms = Math.round(performance.now() - started);
    metrics?.warmUpSeconds.set({ reason }, figures.ms / 1000);
    logger?.info(
      {
        reason,
        ms: figures.ms,
        models: figures.models,
        filter_sets: figures.filterSets,
        genre_lists: figures.genreLists,
        cut: figures.cut,
        failed: figures.failed,
      },
      `warm-up: ${figures.ms} ms`,
    );
    return figures;
  }

  /** /similar's genre lists, the most common genre sets first, until the budget; stops if the generation changes. */
  private async genreLists(started: number, figures: WarmUpFigures): Promise<void> {
    const budget = this.options.budgetMs ?? DEFAULT_WARM_UP_BUDGET_MS;
    const generation = this.catalogue.generation;
    const before = genreListBuilds.lists;
    let slice = performance.now();
    for (const genres of commonGenreSignatures(this.catalogue)) {
      const now = performance.now();
      if (now - started >= budget) {
        figures.cut = true;
        break;
      }
      if (now - slice >= SLICE_MS) {
        await yieldToRequests();
        slice = performance.now();
        if (this.catalogue.generation !== generation) break;
      }
      warmGenreSimilar(this.catalogue, genres);
    }
    figures.genreLists = genreListBuilds.lists - before;
  }
}
