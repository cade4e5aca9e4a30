/**
 * bench:metrics — what the metrics of one answered POST /recommendations cost (docs/benchmarks/serve.md): the
 * request counter, the duration histogram, the recommendations and cache-hit counters, once through the
 * server's hand-written slots (src/core/metrics: CounterBatch, BatchedHistogram) and once through prom-client's
 * own Counter and Histogram with the same labels, alternated in this process. CPU nanoseconds per request
 * (process.cpuUsage), median of BENCH_ROUNDS (default 9) rounds of BENCH_N (default 2,000,000) requests, per part
 * and for the whole mix. The share of a request is the difference over bench:serve's CPU per request of the API.
 */
import os from 'node:os';
import { Counter, Histogram, Registry } from 'prom-client';
import { BatchedHistogram } from '../src/core/metrics/batched-histogram.js';
import { CounterBatch } from '../src/core/metrics/counter-batch.js';
import { median } from './children.js';

const N = Number(process.env.BENCH_N ?? 2_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const BOUNDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const httpLabels = ['method', 'route', 'status_code'] as const;
const modelLabels = ['algorithm', 'version'] as const;
type Model = { algorithm: string; version: string };
const model: Model = { algorithm: 'ease-session', version: '20261206T134748Z-ease-session-2f49' };
const seconds = (i: number) => 0.0004 + (i & 7) * 0.00001;

/** As src/server/metrics-middleware.ts (routeRecorder) and recommend.ts (countServed) use them. */
function handWritten() {
  const register = new Registry();
  const http = new CounterBatch<(typeof httpLabels)[number]>();
  const recs = new CounterBatch<(typeof modelLabels)[number]>();
  const hits = new CounterBatch<(typeof modelLabels)[number]>();
  const histogram = new BatchedHistogram('h_seconds', 'h', httpLabels, BOUNDS, [register]);
  const key = 'POST /recommendations 200';
  const counted = http.slot(key, () => ({ method: 'POST', route: '/recommendations', status_code: '200' }));
  const timed = histogram.slot(key, () => counted.labels);
  const countServed = (labels: Model) => {
    const k = `${labels.algorithm} ${labels.version}`;
    hits.slot(k, () => labels).n++;
    recs.slot(k, () => labels).n++;
  };
  return {
    histogram: (i: number) => histogram.observe(timed, seconds(i)),
    counters: (labels: Model) => {
      counted.n++;
      countServed(labels);
    },
  };
}

/** prom-client's own metrics, the labels of a 200 made once per route as the hand-written slots do. */
function promClient() {
  const register = new Registry();
  const http = new Counter({ name: 'a_total', help: 'a', labelNames: httpLabels, registers: [register] });
  const histogram = new Histogram({
    name: 'h_seconds',
    help: 'h',
    labelNames: httpLabels,
    buckets: BOUNDS,
    registers: [register],
  });
  const recs = new Counter({ name: 'b_total', help: 'b', labelNames: modelLabels, registers: [register] });
  const hits = new Counter({ name: 'c_total', help: 'c', labelNames: modelLabels, registers: [register] });
  const ok = { method: 'POST', route: '/recommendations', status_code: '200' };
  return {
    histogram: (i: number) => histogram.observe(ok, seconds(i)),
    counters: (labels: Model) => {
      http.inc(ok);
      hits.inc(labels);
      recs.inc(labels);
    },
  };
}

const sides = { hand_written: handWritten(), prom_client: promClient() };
const cases: Record<string, (i: number) => void> = {};
for (const [name, s] of Object.entries(sides)) {
  cases[`${name}.histogram`] = (i) => s.histogram(i);
  cases[`${name}.counters`] = () => s.counters(model);
  cases[`${name}.request`] = (i) => {
    s.counters(model);
    s.histogram(i);
  };
}

function cpuNsPerCall(f: (i: number) => void): number {
  const start = process.cpuUsage();
  for (let i = 0; i < N; i++) f(i);
  const used = process.cpuUsage(start);
  return ((used.user + used.system) * 1000) / N;
}

const loadAtStart = os.loadavg().map((x) => Number(x.toFixed(2)));
for (const f of Object.values(cases)) cpuNsPerCall(f); // warm-up
const samples: Record<string, number[]> = {};
for (let round = 0; round < ROUNDS; round++)
  for (const [name, f] of Object.entries(cases)) (samples[name] ??= []).push(cpuNsPerCall(f));
const ns = Object.fromEntries(Object.entries(samples).map(([name, xs]) => [name, Math.round(median(xs))]));
const extra = Object.fromEntries(
  ['histogram', 'counters', 'request'].map((part) => [part, ns[`prom_client.${part}`] - ns[`hand_written.${part}`]]),
);
console.log(
  JSON.stringify(
    {
      machine: { cpus: os.cpus().length, node: process.version, load_average_at_start: loadAtStart },
      n: N,
      rounds: ROUNDS,
      cpu_ns_median: ns,
      prom_client_extra_ns: extra,
      load_average_at_end: os.loadavg().map((x) => Number(x.toFixed(2))),
    },
    null,
    2,
  ),
);
console.log(
  `\nprom-client's own metrics cost ${extra.request} ns more CPU per request than the hand-written slots ` +
    `(histogram ${extra.histogram} ns, three counters ${extra.counters} ns); ratio ${(ns['prom_client.request'] / ns['hand_written.request']).toFixed(1)}×`,
);
