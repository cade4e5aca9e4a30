import { randomBytes } from 'node:crypto';
import { Flags } from '@oclif/core';
import { RecoCommand } from '../../cli/base-command.js';
import { progressBar } from '../../cli/progress.js';
import { readStdin } from '../../cli/prompts.js';
import { RecoError } from '../../core/errors.js';
import { readWorldBeside } from '../../core/simulation/shaped-data.js';
import { compareAllocationsOnWorld } from '../../core/simulation/loop/bandit.js';
import { runHttpLoop } from '../../core/simulation/loop/http.js';
import { DEFAULT_TARGET_CTR } from '../../core/simulation/loop/reaction.js';

export default class SimulateLoop extends RecoCommand {
  static override summary =
    "Closed loop: a shaped world's users ask a running reco serve for lists and react from their true tastes";
  static override description = `A separate command from simulate traffic, which is an open-loop load test (requests on a schedule, genre tastes, latency figures): here each user's next request waits for their reaction to the last list, the reactions come from the world's true choice probabilities, and the result is outcomes per arm (what an experiment measures), not latency.

The world is the folder that reco simulate data --shape (or --ratings/--movies/--users) wrote: its world.json. The server must serve a model trained on that folder (reco ingest --from DIR; reco train). The simulated users are new users of that world (ids after its last user, sent as loop<seed>-<id>): each arrives on a day with 5–20 movies drawn from their tastes (POST /recommendations with that history creates the user), then comes back on later days with a personal rate (median 25 % a day). Each visit asks for --n movies; the user examines rank r with probability 1/log2(1+r), watches an examined movie with probability min(1, α·p(movie | user)) — α set so that the world's ideal list gets --target-ctr of its impressions watched — and sends a view or a rating (half each) of what they watched and a skip of what they examined and passed over, with the answer's recommendation_id (POST /feedback).

Inside a running experiment (reco experiments start), the answer's experiment variant is the arm; the summary gives per arm users, lists, impressions, conversions (a view, or a rating of 4 or more), click-through rate, conversions per user, share of users converted and mean position, and a Welch test of conversions per user against the control arm. Same seed, world and server state → the same run. Without --password-stdin a fresh client with a random password is registered, so the users are new.`;
  static override examples = [
    '<%= config.bin %> simulate data --ratings 60000 --movies 2000 --users 1000 --seed 3 --out /tmp/world && reco ingest --from /tmp/world && reco train --algorithm ease',
    '<%= config.bin %> simulate loop --world /tmp/world --users 2000 --days 14',
    '<%= config.bin %> simulate loop --world /tmp/world --url http://127.0.0.1:8000 --seed 7 --json > loop.json',
    '<%= config.bin %> simulate loop --world /tmp/world --compare-allocation popular,ease --users 2000 --days 14 --seed 7',
  ];
  static override flags = {
    world: Flags.string({ description: 'folder with the world.json of reco simulate data --shape', required: true }),
    url: Flags.string({ description: 'base URL of the API', default: 'http://127.0.0.1:8000' }),
    users: Flags.integer({ description: 'simulated users', default: 1000, min: 1, max: 1_000_000 }),
    days: Flags.integer({ description: 'simulated days', default: 14, min: 1, max: 3650 }),
    seed: Flags.integer({ description: 'random seed (users, visits, reactions)', default: 42, min: 0 }),
    n: Flags.integer({ description: 'movies per list', default: 10, min: 1, max: 100 }),
    'target-ctr': Flags.string({
      description: "share of the ideal list's impressions that are watched (sets α)",
      default: String(DEFAULT_TARGET_CTR),
    }),
    concurrency: Flags.integer({ description: 'users served at once within a day', default: 8, min: 1, max: 256 }),
    'allow-remote': Flags.boolean({ description: 'allow a target that is not a loopback address' }),
    username: Flags.string({ description: 'client to register or log in as (default: a fresh loop-sim-… client)' }),
    'password-stdin': Flags.boolean({ description: 'read the client password from standard input' }),
    timeout: Flags.integer({ description: 'per-request timeout in milliseconds', default: 10_000, min: 1 }),
    'compare-allocation': Flags.string({
      description:
        'no server: train these two algorithms (control,treatment) on the world folder and compare Thompson-sampling allocation with a fixed 50/50 split on the same users, in process; prints the regret each loses against always serving the better one',
      helpValue: 'ALGO,ALGO',
    }),
  };

  async run() {
    const { flags } = await this.parse(SimulateLoop);
    const world = readWorldBeside(flags.world);
    if (!world)
      throw new RecoError(`no world.json in ${flags.world}`, {
        hint: 'write one with reco simulate data --shape … --out DIR',
      });
    const targetCtr = Number(flags['target-ctr']);
    if (!(targetCtr > 0 && targetCtr <= 0.5))
      throw new RecoError(`--target-ctr must be above 0 and at most 0.5 (got ${flags['target-ctr']})`);
    if (flags['compare-allocation'] !== undefined) return this.compareAllocation(flags, targetCtr);
    const password = flags['password-stdin'] ? await readStdin() : randomBytes(18).toString('base64url');
    const username = flags.username ?? `loop-sim-${randomBytes(4).toString('hex')}`;
    const bar = progressBar({ label: 'Simulating', total: flags.days, enabled: !this.jsonEnabled(), unit: 'days' });
    const report = await runHttpLoop({
      url: flags.url,
      world,
      users: flags.users,
      days: flags.days,
      seed: flags.seed,
      n: flags.n,
      targetCtr,
      concurrency: flags.concurrency,
      allowRemote: flags['allow-remote'],
      username,
      password,
      adminToken: this.settings.adminToken,
      timeoutMs: flags.timeout,
      onDay: (day) => bar.update(day),
    }).finally(() => bar.stop());
    const h = report.http;
    this.say(
      `${report.users} users over ${report.days} days: ${report.visits} visits to ${report.url} as ${report.client.username} in ${report.seconds} s (α ${report.alpha.toFixed(2)})`,
    );
    this.say(
      `requests: ${h.recommendation_requests} recommendations, ${h.feedback_requests} feedback (${h.events} events, ${h.accepted} accepted, ${h.rejected} rejected)${h.rate_limited ? `; ${h.rate_limited} rate limited and retried` : ''}`,
    );
    for (const s of report.rejected_samples) this.say(`  rejected ${s}`);
    this.say('arm          users   lists  impressions  conversions     ctr  conv/user  converted  mean position');
    for (const a of report.arms) {
      this.say(
        `${a.arm.padEnd(10)} ${String(a.users).padStart(7)} ${String(a.lists).padStart(7)} ${String(a.impressions).padStart(12)} ${String(a.conversions).padStart(12)} ${(100 * a.ctr).toFixed(2).padStart(6)}% ${a.conversions_per_user.toFixed(3).padStart(10)} ${(100 * a.converted_share).toFixed(1).padStart(9)}% ${(a.mean_position?.toFixed(2) ?? '–').padStart(14)}`,
      );
    }
    for (const c of report.comparisons) {
      this.say(
        `${c.arm} against ${c.against}: ${c.difference >= 0 ? '+' : ''}${c.difference.toFixed(3)} conversions per user (95% CI ${c.ci_low.toFixed(3)} … ${c.ci_high.toFixed(3)}), p ${c.p_value < 1e-4 ? c.p_value.toExponential(1) : c.p_value.toFixed(4)} (Welch)`,
      );
    }
    return report;
  }

  private async compareAllocation(
    flags: { world: string; 'compare-allocation'?: string; users: number; days: number; seed: number; n: number },
    targetCtr: number,
  ) {
    const algorithms = flags['compare-allocation']!.split(',').map((a) => a.trim());
    const bar = progressBar({ label: 'Simulating', total: 4 * flags.days, enabled: !this.jsonEnabled(), unit: 'days' });
    let done = 0;
    const c = await compareAllocationsOnWorld({
      dir: flags.world,
      algorithms,
      users: flags.users,
      days: flags.days,
      seed: flags.seed,
      n: flags.n,
      targetCtr,
      onDay: () => bar.update(++done),
    }).finally(() => bar.stop());
    const share = (arms: { arm: string; users: number }[]) => arms.map((a) => `${a.arm} ${a.users}`).join(', ');
    this.say(
      `${c.users} users over ${c.days} days, control = ${algorithms[0]}, treatment = ${algorithms[1]} (seed ${c.seed})`,
    );
    this.say(
      `all users on one arm: ${Object.entries(c.always)
        .map(([a, v]) => `${a} ${v}`)
        .join(', ')} conversions; the best is ${c.best}`,
    );
    this.say(
      `fixed 50/50: ${c.fixed.conversions} conversions, regret ${c.fixed.regret} (users: ${share(c.fixed.arms)})`,
    );
    this.say(
      `bandit:      ${c.bandit.conversions} conversions, regret ${c.bandit.regret} (users: ${share(c.bandit.arms)})`,
    );
    const saved =
      c.fixed.regret > 0 ? ` (${((100 * c.regret_saved) / c.fixed.regret).toFixed(0)} % of the fixed split's)` : '';
    this.say(
      `regret saved by the bandit: ${c.regret_saved} conversions${saved}; it picks ${c.bandit.pick} (posterior probability of being best ${Object.entries(
        c.bandit.probability_best,
      )
        .map(([a, p]) => `${a} ${p.toFixed(3)}`)
        .join(', ')})`,
    );
    for (const [label, r] of [
      ['fixed', c.fixed],
      ['bandit', c.bandit],
    ] as const) {
      for (const x of r.comparisons)
        this.say(
          `${label}: ${x.arm} against ${x.against} ${x.difference >= 0 ? '+' : ''}${x.difference.toFixed(3)} conversions per user (95% CI ${x.ci_low.toFixed(3)} … ${x.ci_high.toFixed(3)}, Welch over all users)`,
        );
      for (const x of r.stratified)
        this.say(
          `${label}: ${x.arm} against ${x.against} ${x.difference >= 0 ? '+' : ''}${x.difference.toFixed(3)} conversions per user (95% CI ${x.ci_low.toFixed(3)} … ${x.ci_high.toFixed(3)}, p ${x.p_value.toPrecision(2)}, stratified by day of assignment)`,
        );
    }
    return c;
  }
}
