/**
 * bench:catalogue — the per-request catalogue work of `reco serve` at MovieLens 25M's catalogue size
 * (docs/benchmarks/serve.md): a filter's excluded set (`excludedByFilter`) and the genre fallback of /similar
 * (`genreSimilarMemo`), each against its plain reference (a scan of the whole catalogue per request) in the same
 * process on the same request stream. The catalogue is synthetic: BENCH_MOVIES movies (default 62,423) with 0–4
 * genres drawn with MovieLens-like frequencies and a year for 95 % of them; the requests mimic
 * `reco simulate traffic` (genres_none of disliked genres or genres_any of liked ones, year_min 1990 for 30 %, 5
 * watched ids excluded; /similar?n=10 of a random movie). Env: BENCH_REQUESTS (default 2,000 per path).
 */
import os from 'node:os';
import { Rng } from '../src/core/data/random.js';
import type { CatalogueEntry } from '../src/core/db/repositories/movies-query.js';
import { GENRES } from '../src/core/features/genres.js';
import { catalogueExcluded, excludedByFilter, type CatalogueView, type MovieFilter } from '../src/server/filters.js';
import { genreSimilar, genreSimilarMemo } from '../src/server/similar.js';

const MOVIES = Number(process.env.BENCH_MOVIES ?? 62_423);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 2000);
/** Rough shares of MovieLens 25M's movies per genre, in GENRES order where listed; the rest get 0.03. */
const SHARE: Record<string, number> = { Drama: 0.41, Comedy: 0.27, Thriller: 0.14, Romance: 0.12, Action: 0.12 };

const rng = new Rng(62423, 'bench-catalogue');
const entries = new Map<number, CatalogueEntry>();
for (let i = 0; i < MOVIES; i++) {
  const id = 1 + i * 3 + rng.int(3);
  const genres = GENRES.filter((g) => rng.next() < (SHARE[g] ?? 0.03)).slice(0, 4);
  entries.set(id, { title: `m${id}`, genres, year: rng.next() < 0.05 ? null : 1900 + rng.int(124) });
}
const ids = [...entries.keys()];
const catalogue: CatalogueView = { generation: 1, all: () => entries };

function someGenres(max: number): string[] {
  const out = new Set<string>();
  const count = 1 + rng.int(max);
  while (out.size < count) out.add(GENRES[rng.int(GENRES.length)]);
  return [...out];
}

function filterRequest(): MovieFilter {
  const f: MovieFilter = {};
  if (rng.next() < 0.7) f.genres_none = someGenres(2);
  else f.genres_any = someGenres(3);
  if (rng.next() < 0.3) f.year_min = 1990;
  if (rng.next() < 0.8) f.exclude_movie_ids = Array.from({ length: 5 }, () => ids[rng.int(ids.length)]);
  return f;
}

/** Milliseconds per call: mean and 99th percentile. */
function time(calls: (() => unknown)[]): { mean_ms: number; p99_ms: number } {
  const ms: number[] = [];
  for (const call of calls) {
    const t = process.hrtime.bigint();
    call();
    ms.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  ms.sort((a, b) => a - b);
  const mean = ms.reduce((s, x) => s + x, 0) / ms.length;
  return { mean_ms: +mean.toFixed(4), p99_ms: +ms[Math.floor(ms.length * 0.99)].toFixed(4) };
}

function referenceExcluded(f: MovieFilter): Set<number> {
  const out = catalogueExcluded(entries, f);
  for (const id of f.exclude_movie_ids ?? []) out.add(id);
  return out;
}

const filters = Array.from({ length: REQUESTS }, filterRequest);
const similar = Array.from({ length: REQUESTS }, () => ids[rng.int(ids.length)]);
const uptimeBefore = os.loadavg();
// Alternated so both see the same machine; the memo starts empty, so its misses are in the figures.
const filterRef = time(filters.map((f) => () => referenceExcluded(f)));
const filterMemo = time(filters.map((f) => () => excludedByFilter(catalogue, f).has(1)));
const similarRef = time(similar.map((id) => () => genreSimilar(entries, id, entries.get(id)!.genres, 10)));
const similarMemo = time(similar.map((id) => () => genreSimilarMemo(catalogue, id, entries.get(id)!.genres, 10)));
const ratio = (a: { mean_ms: number }, b: { mean_ms: number }) => +(a.mean_ms / b.mean_ms).toFixed(1);
console.log(
  JSON.stringify(
    {
      date: new Date().toISOString(),
      cores: os.cpus().length,
      loadavg_before: uptimeBefore,
      loadavg_after: os.loadavg(),
      movies: entries.size,
      requests_per_path: REQUESTS,
      filter: { reference: filterRef, memo: filterMemo, speedup: ratio(filterRef, filterMemo) },
      similar: { reference: similarRef, memo: similarMemo, speedup: ratio(similarRef, similarMemo) },
    },
    null,
    2,
  ),
);
