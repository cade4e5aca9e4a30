import { setTimeout as sleep } from 'node:timers/promises';
import { RecoError } from '../../errors.js';
import type { ShapedWorld } from '../shaped-world.js';
import { ApiClient, connect, type ApiResponse } from '../traffic/api-client.js';
import { checkTarget } from '../traffic/target.js';
import { runLoop, type LoopOptions, type LoopPlatform, type ServedList } from './engine.js';
import { conversionsOf, welch, type ArmSummary, type Comparison, type UserOutcome } from './outcomes.js';
import type { Reaction } from './reaction.js';
import type { LoopUser } from './users.js';

export interface HttpFigures {
  recommendation_requests: number;
  feedback_requests: number;
  events: number;
  accepted: number;
  rejected: number;
  /** 429 answers waited out and sent again. */
  rate_limited: number;
}

/** Retries of a 429 before the run fails (1 s apart, then longer). */
const RATE_LIMIT_RETRIES = 10;

/**
 * The platform through the real API: a user's first visit sends the arrival history with `POST /recommendations`
 * (which creates the user), later visits send only `user_id`; the reactions go back through `POST /feedback` with
 * the answer's `recommendation_id`, without a timestamp (the server's time, so the experiment's attribution window
 * sees them right after the list). Inside an experiment the answer's `experiment.variant` is the arm.
 * Any answer other than 200 (after waiting out 429s) fails the run: the outcomes would be wrong.
 */
export class HttpPlatform implements LoopPlatform {
  readonly figures: HttpFigures = {
    recommendation_requests: 0,
    feedback_requests: 0,
    events: 0,
    accepted: 0,
    rejected: 0,
    rate_limited: 0,
  };
  readonly rejectedSamples: string[] = [];

  constructor(private readonly api: ApiClient) {}

  async recommend(user: LoopUser, first: boolean, n: number): Promise<ServedList> {
    const body = first
      ? { user_id: user.externalId, history: user.history.map((h) => ({ movie_id: h.movieId, rating: h.rating })), n }
      : { user_id: user.externalId, n };
    this.figures.recommendation_requests++;
    const r = await this.send('/recommendations', body);
    const recs = (r.body?.recommendations ?? []) as { movie_id: number }[];
    const variant = r.body?.experiment?.variant;
    return {
      movieIds: recs.map((m) => m.movie_id),
      arm: typeof variant === 'string' ? variant : 'all',
      recommendationId: r.body?.recommendation_id,
    };
  }

  async feedback(user: LoopUser, list: ServedList, reactions: readonly Reaction[]): Promise<void> {
    const events = reactions.map((x) => ({
      user_id: user.externalId,
      movie_id: x.movieId,
      type: x.type,
      ...(x.rating !== undefined ? { rating: x.rating } : {}),
      ...(list.recommendationId ? { recommendation_id: list.recommendationId } : {}),
    }));
    this.figures.feedback_requests++;
    this.figures.events += events.length;
    const r = await this.send('/feedback', { events });
    this.figures.accepted += Number(r.body?.accepted ?? 0);
    const rejected = (r.body?.rejected ?? []) as { index: number; reason: string }[];
    this.figures.rejected += rejected.length;
    for (const x of rejected)
      if (this.rejectedSamples.length < 5) this.rejectedSamples.push(`${JSON.stringify(events[x.index])}: ${x.reason}`);
  }

  private async send(path: string, body: unknown): Promise<ApiResponse> {
    for (let attempt = 0; ; attempt++) {
      const r = await this.api.authed('POST', path, body);
      if (r.status === 200) return r;
      if (r.status === 429 && attempt < RATE_LIMIT_RETRIES) {
        this.figures.rate_limited++;
        await sleep(1000 * Math.min(5, attempt + 1));
        continue;
      }
      throw new RecoError(`POST ${path} answered HTTP ${r.status}: ${JSON.stringify(r.body).slice(0, 200)}`);
    }
  }
}

export interface HttpLoopOptions {
  url: string;
  world: ShapedWorld;
  users: number;
  days: number;
  seed: number;
  n?: number;
  targetCtr?: number;
  concurrency: number;
  allowRemote: boolean;
  username: string;
  password: string;
  adminToken?: string;
  timeoutMs?: number;
  onDay?: LoopOptions['onDay'];
}

export interface HttpLoopReport {
  url: string;
  client: { username: string; registered: boolean };
  seed: number;
  users: number;
  days: number;
  n: number;
  alpha: number;
  visits: number;
  seconds: number;
  http: HttpFigures;
  rejected_samples: string[];
  arms: ArmSummary[];
  /** Conversions per user of each arm against the reference arm (`control` when there is one, else the first by name). */
  comparisons: ArmComparison[];
}

export interface ArmComparison extends Comparison {
  arm: string;
  against: string;
}

/** `reco simulate loop`: the closed loop against a running `reco serve` (loopback unless allowed). */
export async function runHttpLoop(o: HttpLoopOptions): Promise<HttpLoopReport> {
  const base = checkTarget(o.url, o.allowRemote);
  if (!Number.isInteger(o.users) || o.users < 1 || o.users > 1_000_000)
    throw new RecoError(`--users must be a whole number from 1 to 1000000 (got ${o.users})`);
  if (!Number.isInteger(o.days) || o.days < 1 || o.days > 3650)
    throw new RecoError(`--days must be a whole number from 1 to 3650 (got ${o.days})`);
  const api = new ApiClient(
    base,
    { username: o.username, password: o.password, adminToken: o.adminToken },
    o.timeoutMs,
    o.concurrency,
  );
  const started = performance.now();
  try {
    const registered = await connect(api, base);
    const platform = new HttpPlatform(api);
    const r = await runLoop(
      {
        world: o.world,
        users: o.users,
        days: o.days,
        seed: o.seed,
        n: o.n,
        targetCtr: o.targetCtr,
        concurrency: o.concurrency,
        onDay: o.onDay,
      },
      platform,
    );
    return {
      url: base.origin,
      client: { username: o.username, registered },
      seed: r.seed,
      users: r.users,
      days: r.days,
      n: r.n,
      alpha: r.alpha,
      visits: r.visits,
      seconds: Math.round((performance.now() - started) / 10) / 100,
      http: platform.figures,
      rejected_samples: platform.rejectedSamples,
      arms: r.arms,
      comparisons: compareArms(r.outcomes),
    };
  } finally {
    api.close();
  }
}

/** Each arm's conversions per user against the reference arm: `control` when present, else the first by name. */
export function compareArms(outcomes: readonly UserOutcome[]): ArmComparison[] {
  const names = [...new Set(outcomes.map((o) => o.arm))].sort();
  const reference = names.includes('control') ? 'control' : names[0];
  return names
    .filter((a) => a !== reference)
    .map((arm) => ({
      arm,
      against: reference,
      ...welch(conversionsOf(outcomes, reference), conversionsOf(outcomes, arm)),
    }));
}
