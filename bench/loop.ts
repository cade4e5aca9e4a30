/**
 * bench:loop — which offline protocol ranks the candidate models in the order of the online result?
 * For each world (shapes and seeds fixed below, not picked for any model):
 *  - offline: nDCG@10 of every algorithm under split user, item and temporal (evaluateAlgorithms, seed 42);
 *  - online: each algorithm fitted on all of the world's ratings and served, in process, to the same simulated
 *    users over 14 days (src/core/simulation/loop): the world's own users arriving with all their ratings
 *    ("known"), and as many new users arriving with 5–20 movies ("new"); conversions per user with a 95 % CI;
 *  - Kendall's tau-b between each protocol's order and each online order, and the model pairs whose online order
 *    is settled (paired z over the same users, |z| ≥ 1.96) that each protocol orders the same way.
 * Prints the tables and writes BENCH_OUT (default bench/.out/loop.json). Env: BENCH_WORLDS=1,2,3 (a subset), BENCH_DAYS.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { evaluateAlgorithms, loadDatasetDir, SPLITS, type SplitKind } from '../src/core/evaluation/index.js';
import { ALGORITHMS } from '../src/core/models/index.js';
import type { Recommender } from '../src/core/models/types.js';
import { readWorldBeside, writeShapedData } from '../src/core/simulation/shaped-data.js';
import {
  InProcessPlatform,
  knownPopulation,
  population,
  runLoop,
  type LoopUser,
} from '../src/core/simulation/loop/index.js';
import type { WorldShape } from '../src/core/simulation/shaped-world.js';

const WORLDS: (WorldShape & { label: string })[] = [
  { label: 'broad', ratings: 60_000, movies: 1_200, users: 1_500, seed: 1, niche: false },
  { label: 'niche', ratings: 60_000, movies: 1_200, users: 1_500, seed: 2, niche: true },
  { label: 'broad-dense', ratings: 100_000, movies: 800, users: 1_000, seed: 3, niche: false },
];
const DAYS = Number(process.env.BENCH_DAYS ?? 14);
const ONLINE_SEED = 1;
const chosen = new Set((process.env.BENCH_WORLDS ?? '1,2,3').split(',').map(Number));
const OUT = process.env.BENCH_OUT ?? path.resolve(path.dirname(new URL(import.meta.url).pathname), '.out/loop.json');

interface Online {
  mean: number;
  ci: number;
  ctr: number;
}

/** Paired t statistic of b − a over the same users (the same draws of users, visits and reactions). */
function pairedZ(a: readonly number[], b: readonly number[]): number {
  const d = a.map((x, i) => b[i] - x);
  const { mean, ci } = meanCi(d);
  const se = ci / 1.96;
  return se > 0 ? mean / se : 0;
}

/**
 * Agreement over the model pairs whose online order is settled (paired |z| ≥ 1.96): how many of them the
 * protocol orders the same way, and how many the other way.
 */
function settledAgreement(
  names: readonly string[],
  offline: Record<string, number>,
  conversions: Record<string, number[]>,
): { settled: number; agree: number; disagree: number; reversed: string[] } {
  let settled = 0;
  let agree = 0;
  let disagree = 0;
  const reversed: string[] = [];
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) {
      const z = pairedZ(conversions[names[i]], conversions[names[j]]);
      if (Math.abs(z) < 1.96) continue;
      settled++;
      const off = Math.sign(offline[names[j]] - offline[names[i]]);
      if (off === Math.sign(z)) agree++;
      else if (off !== 0) {
        disagree++;
        reversed.push(
          `${z > 0 ? names[j] : names[i]} > ${z > 0 ? names[i] : names[j]} online (z ${Math.abs(z).toFixed(1)})`,
        );
      }
    }
  }
  return { settled, agree, disagree, reversed };
}

/** Kendall's tau-b of two score vectors over the same items (ties count as neither concordant nor discordant). */
export function kendallTauB(x: readonly number[], y: readonly number[]): number {
  let c = 0;
  let d = 0;
  let tx = 0;
  let ty = 0;
  for (let i = 0; i < x.length; i++) {
    for (let j = i + 1; j < x.length; j++) {
      const a = Math.sign(x[i] - x[j]);
      const b = Math.sign(y[i] - y[j]);
      if (a === 0 && b === 0) continue;
      if (a === 0) tx++;
      else if (b === 0) ty++;
      else if (a === b) c++;
      else d++;
    }
  }
  const denom = Math.sqrt((c + d + tx) * (c + d + ty));
  return denom ? (c - d) / denom : 0;
}

function meanCi(values: readonly number[]): { mean: number; ci: number } {
  const n = values.length;
  const mean = values.reduce((s, v) => s + v, 0) / n;
  const sd = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / Math.max(1, n - 1));
  return { mean, ci: (1.96 * sd) / Math.sqrt(n) };
}

function write(results: unknown[], started: number): void {
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(
    OUT,
    JSON.stringify(
      {
        days: DAYS,
        online_seed: ONLINE_SEED,
        load: os.loadavg(),
        seconds: (performance.now() - started) / 1000,
        results,
      },
      null,
      2,
    ) + '\n',
  );
}

async function main() {
  const started = performance.now();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-loop-'));
  const names = ALGORITHMS.map((a) => a.name);
  const results: unknown[] = [];
  console.log(
    `bench:loop — ${os.cpus().length} cores, load ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}; ${DAYS} simulated days, online seed ${ONLINE_SEED}`,
  );
  try {
    for (const [w, shape] of WORLDS.entries()) {
      if (!chosen.has(w + 1)) continue;
      const dir = path.join(root, shape.label);
      await writeShapedData({ ...shape, out: dir });
      const world = readWorldBeside(dir)!;
      const data = await loadDatasetDir(dir);
      console.log(
        `\nworld ${shape.label}: ${shape.ratings} ratings, ${shape.movies} movies, ${shape.users} users, seed ${shape.seed}${shape.niche ? ', niche' : ''}`,
      );

      const offline: Record<SplitKind, Record<string, number>> = { user: {}, item: {}, temporal: {} };
      for (const split of SPLITS) {
        const report = await evaluateAlgorithms(data.interactions, data.catalogue, ALGORITHMS, {
          split,
          seed: 42,
          k: 10,
          onProgress: (m) => process.stderr.write(`  ${split}: ${m}\n`),
        });
        for (const row of report.rows) offline[split][row.algorithm] = row.ndcg;
      }

      const i = data.interactions;
      const histories = new Map<number, LoopUser['history']>();
      for (let u = 0; u < i.nUsers; u++) {
        const h: LoopUser['history'] = [];
        for (let p = i.indptr[u]; p < i.indptr[u + 1]; p++)
          h.push({ movieId: i.itemIds[i.indices[p]], rating: i.ratings[p] });
        histories.set(i.userIds[u], h);
      }
      const known = knownPopulation(world, histories, { days: DAYS, seed: ONLINE_SEED });
      const online: Record<'known' | 'new', Record<string, Online>> = { known: {}, new: {} };
      const perUser: Record<'known' | 'new', Record<string, number[]>> = { known: {}, new: {} };
      for (const algorithm of ALGORITHMS) {
        process.stderr.write(`  online: ${algorithm.name}\n`);
        const model: Recommender = algorithm.create({ seed: 42 });
        await model.fit(data.interactions, data.catalogue);
        for (const who of ['known', 'new'] as const) {
          const r = await runLoop(
            {
              world,
              users: shape.users,
              days: DAYS,
              seed: ONLINE_SEED,
              population: who === 'known' ? known : undefined,
            },
            new InProcessPlatform([{ name: algorithm.name, model }], ONLINE_SEED),
          );
          const byUser = new Map(r.outcomes.map((o) => [o.user, o.conversions]));
          // Every user of the population, in its order (a user who never visited converted nothing).
          const users =
            who === 'known' ? known : population(world, { users: shape.users, days: DAYS, seed: ONLINE_SEED });
          perUser[who][algorithm.name] = users.map((u) => byUser.get(u.externalId) ?? 0);
          online[who][algorithm.name] = { ...meanCi(perUser[who][algorithm.name]), ctr: r.arms[0].ctr };
        }
      }

      console.log(
        `${'algorithm'.padEnd(13)} ${'nDCG user'.padStart(9)} ${'item'.padStart(7)} ${'temporal'.padStart(8)}   ${'online known (conv/user ± CI)'.padStart(29)}   ${'online new'.padStart(16)}`,
      );
      for (const name of names) {
        const k = online.known[name];
        const n = online.new[name];
        console.log(
          `${name.padEnd(13)} ${offline.user[name].toFixed(4).padStart(9)} ${offline.item[name].toFixed(4).padStart(7)} ${offline.temporal[name].toFixed(4).padStart(8)}   ${`${k.mean.toFixed(3)} ± ${k.ci.toFixed(3)}`.padStart(29)}   ${`${n.mean.toFixed(3)} ± ${n.ci.toFixed(3)}`.padStart(16)}`,
        );
      }
      const tau: Record<string, Record<string, number>> = {};
      const settled: Record<string, Record<string, ReturnType<typeof settledAgreement>>> = {};
      for (const split of SPLITS) {
        tau[split] = {};
        settled[split] = {};
        for (const who of ['known', 'new'] as const) {
          tau[split][who] = kendallTauB(
            names.map((n) => offline[split][n]),
            names.map((n) => online[who][n].mean),
          );
          settled[split][who] = settledAgreement(names, offline[split], perUser[who]);
        }
        const s = (who: 'known' | 'new') =>
          `tau-b ${tau[split][who].toFixed(3)}, settled pairs ${settled[split][who].agree}/${settled[split][who].settled} agree${settled[split][who].reversed.map((r) => `, reversed: ${r}`).join('')}`;
        console.log(`split ${split.padEnd(8)} vs online known: ${s('known')}; vs online new: ${s('new')}`);
      }
      const order = (who: 'known' | 'new') =>
        [...names].sort((a, b) => online[who][b].mean - online[who][a].mean).join(' > ');
      console.log(`online order, known users: ${order('known')}`);
      console.log(`online order, new users:   ${order('new')}`);
      for (const split of SPLITS)
        console.log(
          `split ${split.padEnd(8)} order:      ${[...names].sort((a, b) => offline[split][b] - offline[split][a]).join(' > ')}`,
        );
      // What auto keeps is the top of the protocol's order: how far it is online from the online best (paired z).
      for (const split of SPLITS) {
        const pick = [...names].sort((a, b) => offline[split][b] - offline[split][a])[0];
        const gap = (who: 'known' | 'new') => {
          const best = [...names].sort((a, b) => online[who][b].mean - online[who][a].mean)[0];
          return best === pick
            ? 'the online best'
            : `${best} better by ${(online[who][best].mean - online[who][pick].mean).toFixed(3)} (paired z ${pairedZ(perUser[who][pick], perUser[who][best]).toFixed(1)})`;
        };
        console.log(`split ${split.padEnd(8)} picks ${pick}: known users ${gap('known')}; new users ${gap('new')}`);
      }
      results.push({ world: shape, offline, online, tau, settled });
      write(results, started);
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
  console.log(
    `\n${((performance.now() - started) / 1000).toFixed(0)} s; load ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}; figures in ${OUT}`,
  );
}

await main();
