import type { Database } from '../core/db/types.js';
import {
  catalogueSignature,
  findMovies,
  loadCatalogueEntries,
  type CatalogueEntry,
} from '../core/db/repositories/movies-query.js';

/** Absent ids remembered per generation; past them, every movie lookup adds changes answersGeneration. */
const MAX_ABSENT = 100_000;

/**
 * Titles and genres of the catalogue in memory, so a recommendation answers without a query for them. A movie
 * missing from the cache (ingested after the last refresh) is looked up in the database and remembered: it joins
 * the current generation (`added`) until the next refresh publishes a new one.
 */
export class CatalogueCache {
  private entries = new Map<number, CatalogueEntry>();
  private signature = '';
  /**
   * Changes as a refresh publishes the catalogue (titles, genres or years may have changed): the filter sets and
   * /similar's genre lists are built again. Not when lookup adds a movie: they take it in as they are read
   * (`added`), without being built again.
   */
  generation = 0;
  private addedIds: number[] = [];
  /**
   * What the kept answers (answer-cache.ts) depend on: changes with `generation`, and when lookup adds a movie
   * that an answer may have left out. An answer never rendered a movie missing from the cache (render looks it
   * up first), so an added movie changes only the answers that asked for it while the database did not have it
   * (a movie of the model not yet, or no longer, in the catalogue): lookup remembers those ids (`absent`).
   */
  answersGeneration = 0;
  /** Ids lookup asked the database for and did not find, this generation (undefined: too many to remember). */
  private absent: Set<number> | undefined = new Set();

  /**
   * @param onChange called as a refresh publishes a new generation, before any request can read it (warm-up.ts
   *   builds the structures of that generation)
   */
  constructor(
    private readonly db: Database,
    private readonly onChange?: () => void,
  ) {}

  async refresh(): Promise<void> {
    const sig = await catalogueSignature(this.db);
    if (sig === this.signature) return;
    this.entries = await loadCatalogueEntries(this.db);
    this.addedIds = [];
    this.absent = new Set();
    this.signature = sig;
    this.generation++;
    this.answersGeneration++;
    this.onChange?.();
  }

  /** Every cached movie (for filters and the genre fallback of /similar). */
  all(): ReadonlyMap<number, CatalogueEntry> {
    return this.entries;
  }

  /** The movies lookup added to this generation, in order (the last entries of `all()`). */
  get added(): readonly number[] {
    return this.addedIds;
  }

  get(movieId: number): CatalogueEntry | undefined {
    return this.entries.get(movieId);
  }

  /** The entries of `ids` that exist in the catalogue (cache first, then one query for the misses). */
  async lookup(ids: readonly number[]): Promise<Map<number, CatalogueEntry>> {
    const found = new Map<number, CatalogueEntry>();
    const misses: number[] = [];
    for (const id of ids) {
      const e = this.entries.get(id);
      if (e) found.set(id, e);
      else misses.push(id);
    }
    if (misses.length > 0) {
      const inDatabase = await findMovies(this.db, misses);
      for (const [id, e] of inDatabase) {
        // Another lookup of the same movie, or a refresh, may have added it meanwhile.
        if (this.entries.has(id)) {
          found.set(id, this.entries.get(id)!);
          continue;
        }
        this.entries.set(id, e);
        this.addedIds.push(id);
        found.set(id, e);
        if (this.absent === undefined || this.absent.has(id)) this.answersGeneration++;
      }
      for (const id of misses) {
        if (inDatabase.has(id)) continue;
        // Added by another lookup since this one asked: the caller's answer leaves out a movie the cache has.
        if (this.entries.has(id)) this.answersGeneration++;
        else if (this.absent !== undefined) {
          this.absent.add(id);
          if (this.absent.size > MAX_ABSENT) this.absent = undefined;
        }
      }
    }
    return found;
  }
}
