/**
 * bench:simulate — how fast the simulators are, each as a ratio of a reference measured in the same run:
 *  1. `simulate data`: ratings rows per second of the whole simulation (7 days over ml-latest-small's catalogue,
 *     2,000 users), against only formatting the same rows with csv-stringify and writing them (the floor any
 *     simulator pays). Ratio = reference time / simulation time (1 = the model costs nothing extra).
 *  2. `simulate traffic`: the request rate the traffic simulator sustains against a minimal node:http stand-in
 *     of the API (fixed answers, child process), against autocannon on the same server with the same
 *     concurrency. Ratio = simulator req/s / autocannon req/s: how much load one simulator can generate.
 * Env: BENCH_SECONDS (default 5), BENCH_CONCURRENCY (default 32).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { stringify } from 'csv-stringify/sync';
import { defaultCatalogueFile, readCatalogueFile } from '../src/core/simulation/catalogue.js';
import { simulateData } from '../src/core/simulation/data.js';
import { runTraffic } from '../src/core/simulation/traffic/run.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);

if (process.argv[2] === '--serve') serveStandIn();
else await main();

async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'reco-bench-sim-'));
  try {
    const data = await benchData(tmp);
    const traffic = await benchTraffic();
    const result = {
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
      data,
      traffic,
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

async function benchData(tmp: string) {
  const catalogue = readCatalogueFile(defaultCatalogueFile('/nonexistent'));
  const t0 = performance.now();
  const s = await simulateData({
    catalogue,
    start: '2018-09-25',
    days: 7,
    users: 2000,
    newMovies: 3,
    badRows: 0,
    seed: 1,
    out: path.join(tmp, 'sim'),
  });
  const simSeconds = (performance.now() - t0) / 1000;
  // Reference: the same rows (ratings and movies), already in memory, only stringified and written.
  const files = s.day_summaries.flatMap((d) => [d.files.ratings.path, d.files.movies.path]);
  const tables = files.map((f) =>
    fs
      .readFileSync(f, 'utf8')
      .trimEnd()
      .split('\n')
      .slice(1)
      .map((l) => l.split(',')),
  );
  const t1 = performance.now();
  tables.forEach((rows, i) => fs.writeFileSync(path.join(tmp, `ref-${i}.csv`), 'h\n' + stringify(rows)));
  const refSeconds = (performance.now() - t1) / 1000;
  return {
    days: 7,
    ratings: s.totals.ratings,
    movie_rows: s.day_summaries.reduce((a, d) => a + d.files.movies.rows, 0),
    simulate_seconds: round(simSeconds),
    ratings_per_second: Math.round(s.totals.ratings / simSeconds),
    reference_format_and_write_seconds: round(refSeconds),
    ratio_reference_over_simulation: round(refSeconds / simSeconds),
  };
}

async function benchTraffic() {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, '--serve'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.once('data', (d) => resolve(JSON.parse(String(d)).url));
      child.once('exit', (code) => reject(new Error(`stand-in server exited ${code}`)));
    });
    const sim = await runTraffic({
      url,
      duration: SECONDS,
      rate: 100_000,
      concurrency: CONCURRENCY,
      users: 1_000_000,
      seed: 1,
      diurnal: false,
      allowRemote: false,
      username: 'bench',
      password: 'bench',
    });
    const ac = await autocannon({
      url: `${url}/recommendations`,
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer x' },
      body: JSON.stringify({ user_id: 1, n: 10 }),
      connections: CONCURRENCY,
      duration: SECONDS,
    });
    return {
      seconds: SECONDS,
      concurrency: CONCURRENCY,
      simulator_rps: sim.throughput_rps,
      simulator_latency_ms: sim.latency_ms,
      simulator_unexpected_errors: sim.errors.unexpected,
      autocannon_rps: round(ac.requests.average),
      autocannon_p99_ms: ac.latency.p99,
      ratio_simulator_over_autocannon: round(sim.throughput_rps / ac.requests.average),
    };
  } finally {
    child.kill('SIGTERM');
  }
}

/** A stand-in of the API with fixed answers: the reference target, cheap enough that the client is the limit. */
function serveStandIn() {
  const recs = JSON.stringify({
    user_id: 1,
    created: false,
    model: { algorithm: 'bench', version: 'v' },
    recommendations: [],
    ignored_movie_ids: [],
  });
  const movies = JSON.stringify({
    total: 50,
    limit: 100,
    offset: 0,
    movies: Array.from({ length: 50 }, (_, i) => ({ movie_id: i + 1, title: `M ${i}`, genres: [], year: null })),
  });
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const [status, body] =
        req.url === '/create-client'
          ? [201, '{"username":"bench","created_at":"2026-01-01T00:00:00.000Z"}']
          : req.url === '/token'
            ? [200, '{"access_token":"x","token_type":"bearer","expires_in":3600}']
            : req.url?.startsWith('/movies')
              ? [200, movies]
              : [200, recs];
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  server.keepAliveTimeout = 65_000;
  server.listen(0, '127.0.0.1', () =>
    process.stdout.write(
      `${JSON.stringify({ url: `http://127.0.0.1:${(server.address() as { port: number }).port}` })}\n`,
    ),
  );
  process.on('SIGTERM', () => process.exit(0));
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
