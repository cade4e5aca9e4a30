import fs from 'node:fs';
import path from 'node:path';
import { RecoError } from '../errors.js';
import { Rng } from '../data/random.js';
import { ShapedWorld, type WorldParams, type WorldShape } from './shaped-world.js';

/** MovieLens shapes (ratings, movies, users) `--shape` accepts. */
export const SHAPES = {
  'ml-latest-small': { ratings: 100_836, movies: 9_742, users: 610 },
  'ml-1m': { ratings: 1_000_209, movies: 3_706, users: 6_040 },
  'ml-10m': { ratings: 10_000_054, movies: 10_677, users: 69_878 },
  'ml-20m': { ratings: 20_000_263, movies: 26_744, users: 138_493 },
  'ml-25m': { ratings: 25_000_095, movies: 62_423, users: 162_541 },
} as const;
export type ShapeName = keyof typeof SHAPES;

export const WORLD_FILE = 'world.json';
const WORLD_FORMAT = 'reco-shaped-world/1';
const FLUSH_CHARS = 1 << 20;

export interface ShapedDataOptions extends WorldShape {
  out: string;
  force?: boolean;
  onProgress?: (usersDone: number, ratingsDone: number) => void;
}

export interface ShapedDataSummary {
  out: string;
  files: { movies: string; ratings: string; world: string };
  seed: number;
  niche: boolean;
  ratings: number;
  movies: number;
  users: number;
  seconds: number;
}

/** What world.json holds: enough to rebuild the world (and its oracle) exactly. */
export interface WorldFile {
  format: string;
  shape: WorldShape;
  params: WorldParams;
}

export function validateShape(s: WorldShape): void {
  const int = (name: string, v: number, lo: number, hi: number) => {
    if (!Number.isInteger(v) || v < lo || v > hi)
      throw new RecoError(`--${name} must be a whole number from ${lo} to ${hi} (got ${v})`);
  };
  int('movies', s.movies, 10, 5_000_000);
  int('users', s.users, 1, 50_000_000);
  int('ratings', s.ratings, s.users, 2_000_000_000);
  int('seed', s.seed, 0, 2 ** 31 - 1);
  if (s.ratings > s.users * Math.floor(s.movies / 2))
    throw new RecoError(
      `--ratings ${s.ratings} is more than half of every user rating every movie: add --movies or --users`,
    );
}

/**
 * Writes `out/movies.csv`, `out/ratings.csv` (the initial_data format; ratings by user, then time) and
 * `out/world.json`. Streams: one user's ratings at a time, written in 1 MB chunks, so memory stays bounded by
 * the catalogue and the user table whatever the number of ratings. Same options → same bytes.
 */
export async function writeShapedData(o: ShapedDataOptions): Promise<ShapedDataSummary> {
  validateShape(o);
  const started = performance.now();
  const files = {
    movies: path.join(o.out, 'movies.csv'),
    ratings: path.join(o.out, 'ratings.csv'),
    world: path.join(o.out, WORLD_FILE),
  };
  if (!o.force) {
    const existing = Object.values(files).find((f) => fs.existsSync(f));
    if (existing)
      throw new RecoError(`${existing} already exists`, {
        hint: 'pass --force to replace it, or choose another --out',
      });
  }
  fs.mkdirSync(o.out, { recursive: true });
  const shape: WorldShape = { ratings: o.ratings, movies: o.movies, users: o.users, seed: o.seed, niche: o.niche };
  const world = new ShapedWorld(shape);

  let text = 'movieId,title,genres\n';
  for (let i = 0; i < o.movies; i++)
    text += `${i + 1},Synthetic Movie ${i + 1} (${world.year[i]}),${world.nicheGenres[world.niche[i]].join('|')}\n`;
  writeAtomically(files.movies, (fd) => fs.writeSync(fd, text));

  const tmp = `${files.ratings}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w');
  let written = 0;
  try {
    let buf = 'userId,movieId,rating,timestamp\n';
    const seenBy = new Int32Array(o.movies);
    for (let id = 1; id <= o.users; id++) {
      buf += userRatings(world, id, seenBy);
      written += world.counts[id - 1];
      if (buf.length >= FLUSH_CHARS) {
        fs.writeSync(fd, buf);
        buf = '';
      }
      if (id % 5000 === 0) {
        o.onProgress?.(id, written);
        // Let a progress bar (and signals) run: a long run is otherwise one blocking loop.
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    fs.writeSync(fd, buf);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, files.ratings);
  const worldFile: WorldFile = { format: WORLD_FORMAT, shape, params: world.params };
  writeAtomically(files.world, (fd) => fs.writeSync(fd, JSON.stringify(worldFile, null, 2) + '\n'));
  o.onProgress?.(o.users, written);
  return {
    out: o.out,
    files,
    seed: o.seed,
    niche: o.niche,
    ratings: written,
    movies: o.movies,
    users: o.users,
    seconds: (performance.now() - started) / 1000,
  };
}

/** One user's rows: sessions spread over the user's active span, movies drawn without repetition. */
function userRatings(world: ShapedWorld, id: number, seenBy: Int32Array): string {
  const user = world.user(id);
  const rng = new Rng(world.shape.seed, 'shaped ratings', id);
  const n = user.ratings;
  const sessions = Math.max(1, Math.round(n / user.sessionSize));
  const starts = Array.from({ length: sessions }, () => user.firstAt + rng.next() * user.span).sort((a, b) => a - b);
  let out = '';
  let r = 0;
  for (let s = 0; s < sessions; s++) {
    const size = Math.floor(n / sessions) + (s < n % sessions ? 1 : 0);
    let t = starts[s];
    for (let j = 0; j < size; j++, r++) {
      const movie = unseenMovie(world, world.drawComponent(user, rng), rng, seenBy, id);
      seenBy[movie] = id;
      out += `${id},${movie + 1},${world.rate(user, movie, rng).toFixed(1)},${Math.floor(t)}\n`;
      t += 5 + rng.int(120);
    }
  }
  return out;
}

function unseenMovie(world: ShapedWorld, component: number, rng: Rng, seenBy: Int32Array, id: number): number {
  for (let attempt = 0; attempt < 30; attempt++) {
    const i = world.drawMovie(component, rng);
    if (seenBy[i] !== id) return i;
  }
  for (let attempt = 0; attempt < 30; attempt++) {
    const i = world.drawMovie(-1, rng);
    if (seenBy[i] !== id) return i;
  }
  // A user who has seen most of what they would pick: the next unseen movie from a random place (a user rates at
  // most half of the catalogue, so there is one).
  const m = seenBy.length;
  for (let i = rng.int(m), k = 0; k < m; k++, i = (i + 1) % m) if (seenBy[i] !== id) return i;
  throw new Error('no unseen movie left');
}

function writeAtomically(file: string, write: (fd: number) => void): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w');
  try {
    write(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

/** The world saved beside a data folder, or undefined when the folder has none. */
export function readWorldBeside(dir: string): ShapedWorld | undefined {
  const file = path.join(dir, WORLD_FILE);
  if (!fs.existsSync(file)) return undefined;
  const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as WorldFile;
  if (parsed.format !== WORLD_FORMAT) throw new RecoError(`${file} is not a ${WORLD_FORMAT} file`);
  return new ShapedWorld(parsed.shape);
}
