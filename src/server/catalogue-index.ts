import { GENRES } from '../core/features/genres.js';
import type { CatalogueEntry } from '../core/db/repositories/movies-query.js';
import { SetView } from './id-sets.js';

const GENRE_BIT = new Map<string, number>(GENRES.map((g, i) => [g, 1 << i]));

/** A genre list as a bit mask over GENRES; names outside GENRES (no filter may name them) have no bit. */
export function genreMask(genres: readonly string[] | undefined): number {
  let mask = 0;
  for (const g of genres ?? []) mask |= GENRE_BIT.get(g) ?? 0;
  return mask;
}

/**
 * One catalogue generation in columns (catalogue order): a filter then scans typed arrays instead of the entries'
 * genre lists, and its answer is one byte per movie rather than a Set of ids.
 */
export class CatalogueIndex {
  readonly position = new Map<number, number>();
  readonly ids: Float64Array;
  readonly genres: Uint32Array;
  /** NaN for a movie without a year. */
  readonly years: Float64Array;

  constructor(catalogue: ReadonlyMap<number, CatalogueEntry>) {
    this.ids = new Float64Array(catalogue.size);
    this.genres = new Uint32Array(catalogue.size);
    this.years = new Float64Array(catalogue.size);
    let k = 0;
    for (const [id, e] of catalogue) {
      this.position.set(id, k);
      this.ids[k] = id;
      this.genres[k] = genreMask(e.genres);
      this.years[k++] = e.year ?? NaN;
    }
  }
}

/** The movies of one CatalogueIndex whose flag is set, read as a set of movie ids. */
export class CatalogueSubset extends SetView<number> {
  constructor(
    private readonly index: CatalogueIndex,
    private readonly flags: Uint8Array,
    readonly size: number,
  ) {
    super();
  }

  has(movieId: number): boolean {
    const k = this.index.position.get(movieId);
    return k !== undefined && this.flags[k] === 1;
  }

  *values(): SetIterator<number> {
    for (let k = 0; k < this.flags.length; k++) if (this.flags[k] === 1) yield this.index.ids[k];
  }
}
