import type { Database } from '../core/db/types.js';
import {
  catalogueSignature,
  findMovies,
  loadCatalogueEntries,
  type CatalogueEntry,
} from '../core/db/repositories/movies-query.js';

/**
 * Titles and genres of the catalogue in memory, so a recommendation answers without a query for them. A movie
 * missing from the cache (ingested after the last refresh) is looked up in the database and remembered.
 */
export class CatalogueCache {
  private entries = new Map<number, CatalogueEntry>();
  private signature = '';
  /** Changes whenever an entry may have: lists rendered with titles from an older generation are rendered again. */
  generation = 0;

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
    this.signature = sig;
    this.generation++;
    this.onChange?.();
  }

  /** Every cached movie (for filters and the genre fallback of /similar). */
  all(): ReadonlyMap<number, CatalogueEntry> {
    return this.entries;
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
      for (const [id, e] of await findMovies(this.db, misses)) {
        this.entries.set(id, e);
        found.set(id, e);
        this.generation++;
      }
    }
    return found;
  }
}
