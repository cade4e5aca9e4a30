/**
 * bench:model-memory — what one more model in memory costs a server (an experiment's variant): each algorithm
 * fitted on data/initial_data (ml-latest-small), its artifact loaded as the server loads it (loadModel), and the
 * process's heap + external memory (ArrayBuffers and WebAssembly memories: EASE's rows live in one, dense-rows.ts)
 * growth measured around the load after forced garbage collections; beside it the
 * bytes of the typed arrays the model reaches (typedArrayBytes, what the server logs when it loads a variant) and
 * the artifact's size. Run with --expose-gc (the npm script does). Env: BENCH_ALGORITHMS (comma-separated).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './children.js';
import { buildInteractions } from '../src/core/data/interactions.js';
import { getAlgorithm } from '../src/core/training/algorithms.js';
import { typedArrayBytes } from '../src/server/experiment-holder.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc (npm run bench:model-memory)');

function readCsv(file: string): string[][] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .slice(1)
    .filter((l) => l.length > 0)
    .map((l) => l.split(','));
}

/**
 * Heap and external bytes in use once garbage is collected (ArrayBuffers are freed after a turn of the loop).
 * `external` holds the ArrayBuffers and the WebAssembly memories, which `arrayBuffers` leaves out.
 */
async function used(): Promise<number> {
  for (let i = 0; i < 4; i++) {
    gc!();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

/** In a child: the growth of one artifact's load, as the server loads a version (bytes into a Buffer, loadModel). */
async function measure(file: string): Promise<void> {
  const probe = (await import('../src/core/models/index.js')).loadModel;
  const before = await used();
  let bytes: Buffer | undefined = fs.readFileSync(file);
  const artifact = bytes.byteLength;
  const model = probe(bytes);
  bytes = undefined; // the server keeps the model, not the bytes it was read from
  // Models that build lookups lazily build them on the first request: measure after one.
  model.recommend({ movieIds: [1, 2, 3, 260, 318] }, 10);
  const after = await used();
  console.log(
    JSON.stringify({
      artifact_mb: mb(artifact),
      heap_plus_external_mb: mb(after - before),
      typed_array_mb: mb(typedArrayBytes(model)),
    }),
  );
}

async function main() {
  const rows = readCsv(path.join(ROOT, 'data/initial_data/ratings.csv'));
  const data = buildInteractions({
    userIds: Float64Array.from(rows, (r) => Number(r[0])),
    movieIds: Int32Array.from(rows, (r) => Number(r[1])),
    ratings: Float32Array.from(rows, (r) => Number(r[2])),
    timestamps: Float64Array.from(rows, (r) => Number(r[3])),
  });
  const genres = new Map<number, string[]>();
  for (const line of fs.readFileSync(path.join(ROOT, 'data/initial_data/movies.csv'), 'utf8').split('\n').slice(1)) {
    const m = /^(\d+),.*,([^,]*)$/.exec(line.trim());
    if (m) genres.set(Number(m[1]), m[2].split('|'));
  }
  const algorithms = (process.env.BENCH_ALGORITHMS ?? 'popular,item-knn,rp3beta,ease,ease-session').split(',');
  // Fitted first, artifacts to files: the fitting's memory is gone before anything is measured.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reco-model-memory-'));
  for (const name of algorithms) {
    const fitted = getAlgorithm(name).create();
    await fitted.fit(data, { genres });
    fs.writeFileSync(path.join(dir, name), fitted.serialize());
  }
  const out = [];
  for (const name of algorithms) {
    // Each load in a process of its own: nothing left over from another model's load is counted.
    const r = spawnSync(
      process.execPath,
      [...process.execArgv, new URL(import.meta.url).pathname, '--measure', path.join(dir, name)],
      { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } },
    );
    if (r.status !== 0) throw new Error(`measuring ${name} failed: ${r.stderr}`);
    out.push({ algorithm: name, ...JSON.parse(r.stdout) });
    console.error(JSON.stringify(out.at(-1)));
  }
  fs.rmSync(dir, { recursive: true, force: true });
  console.log(
    JSON.stringify(
      {
        machine: { cpus: os.cpus().length, node: process.version },
        data: { users: data.nUsers, movies: data.nItems, ratings: data.indices.length },
        models: out,
      },
      null,
      2,
    ),
  );
}

const mb = (b: number) => Math.round((b / 1048576) * 10) / 10;

const at = process.argv.indexOf('--measure');
(at > 0 ? measure(process.argv[at + 1]) : main()).catch((err) => {
  console.error(err);
  process.exit(1);
});
