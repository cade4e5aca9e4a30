/**
 * bench:serve-experiments — what A/B tests cost the hot route (docs/benchmarks/serve.md): bench:serve's
 * known-user load (authenticated POST /recommendations, one prebuilt request per existing user, caches filled; wrk
 * unless BENCH_LOAD=autocannon, bench/load.ts) on four child processes measured in alternation, BENCH_ROUNDS
 * rounds of BENCH_SECONDS each:
 *  - bare: the bare node:http reference (bench/bare-server.mjs);
 *  - base: `reco serve` built from another git revision (BENCH_BASE, default main) — the server before this code;
 *  - none: this code's `reco serve`, no experiment running;
 *  - experiment: this code's `reco serve` with an experiment covering every bench user (ease control against a
 *    popular treatment, 50/50), impressions recorded (the default, --impressions experiments).
 * Per round (bare first, the servers' order turning from round to round), each server's req/s over bare's and over
 * base's; the medians are reported, with the server's CPU per request. Each server has a database of its own (copies of one setup), so the base revision sees its own schema.
 * Env: RECO_BENCH_PG_URL, BENCH_BASE, BENCH_ALGORITHM (default ease), BENCH_SECONDS (10), BENCH_CONNECTIONS (32),
 * BENCH_ROUNDS (5), BENCH_LOAD (wrk), BENCH_PROFILE (a directory for the experiment server's CPU profile).
 */
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { buildCli } from './built-cli.js';
import { median, ROOT, sampleUserIds, startChild, stop } from './children.js';
import { loadGenerator, measureLoad } from './load.js';
import type { WrkRequest } from './wrk.js';
import { openDatabase } from '../src/core/db/open.js';
import { createClient } from '../src/core/db/repositories/clients.js';
import { startExperiment } from '../src/core/experiments/manage.js';
import { ingest } from '../src/core/pipeline/index.js';
import { trainModel } from '../src/core/training/train.js';

const ADMIN_URL = process.env.RECO_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const BASE = process.env.BENCH_BASE ?? 'main';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const PASSWORD = 'bench password 123';
/** A directory: the experiment server writes a V8 CPU profile there on exit (--cpu-prof). */
const PROFILE = process.env.BENCH_PROFILE;

async function adminQuery(sql: string, url = ADMIN_URL) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await c.query(sql);
  } finally {
    await c.end();
  }
}

/** The sources of git revision `rev`, with this checkout's node_modules. */
function checkout(rev: string, dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  execFileSync('sh', ['-c', `git archive ${rev} | tar -x -C ${JSON.stringify(dir)}`], { cwd: ROOT, stdio: 'pipe' });
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  return dir;
}

const dbUrl = (name: string) => {
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  return u.toString();
};

async function main() {
  const LOAD = loadGenerator();
  const loadAtStart = os.loadavg().map((x) => Number(x.toFixed(2)));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'reco-bench-exp-'));
  const tag = `${process.pid}_${randomBytes(3).toString('hex')}`;
  const names = { none: `reco_bench_none_${tag}`, experiment: `reco_bench_exp_${tag}`, base: `reco_bench_base_${tag}` };
  const children: ChildProcess[] = [];
  try {
    await adminQuery(`CREATE DATABASE ${names.none}`);
    const db = await openDatabase({ databaseUrl: dbUrl(names.none), dataDir: work });
    let control = '';
    let treatment = '';
    try {
      await createClient(db, { username: 'bench', password: PASSWORD, trusted: true });
      await ingest(db, { from: path.join(ROOT, 'data/initial_data'), dataDir: work, client: 'bench' });
      treatment = (await trainModel(db, { modelsDir: path.join(work, 'models'), algorithm: 'popular', force: true }))
        .version;
      control = (
        await trainModel(db, {
          modelsDir: path.join(work, 'models'),
          algorithm: process.env.BENCH_ALGORITHM ?? 'ease',
          force: true,
        })
      ).version;
      console.error(`setup: control ${control} (active), treatment ${treatment}`);
    } finally {
      await db.close();
    }
    await adminQuery(`CREATE DATABASE ${names.experiment} TEMPLATE ${names.none}`);
    await adminQuery(`CREATE DATABASE ${names.base} TEMPLATE ${names.none}`);
    const expDb = await openDatabase({ databaseUrl: dbUrl(names.experiment), dataDir: work });
    try {
      await startExperiment(expDb, {
        name: 'bench',
        client: 'bench',
        variants: [`control=${control}`, `treatment=${treatment}`],
      });
    } finally {
      await expDb.close();
    }
    // Without the experiments migration: a base revision before it would refuse a newer schema; one with it applies it again.
    await adminQuery(
      `DROP TABLE impressions, experiment_variants, experiments;
       DROP FUNCTION reco_delete_impressions_of_deleted_users() CASCADE;
       DROP FUNCTION reco_truncate_impressions_of_users() CASCADE;
       DELETE FROM schema_migrations WHERE version = 81;`,
      dbUrl(names.base),
    );

    const cli = buildCli(path.join(work, 'cli'));
    const baseCli = buildCli(path.join(work, 'base-cli'), checkout(BASE, path.join(work, 'base-src')));
    if (!cli || !baseCli) throw new Error('a revision does not compile');
    const serve = async (bin: string, name: string, log: string, node: string[] = []) => {
      const s = await startChild(
        [...node, bin, 'serve', '--port', '0', '--metrics-port', '0'],
        { DATABASE_URL: dbUrl(name), RECO_DATA_DIR: work, LOG_LEVEL: 'info' },
        path.join(work, log),
      );
      children.push(s.child);
      return s;
    };
    const servers = {
      base: await serve(baseCli, names.base, 'base.log'),
      none: await serve(cli, names.none, 'none.log'),
      experiment: await serve(
        cli,
        names.experiment,
        'experiment.log',
        PROFILE ? ['--cpu-prof', '--cpu-prof-dir', PROFILE] : [],
      ),
    };
    const bare = await startChild(['bench/bare-server.mjs'], {}, path.join(work, 'bare.log'));
    children.push(bare.child);

    const ids = sampleUserIds();
    const tokens: Record<string, string> = {};
    for (const [k, s] of Object.entries(servers)) {
      const r = await fetch(`${s.url}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'bench', password: PASSWORD }),
      });
      tokens[k] = ((await r.json()) as any).access_token;
      for (let i = 0; i < ids.length; i += 16)
        await Promise.all(
          ids.slice(i, i + 16).map((id) =>
            fetch(`${s.url}/recommendations`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[k]}` },
              body: JSON.stringify({ user_id: id, n: 10 }),
            }).then((x) => x.json()),
          ),
        );
    }
    const probe: any = await (
      await fetch(`${servers.experiment.url}/recommendations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.experiment}` },
        body: JSON.stringify({ user_id: ids[0], n: 10 }),
      })
    ).json();
    if (!probe.experiment)
      throw new Error(`the experiment server answers outside the experiment: ${JSON.stringify(probe).slice(0, 300)}`);

    const fixedBody: WrkRequest[] = [{ method: 'POST', path: '/', body: '{"user_id":1,"n":10}' }];
    const known: WrkRequest[] = ids.map((id) => ({
      method: 'POST',
      path: '/recommendations',
      body: JSON.stringify({ user_id: id, n: 10 }),
    }));
    const targets: [string, StartedLike, readonly WrkRequest[], string][] = [
      ['bare', bare, fixedBody, ''],
      ...(Object.entries(servers) as [string, StartedLike][]).map(
        ([k, s]) => [k, s, known, tokens[k]] as [string, StartedLike, readonly WrkRequest[], string],
      ),
    ];
    const load = (s: StartedLike, requests: readonly WrkRequest[], token: string, seconds: number) =>
      measureLoad({
        generator: LOAD,
        child: s.child,
        url: s.url,
        requests,
        token,
        connections: CONNECTIONS,
        seconds,
        workDir: work,
      });
    for (const [, s, requests, token] of targets) await load(s, requests, token, 3);

    const rounds: Record<string, { rps: number; cpu_us: number; non2xx: number; errors: number }>[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const round: (typeof rounds)[number] = {};
      // Bare first, then the three servers in an order that turns every round (none always follows another).
      const apis = targets.slice(1);
      const order = [targets[0], ...apis.slice(i % apis.length), ...apis.slice(0, i % apis.length)];
      for (const [k, s, requests, token] of order) {
        const r = await load(s, requests, token, SECONDS);
        round[k] = { rps: r.rps, cpu_us: r.cpuUsPerRequest, non2xx: r.non2xx, errors: r.errors };
      }
      rounds.push(round);
      console.error(`round ${i + 1}/${ROUNDS}: ${JSON.stringify(round)}`);
    }
    const ratio = (a: string, b: string) => Number(median(rounds.map((r) => r[a].rps / r[b].rps)).toFixed(3));
    const range = (a: string, b: string) => rounds.map((r) => Number((r[a].rps / r[b].rps).toFixed(3)));
    const metrics = await (await fetch(servers.experiment.metricsUrl!)).text();
    const series = (name: string) =>
      [...metrics.matchAll(new RegExp(`^${name}\\{([^}]*)\\} (\\S+)`, 'gm'))].map((m) => `${m[1]} ${m[2]}`);
    const written = await adminQuery('SELECT count(*)::int AS n FROM impressions', dbUrl(names.experiment));
    const report = {
      machine: {
        cpus: os.cpus().length,
        model: os.cpus()[0]?.model,
        node: process.version,
        load_average_at_start: loadAtStart,
      },
      settings: {
        connections: CONNECTIONS,
        seconds: SECONDS,
        rounds: ROUNDS,
        load_generator: LOAD,
        base: BASE,
        base_commit: execFileSync('git', ['rev-parse', '--short', BASE], { cwd: ROOT, encoding: 'utf8' }).trim(),
      },
      ratio_to_bare: {
        base: ratio('base', 'bare'),
        none: ratio('none', 'bare'),
        experiment: ratio('experiment', 'bare'),
      },
      ratio_to_base: {
        none: ratio('none', 'base'),
        experiment: ratio('experiment', 'base'),
        none_rounds: range('none', 'base'),
        experiment_rounds: range('experiment', 'base'),
      },
      cpu_us_per_request: Object.fromEntries(
        ['bare', 'base', 'none', 'experiment'].map((k) => [k, median(rounds.map((r) => r[k].cpu_us))]),
      ),
      errors: Object.fromEntries(
        ['base', 'none', 'experiment'].map((k) => [k, rounds.reduce((n, r) => n + r[k].errors + r[k].non2xx, 0)]),
      ),
      impressions: {
        rows_written: written.rows[0].n,
        lists_served: series('reco_experiment_lists_served_total'),
        dropped: series('reco_impressions_dropped_total'),
      },
      rounds,
      load_average_at_end: os.loadavg().map((x) => Number(x.toFixed(2))),
    };
    console.log(JSON.stringify(report, null, 2));
    console.log(
      `\nreq/s over ${BASE} (median of ${ROUNDS} rounds): no experiment ${report.ratio_to_base.none}, experiment with impressions ${report.ratio_to_base.experiment} (target >= 0.9) ` +
        `| over bare: ${BASE} ${report.ratio_to_bare.base}, none ${report.ratio_to_bare.none}, experiment ${report.ratio_to_bare.experiment} ` +
        `| CPU µs per request: ${JSON.stringify(report.cpu_us_per_request)} | impressions written ${report.impressions.rows_written}`,
    );
  } finally {
    for (const c of children) await stop(c);
    for (const n of Object.values(names)) await adminQuery(`DROP DATABASE IF EXISTS ${n} WITH (FORCE)`).catch(() => {});
    fs.rmSync(work, { recursive: true, force: true });
  }
}

type StartedLike = { child: ChildProcess; url: string };

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
