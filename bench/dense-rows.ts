/**
 * bench:dense-rows — what the WebAssembly kernel of dense-rows.ts saves over its plain reference when EASE scores a
 * history (docs/benchmarks/serve.md, "A known user's answer computed"): both sum the same rows of one m × m int16
 * matrix (m = 3,500, EASE's cap) for histories of ml-latest-small's users' lengths (610 users, their ratings per user
 * capped at m), alternated BENCH_ROUNDS times (default 5) in this process; prints µs per history and the ratio.
 * The values do not change the work (no branches on them), so the matrix is seeded noise.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { denseRows } from '../src/core/models/dense-rows.js';
import { median, ROOT } from './children.js';

const M = 3500;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

function historyLengths(): number[] {
  const counts = new Map<string, number>();
  const text = fs.readFileSync(path.join(ROOT, 'data/initial_data/ratings.csv'), 'utf8');
  for (const line of text.split('\n').slice(1)) {
    const u = line.slice(0, line.indexOf(','));
    if (u) counts.set(u, (counts.get(u) ?? 0) + 1);
  }
  return [...counts.values()].map((n) => Math.min(n, M));
}

function main() {
  let seed = 42;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const q = Int16Array.from({ length: M * M }, () => Math.round((next() - 0.5) * 65535));
  const scale = Float32Array.from({ length: M }, () => next() * 1e-4);
  const histories = historyLengths().map((n) => Int32Array.from({ length: n }, () => Math.floor(next() * M)));
  const kernel = denseRows(q, M);
  const plain = denseRows(q, M, { plain: true });
  if (!kernel.kernel) throw new Error('the WebAssembly kernel does not run on this Node');
  const pass = (rows: typeof kernel) => {
    const t = process.hrtime.bigint();
    for (const h of histories) rows.sumRows(h, scale, new Float64Array(M));
    return Number(process.hrtime.bigint() - t) / 1e3 / histories.length;
  };
  pass(kernel);
  pass(plain);
  const rounds: { plain_us: number; kernel_us: number }[] = [];
  for (let i = 0; i < ROUNDS; i++) rounds.push({ plain_us: pass(plain), kernel_us: pass(kernel) });
  const plainUs = median(rounds.map((r) => r.plain_us));
  const kernelUs = median(rounds.map((r) => r.kernel_us));
  const report = {
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, load_average: os.loadavg() },
    m: M,
    histories: histories.length,
    mean_history: histories.reduce((s, h) => s + h.length, 0) / histories.length,
    plain_us_per_history: Number(plainUs.toFixed(1)),
    kernel_us_per_history: Number(kernelUs.toFixed(1)),
    speedup: Number((plainUs / kernelUs).toFixed(2)),
    rounds,
  };
  console.log(JSON.stringify(report, null, 2));
  console.log(
    `\ndense rows, m ${M}: plain ${report.plain_us_per_history} us, kernel ${report.kernel_us_per_history} us a history: ${report.speedup}x`,
  );
}

main();
