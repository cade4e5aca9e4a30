import { Rng } from '../../src/core/data/random.js';
import type { CatalogueEntry } from '../../src/core/db/repositories/movies-query.js';
import {
  catalogueExcluded,
  excludedByFilter,
  FILTER_MEMO_BYTES,
  filterBuilds,
  type CatalogueView,
  type MovieFilter,
} from '../../src/server/filters.js';
import { HttpError } from '../../src/server/http-errors.js';
import { genreListBuilds, genreSimilar, genreSimilarMemo } from '../../src/server/similar.js';

/** A few genres only, so many movies tie on score; ids in shuffled order, so catalogue order is not id order. */
const POOL = ['Action', 'Comedy', 'Drama', 'Horror', 'Romance'];

function randomCatalogue(rng: Rng, size: number): Map<number, CatalogueEntry> {
  const ids = Array.from({ length: size }, (_, i) => i * 3 + 1);
  for (let i = ids.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [ids[i], ids[j]] = [ids[j], ids[i]];
  }
  const out = new Map<number, CatalogueEntry>();
  for (const id of ids) {
    const genres = rng.next() < 0.03 ? ['(no genres listed)'] : POOL.filter(() => rng.next() < 0.35);
    if (rng.next() < 0.02 && genres.length > 0) genres.push(genres[0]);
    const year = rng.next() < 0.1 ? null : 1950 + rng.int(70);
    out.set(id, { title: `m${id}`, genres, year });
  }
  return out;
}

function view(entries: Map<number, CatalogueEntry>): CatalogueView & { generation: number } {
  return { generation: 1, all: () => entries };
}

/** A view whose generation gets movies added as CatalogueCache.lookup adds them: at the end, listed in `added`. */
function growingView(entries: Map<number, CatalogueEntry>) {
  const added: number[] = [];
  const catalogue = { generation: 1, all: () => entries, added };
  const add = (more: Map<number, CatalogueEntry>) => {
    for (const [id, e] of more) {
      entries.set(id, e);
      added.push(id);
    }
  };
  return { catalogue, add };
}

/** `count` movies of ids no catalogue has yet (catalogue order is still not id order). */
let newIds = 1_000_000;
function newMovies(rng: Rng, count: number): Map<number, CatalogueEntry> {
  const base = newIds;
  newIds += 3 * count;
  return new Map([...randomCatalogue(rng, count)].map(([id, e]) => [base + id, e]));
}

function randomIds(rng: Rng, entries: Map<number, CatalogueEntry>, count: number): Set<number> {
  const ids = [...entries.keys()];
  const out = new Set<number>();
  for (let i = 0; i < count; i++) out.add(ids[rng.int(ids.length)]);
  return out;
}

describe('genreSimilarMemo', () => {
  it('answers exactly as the reference on random catalogues, genre sets, n and exclusions', () => {
    const rng = new Rng(17, 'genre-similar');
    for (let round = 0; round < 30; round++) {
      const entries = randomCatalogue(rng, 1 + rng.int(400));
      const catalogue = view(entries);
      const ids = [...entries.keys()];
      for (let q = 0; q < 40; q++) {
        const movieId = rng.next() < 0.9 ? ids[rng.int(ids.length)] : 999_999;
        const genres = rng.next() < 0.9 ? (entries.get(movieId)?.genres ?? []) : POOL.filter(() => rng.next() < 0.5);
        const n = rng.int(30);
        const exclude = rng.next() < 0.5 ? randomIds(rng, entries, rng.int(ids.length)) : undefined;
        const expected = genreSimilar(entries, movieId, genres, n, exclude);
        expect(genreSimilarMemo(catalogue, movieId, genres, n, exclude)).toEqual(expected);
      }
    }
  });

  it('leaves out everything for a movie without genres, and ranks ties in catalogue order', () => {
    const entries = new Map<number, CatalogueEntry>([
      [9, { title: 'a', genres: ['Drama'], year: 2000 }],
      [2, { title: 'b', genres: ['Drama'], year: 2000 }],
      [5, { title: 'c', genres: [], year: 2000 }],
    ]);
    const catalogue = view(entries);
    expect(genreSimilarMemo(catalogue, 5, [], 10)).toEqual([]);
    expect(genreSimilarMemo(catalogue, 1, ['Drama'], 10).map((r) => r.movieId)).toEqual([9, 2]);
    expect(genreSimilarMemo(catalogue, 1, ['Drama'], 10)).toEqual(genreSimilar(entries, 1, ['Drama'], 10));
  });

  it('falls back to the reference when exclusions use up the kept prefix', () => {
    const rng = new Rng(17, 'genre-similar-prefix');
    const entries = randomCatalogue(rng, 6000);
    const catalogue = view(entries);
    // Nearly every movie excluded: the kept prefix of a common signature runs out before 100 are taken.
    const exclude = randomIds(rng, entries, 30_000);
    for (const movieId of [...entries.keys()].slice(0, 20)) {
      const genres = entries.get(movieId)!.genres;
      expect(genreSimilarMemo(catalogue, movieId, genres, 100, exclude)).toEqual(
        genreSimilar(entries, movieId, genres, 100, exclude),
      );
    }
  });

  it('merges movies added to the generation without building the lists again', () => {
    const rng = new Rng(17, 'genre-similar-added');
    for (let round = 0; round < 12; round++) {
      // Up to 2,500 movies: some genre sets share a genre with more than the kept prefix of 1,000.
      const entries = randomCatalogue(rng, 1 + rng.int(2500));
      const { catalogue, add } = growingView(entries);
      const signatures = Array.from({ length: 8 }, () => POOL.filter(() => rng.next() < 0.4));
      const ask = (exclude?: ReadonlySet<number>) => {
        for (const genres of signatures) {
          const ids = [...entries.keys()];
          const movieId = ids[rng.int(ids.length)];
          const n = 1 + rng.int(rng.next() < 0.2 ? 1100 : 30);
          expect(genreSimilarMemo(catalogue, movieId, genres, n, exclude)).toEqual(
            genreSimilar(entries, movieId, genres, n, exclude),
          );
        }
      };
      ask();
      const built = genreListBuilds.lists;
      for (let step = 0; step < 3; step++) {
        add(newMovies(rng, 1 + rng.int(40)));
        ask();
        ask(rng.next() < 0.5 ? randomIds(rng, entries, rng.int(entries.size)) : new Set(catalogue.added));
      }
      expect(genreListBuilds.lists).toBe(built);
    }
  });

  it('puts an added movie after the movies past the kept prefix', () => {
    const entries = new Map<number, CatalogueEntry>(
      Array.from({ length: 1005 }, (_, i) => [i + 1, { title: `m${i + 1}`, genres: ['Drama'], year: 2000 }]),
    );
    const { catalogue, add } = growingView(entries);
    expect(genreSimilarMemo(catalogue, 999_999, ['Drama'], 3).map((r) => r.movieId)).toEqual([1, 2, 3]);
    add(new Map([[5000, { title: 'new', genres: ['Drama', 'Comedy'], year: 2026 }]]));
    add(new Map([[5001, { title: 'newer', genres: ['Drama'], year: 2026 }]]));
    const got = genreSimilarMemo(catalogue, 999_999, ['Drama'], 1007);
    expect(got).toEqual(genreSimilar(entries, 999_999, ['Drama'], 1007));
    expect(got.slice(-3).map((r) => r.movieId)).toEqual([1005, 5001, 5000]);
    expect(genreSimilarMemo(catalogue, 999_999, ['Drama'], 1001).at(-1)?.movieId).toBe(1001);
  });

  it('answers from the new catalogue once the generation changes', () => {
    const entries = new Map<number, CatalogueEntry>([[1, { title: 'a', genres: ['Drama'], year: 2000 }]]);
    const catalogue = view(entries);
    expect(genreSimilarMemo(catalogue, 7, ['Drama'], 10).map((r) => r.movieId)).toEqual([1]);
    entries.set(3, { title: 'b', genres: ['Drama'], year: 2001 });
    catalogue.generation++;
    expect(genreSimilarMemo(catalogue, 7, ['Drama'], 10).map((r) => r.movieId)).toEqual([1, 3]);
  });
});

describe('excludedByFilter', () => {
  function randomFilter(rng: Rng, entries: Map<number, CatalogueEntry>): MovieFilter {
    const f: MovieFilter = {};
    if (rng.next() < 0.5) f.genres_any = POOL.filter(() => rng.next() < 0.4);
    if (rng.next() < 0.5) f.genres_none = POOL.filter(() => rng.next() < 0.3);
    if (rng.next() < 0.4) f.year_min = 1950 + rng.int(70);
    if (rng.next() < 0.4) f.year_max = (f.year_min ?? 1950) + rng.int(40);
    if (rng.next() < 0.5) f.exclude_movie_ids = [...randomIds(rng, entries, rng.int(6))];
    return f;
  }

  it('leaves out exactly what a scan of the catalogue does, memo or not', () => {
    const rng = new Rng(17, 'filters');
    for (let round = 0; round < 10; round++) {
      const entries = randomCatalogue(rng, 1 + rng.int(300));
      const catalogue = view(entries);
      for (let q = 0; q < 60; q++) {
        const f = randomFilter(rng, entries);
        const expected = catalogueExcluded(entries, f);
        for (const id of f.exclude_movie_ids ?? []) expected.add(id);
        const got = excludedByFilter(catalogue, f);
        expect(new Set(got)).toEqual(expected);
        expect(got.size).toBe(expected.size);
        expect([...entries.keys(), 999_999].filter((id) => got.has(id) !== expected.has(id))).toEqual([]);
      }
    }
  });

  it('leaves out exactly what a scan does after movies are added, without building anything again', () => {
    const rng = new Rng(17, 'filters-added');
    for (let round = 0; round < 10; round++) {
      const entries = randomCatalogue(rng, 1 + rng.int(300));
      const { catalogue, add } = growingView(entries);
      const filters = Array.from({ length: 30 }, () => randomFilter(rng, entries));
      const check = () => {
        for (const f of filters) {
          const expected = catalogueExcluded(entries, f);
          for (const id of f.exclude_movie_ids ?? []) expected.add(id);
          const got = excludedByFilter(catalogue, f);
          expect(new Set(got)).toEqual(expected);
          expect(got.size).toBe(expected.size);
          expect([...entries.keys()].filter((id) => got.has(id) !== expected.has(id))).toEqual([]);
        }
      };
      check();
      const built = { ...filterBuilds };
      for (let step = 0; step < 3; step++) {
        add(newMovies(rng, 1 + rng.int(20)));
        check();
      }
      expect(filterBuilds).toEqual(built);
    }
  });

  it('keeps as many sets as its bytes allow: thousands for a small catalogue, the oldest out past them', () => {
    const rng = new Rng(11);
    const entries = randomCatalogue(rng, 4_000);
    const catalogue = view(entries);
    // Distinct year ranges, each its own set of ~4,200 bytes: about 4,000 fit in the memo's bytes.
    const ranges = Array.from({ length: 4_500 }, (_, i) => ({
      year_min: 1900 + (i % 75),
      year_max: 1980 + Math.floor(i / 75),
    }));
    const fit = Math.floor(FILTER_MEMO_BYTES / 4_200);
    expect(fit).toBeLessThan(ranges.length);
    for (const f of ranges) excludedByFilter(catalogue, f);
    const built = filterBuilds.sets;
    const recent = ranges.slice(-1_500);
    for (const f of recent) expect(new Set(excludedByFilter(catalogue, f))).toEqual(catalogueExcluded(entries, f));
    expect(filterBuilds.sets).toBe(built);
    excludedByFilter(catalogue, ranges[0]);
    expect(filterBuilds.sets).toBe(built + 1);
  });

  it('builds the set again once the generation changes', () => {
    const entries = new Map<number, CatalogueEntry>([[1, { title: 'a', genres: ['Drama'], year: 2000 }]]);
    const catalogue = view(entries);
    expect([...excludedByFilter(catalogue, { genres_none: ['Drama'] })]).toEqual([1]);
    entries.set(2, { title: 'b', genres: ['Drama'], year: 2000 });
    catalogue.generation++;
    expect([...excludedByFilter(catalogue, { genres_none: ['Drama'] })].sort()).toEqual([1, 2]);
  });

  it('still rejects unknown genres and reversed years with the same 422', () => {
    const catalogue = view(new Map());
    const status = (f: MovieFilter): [number, string] => {
      try {
        excludedByFilter(catalogue, f);
      } catch (e) {
        if (e instanceof HttpError) return [e.status, e.message];
        throw e;
      }
      return [200, ''];
    };
    expect(status({ genres_any: ['Nope'] })[0]).toBe(422);
    expect(status({ genres_any: ['Nope'] })[1]).toMatch(/^filter\.genres_any: unknown genre "Nope"; known genres: /);
    expect(status({ genres_none: ['Nah'] })[1]).toMatch(/^filter\.genres_none: unknown genre "Nah"/);
    expect(status({ year_min: 2001, year_max: 2000 })).toEqual([
      422,
      'filter: year_min (2001) is after year_max (2000)',
    ]);
  });
});
