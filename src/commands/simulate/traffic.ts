import { randomBytes } from 'node:crypto';
import { Flags } from '@oclif/core';
import { RecoCommand } from '../../cli/base-command.js';
import { readStdin } from '../../cli/prompts.js';
import { runTraffic, type LiveFigures } from '../../core/simulation/traffic/run.js';

export default class SimulateTraffic extends RecoCommand {
  static override summary = 'Replay realistic API sessions against a running reco serve and report latency';
  static override description = `Registers a client (POST /create-client; with RECO_ADMIN_TOKEN when the server asks for one) or logs in as an existing one, then sends a platform's mix of calls at the target rate. Each simulated user has a taste (liked and disliked genres). Of the calls: new users arriving with a short history (12%), cold starts from stated genre tastes (3%), similar movies to one the user watched (12%), filtered recommendations (8%), known users sending the movie they just watched and its rating (20%), known users asking for recommendations (the rest); and feedback on most answers (POST /feedback with the answer's recommendation_id: views, ratings and likes of liked movies, dislikes and skips of the others), 40% of the calls while answers wait for it. Stops after --duration seconds or --max-requests requests, whichever comes first.

Reports throughput, latency p50/p90/p99/max, status counts and errors: live on a terminal, and as JSON with --json. Unexpected errors are network errors, timeouts and any status other than 2xx or 429 (rate limited, counted apart). Only loopback targets unless --allow-remote. Without --password-stdin, a fresh client with a random password is registered for the run.`;
  static override examples = [
    '<%= config.bin %> simulate traffic --url http://127.0.0.1:8000 --duration 10',
    '<%= config.bin %> simulate traffic --duration 60 --rate 50 --concurrency 16 --diurnal --json > traffic.json',
    'printf %s "$PASSWORD" | <%= config.bin %> simulate traffic --username loadtest --password-stdin --rate 5',
  ];
  static override flags = {
    url: Flags.string({ description: 'base URL of the API', default: 'http://127.0.0.1:8000' }),
    duration: Flags.string({ description: 'seconds to send for', default: '10' }),
    rate: Flags.string({ description: 'target requests per second (the evening peak with --diurnal)', default: '20' }),
    concurrency: Flags.integer({ description: 'most requests in flight at once', default: 8, min: 1 }),
    users: Flags.integer({ description: 'most new users to create during the run', default: 1000, min: 1 }),
    'max-requests': Flags.integer({ description: 'stop after this many requests', min: 1 }),
    seed: Flags.integer({ description: 'random seed for the sessions', default: 42, min: 0 }),
    diurnal: Flags.boolean({
      description: 'follow the daily activity curve: the run stands for one day, midnight to midnight',
    }),
    'allow-remote': Flags.boolean({ description: 'allow a target that is not a loopback address' }),
    username: Flags.string({ description: 'client to register or log in as (default: a fresh traffic-sim-… client)' }),
    'password-stdin': Flags.boolean({ description: 'read the client password from standard input' }),
    timeout: Flags.integer({ description: 'per-request timeout in milliseconds', default: 10_000, min: 1 }),
  };

  async run() {
    const { flags } = await this.parse(SimulateTraffic);
    const password = flags['password-stdin'] ? await readStdin() : randomBytes(18).toString('base64url');
    const username = flags.username ?? `traffic-sim-${randomBytes(4).toString('hex')}`;
    const live = process.stderr.isTTY && !this.jsonEnabled();
    const report = await runTraffic({
      url: flags.url,
      duration: Number(flags.duration),
      rate: Number(flags.rate),
      concurrency: flags.concurrency,
      users: flags.users,
      maxRequests: flags['max-requests'],
      seed: flags.seed,
      diurnal: flags.diurnal,
      allowRemote: flags['allow-remote'],
      username,
      password,
      adminToken: this.settings.adminToken,
      timeoutMs: flags.timeout,
      onTick: live ? (f) => process.stderr.write(`\r${liveLine(f)}\x1b[K`) : undefined,
    });
    if (live) process.stderr.write('\n');
    const l = report.latency_ms;
    this.say(
      `${report.requests} requests in ${report.duration_s} s to ${report.url} as ${report.client.username}: ${report.throughput_rps} req/s (target ${report.target_rate_rps}${report.diurnal ? ' at peak' : ''})`,
    );
    this.say(`latency ms: p50 ${l.p50}  p90 ${l.p90}  p99 ${l.p99}  max ${l.max}`);
    this.say(
      `status: ${Object.entries(report.status_counts)
        .map(([s, n]) => `${s}×${n}`)
        .join('  ')}; users created ${report.users_created}`,
    );
    for (const [call, c] of Object.entries(report.calls)) {
      this.say(
        `  ${call.padEnd(18)} ${String(c.requests).padStart(7)}  ${Object.entries(c.status_counts)
          .map(([s, n]) => `${s}×${n}`)
          .join(' ')}  p50 ${c.latency_ms.p50} ms  p99 ${c.latency_ms.p99} ms`,
      );
    }
    const f = report.feedback;
    this.say(
      `feedback: ${f.events} events in ${f.requests} requests; ${f.accepted} accepted (${f.duplicates} already stored), ${f.rejected} rejected`,
    );
    if (f.empty_answers > 0)
      this.say(
        `  ${f.empty_answers} recommendation answers listed no movie, so no feedback followed them: with no trained model the server answers by popularity over trusted clients' ratings (reco train; reco clients trust)`,
      );
    if (f.empty_filtered_answers > 0)
      this.say(
        `  ${f.empty_filtered_answers} filtered recommendation answers listed no movie: their filter matched none`,
      );
    this.say(
      `unexpected errors: ${report.errors.unexpected}${report.rate_limited ? `; rate limited (429): ${report.rate_limited}` : ''}`,
    );
    for (const s of report.errors.samples) this.say(`  ${s}`);
    return report;
  }
}

function liveLine(f: LiveFigures): string {
  return `${f.elapsed_s.toFixed(0)} s  ${f.requests} requests  ${f.throughput_rps} req/s  p50 ${f.latency_ms.p50} ms  p99 ${f.latency_ms.p99} ms  errors ${f.unexpected_errors}`;
}
