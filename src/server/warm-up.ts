import { setImmediate as yieldToRequests } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { RecoMetrics } from '../core/metrics/registry.js';
import type { Recommender } from '../core/models/types.js';
import { warmColdStart } from './cold-start.js';
import { filterBuilds, ONE_GENRE_FILTERS, warmFilter, warmFilterIndex, type CatalogueView } from './filters.js';
import { commonGenreSignatures, genreListBuilds, warmGenreSimilar } from './similar.js';

/** Default bound of a warm-up's filter sets and genre lists; what is left is built on demand. */
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
  /** Whether the budget ran out before every one-genre filter had its set and every genre set its list. */
  cut: boolean;
  /** Parts that failed (logged); what they would have built is built on demand instead. */
  failed: string[];
}

/**
 * What requests would otherwise build on first use, built before they come: at start (before the server
 * listens), for a model before it is swapped in, and for a catalogue generation as it is published. Each part
 * stands alone: one that fails is logged and leaves its structure to be built on demand, never stopping the
 * server. The filter sets and /similar's genre lists (these grow with the catalogue's genre sets) are built in
 * slices of SLICE_MS between which requests run, and stop at the budget.
 */
export class WarmUp {
  constructor(
    private readonly catalogue: CatalogueView,
    private readonly options: { budgetMs?: number; logger?: Logger; metrics?: RecoMetrics } = {},
  ) {}

  /** Everything: the models' cold-start lists, the filter structures and the genre lists of the catalogue. */
  start(models: readonly Recommender[]): Promise<WarmUpFigures> {
    return this.run('start', models, true);
  }

  /**
   * A model about to be served (a hot swap or an experiment's variant): its cold-start list, after the warm-up of
   * a catalogue generation published meanwhile (a swap refreshes the catalogue first) has finished.
   */
  async model(model: Recommender): Promise<WarmUpFigures> {
    await this.catalogueRun;
    return this.run('model', [model], false);
  }

  /**
   * A catalogue generation just published: its catalogue in columns now (before any request can read it: this
   * part does not yield), then the one-genre filter sets and the genre lists in slices.
   */
  catalogueChanged(): Promise<WarmUpFigures> {
    const run = this.run('catalogue', [], true);
    this.catalogueRun = run.catch(() => {});
    return run;
  }

  /** The latest catalogue warm-up (settled: a failure is the caller's to log). */
  private catalogueRun: Promise<unknown> = Promise.resolve();

  private async run(reason: WarmUpReason, models: readonly Recommender[], catalogue: boolean): Promise<WarmUpFigures> {
    const { logger, metrics } = this.options;
    const started = performance.now();
    const figures: WarmUpFigures = { reason, ms: 0, models: 0, filterSets: 0, genreLists: 0, cut: false, failed: [] };
    const part = async (name: string, fn: () => unknown) => {
      try {
        await fn();
      } catch (err) {
        figures.failed.push(name);
        logger?.warn({ err, reason, part: name }, `warm-up: ${name} failed; built on demand instead`);
      }
    };
    if (catalogue) await part('filters', () => warmFilterIndex(this.catalogue));
    for (const m of models) await part('cold-start list', () => (warmColdStart(m), figures.models++));
    if (catalogue) await part('filter sets and genre lists', () => this.sliced(started, figures));
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

  /**
   * The one-genre filter sets, then /similar's genre lists (the most common genre sets first), in slices between
   * which requests run; until the budget, and not past a change of the catalogue's generation.
   */
  private async sliced(started: number, figures: WarmUpFigures): Promise<void> {
    const budget = this.options.budgetMs ?? DEFAULT_WARM_UP_BUDGET_MS;
    const generation = this.catalogue.generation;
    const sets = filterBuilds.sets;
    const lists = genreListBuilds.lists;
    let slice = performance.now();
    const next = async (): Promise<boolean> => {
      const now = performance.now();
      if (now - started >= budget) {
        figures.cut = true;
        return false;
      }
      if (now - slice >= SLICE_MS) {
        await yieldToRequests();
        slice = performance.now();
      }
      return this.catalogue.generation === generation;
    };
    try {
      for (const f of ONE_GENRE_FILTERS) {
        if (!(await next())) return;
        warmFilter(this.catalogue, f);
      }
      for (const genres of commonGenreSignatures(this.catalogue)) {
        if (!(await next())) return;
        warmGenreSimilar(this.catalogue, genres);
      }
    } finally {
      figures.filterSets = filterBuilds.sets - sets;
      figures.genreLists = genreListBuilds.lists - lists;
    }
  }
}
