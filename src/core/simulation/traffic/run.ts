import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { RecoError, oneLine } from '../../errors.js';
import { genreIndex } from '../../features/genres.js';
import { activityAt } from '../diurnal.js';
import { Rng } from '../../data/random.js';
import { ApiClient, connect, type ApiResponse } from './api-client.js';
import { TrafficStats, type CallFigures, type LatencySummary } from './stats.js';
import { checkTarget } from './target.js';
import {
  FEEDBACK_AFTER_ANSWER,
  MAX_PENDING_FEEDBACK,
  SHARE,
  Tastes,
  type CatalogueMovie,
  type ShownAnswer,
  type SimUser,
} from './tastes.js';

export interface FeedbackFigures {
  /** POST /feedback requests sent, and the events in them. */
  requests: number;
  events: number;
  /** From the answers: events accepted (stored now or before), already stored, rejected. */
  accepted: number;
  duplicates: number;
  rejected: number;
  /**
   * Recommendation answers without a single movie, which no feedback can follow: a server with no trained model and
   * no trusted ratings for its popularity fallback answers only such lists. Answers to a filtered request are
   * counted apart: a filter (liked genres only, recent years, minus what was watched) may match nothing.
   */
  empty_answers: number;
  empty_filtered_answers: number;
}

export interface TrafficOptions {
  url: string;
  /** Seconds to send for. */
  duration: number;
  /** Target requests per second (the peak rate with `diurnal`). */
  rate: number;
  /** Most requests in flight at once. */
  concurrency: number;
  /** Most users this run creates (after that, new-user sessions become known-user ones). */
  users: number;
  /** Stop after this many requests even if time remains. */
  maxRequests?: number;
  seed: number;
  /** Follow the daily activity curve, the whole run standing for one day (midnight to midnight). */
  diurnal: boolean;
  allowRemote: boolean;
  username: string;
  password: string;
  adminToken?: string;
  /** Per-request timeout in ms (default 10 s). */
  timeoutMs?: number;
  /** Called about once a second with the figures so far (the live report). */
  onTick?: (live: LiveFigures) => void;
}

export interface LiveFigures {
  elapsed_s: number;
  requests: number;
  throughput_rps: number;
  latency_ms: LatencySummary;
  unexpected_errors: number;
}

export interface TrafficReport {
  url: string;
  client: { username: string; registered: boolean };
  duration_s: number;
  target_rate_rps: number;
  diurnal: boolean;
  requests: number;
  throughput_rps: number;
  latency_ms: LatencySummary;
  status_counts: Record<string, number>;
  sessions: Record<string, number>;
  /** Each kind of call: requests, statuses, latency. */
  calls: Record<string, CallFigures>;
  feedback: FeedbackFigures;
  users_created: number;
  rate_limited: number;
  errors: { unexpected: number; samples: string[] };
}

const HARD_MAX_REQUESTS = 10_000_000;

export function validateTraffic(o: TrafficOptions): void {
  const num = (name: string, v: number, lo: number, hi: number, int = false) => {
    if (!Number.isFinite(v) || v < lo || v > hi || (int && !Number.isInteger(v)))
      throw new RecoError(`--${name} must be ${int ? 'a whole number ' : ''}from ${lo} to ${hi} (got ${v})`);
  };
  num('duration', o.duration, 0.1, 7 * 24 * 3600);
  num('rate', o.rate, 0.01, 100_000);
  num('concurrency', o.concurrency, 1, 10_000, true);
  num('users', o.users, 1, 1_000_000, true);
  if (o.maxRequests !== undefined) num('max-requests', o.maxRequests, 1, HARD_MAX_REQUESTS, true);
}

/**
 * Replays realistic sessions against a running `reco serve`: new users arriving with a short history, known
 * users asking for recommendations, known users sending the movie they just watched and its rating. Open loop
 * at the target rate (requests are started on schedule, not after the previous answer), capped by concurrency;
 * bounded by both time and count.
 */
export async function runTraffic(o: TrafficOptions): Promise<TrafficReport> {
  validateTraffic(o);
  const base = checkTarget(o.url, o.allowRemote);
  const api = new ApiClient(
    base,
    { username: o.username, password: o.password, adminToken: o.adminToken },
    o.timeoutMs,
    o.concurrency,
  );
  try {
    return await drive(o, base, api);
  } finally {
    api.close();
  }
}

async function drive(o: TrafficOptions, base: URL, api: ApiClient): Promise<TrafficReport> {
  const registered = await connect(api, base);
  const movies = await fetchMovies(api);
  if (movies.length === 0)
    throw new RecoError(`the server at ${base.origin} has no movies in its catalogue`, {
      hint: 'run reco ingest first',
    });

  const rng = new Rng(o.seed, 'traffic');
  const stats = new TrafficStats();
  const feedback: FeedbackFigures = {
    requests: 0,
    events: 0,
    accepted: 0,
    duplicates: 0,
    rejected: 0,
    empty_answers: 0,
    empty_filtered_answers: 0,
  };
  const known: SimUser[] = [];
  const pending: ShownAnswer[] = [];
  const runTag = randomBytes(4).toString('hex');
  let usersCreated = 0;
  let coldStarts = 0;
  const maxRequests = Math.min(o.maxRequests ?? HARD_MAX_REQUESTS, HARD_MAX_REQUESTS);
  // Movies by a Zipf-like popularity over the catalogue page order, so some are watched far more than others.
  const pickMovie = () => movies[Math.min(movies.length - 1, Math.floor(Math.pow(movies.length + 1, rng.next())) - 1)];
  const genresOf = new Map(movies.map((m) => [m.movie_id, m.genres]));
  const vocabulary = [...new Set(movies.flatMap((m) => m.genres))].filter((g) => genreIndex(g) !== undefined);
  const tastes = new Tastes(rng, vocabulary);

  function outcome(session: string, r: ApiResponse): void {
    stats.record(
      session,
      r.status,
      r.ms,
      r.status >= 300 && r.status !== 429 ? JSON.stringify(r.body).slice(0, 200) : undefined,
    );
  }

  /** Remembers an answer the user will react to (most of them), keeping the newest when the backlog is long. */
  function shown(user: SimUser, r: ApiResponse, filtered: boolean): void {
    if (r.status !== 200 || typeof r.body?.recommendation_id !== 'string') return;
    const recs = (r.body.recommendations ?? []) as { movie_id: number; genres?: string[] }[];
    if (recs.length === 0 && filtered) feedback.empty_filtered_answers++;
    else if (recs.length === 0) feedback.empty_answers++;
    if (recs.length === 0 || rng.next() >= FEEDBACK_AFTER_ANSWER) return;
    pending.push({
      user,
      recommendationId: r.body.recommendation_id,
      movies: recs.map((m) => ({ movie_id: m.movie_id, genres: m.genres ?? genresOf.get(m.movie_id) ?? [] })),
    });
    if (pending.length > MAX_PENDING_FEEDBACK) pending.shift();
  }

  async function oneRequest(): Promise<void> {
    const roll = rng.next();
    const canCreate = usersCreated < o.users;
    let session: string;
    let user: SimUser | undefined;
    let request: () => Promise<ApiResponse>;
    if (known.length === 0 || (roll < SHARE.new_user && canCreate)) {
      session = 'new_user';
      usersCreated++;
      const taste = tastes.draw();
      const size = 3 + rng.int(6);
      const seen = new Set<number>();
      while (seen.size < size) seen.add(pickMovie().movie_id);
      const history = [...seen].map((movie_id) => ({
        movie_id,
        rating: tastes.rating(taste, genresOf.get(movie_id) ?? []),
      }));
      request = () => api.authed('POST', '/recommendations', { history, n: 10 });
      user = { id: 0, taste, watched: [...seen] };
    } else if (pending.length > 0 && rng.next() < SHARE.feedback) {
      session = 'feedback';
      const answer = pending.shift()!;
      const events = tastes.react(answer);
      feedback.requests++;
      feedback.events += events.length;
      request = () => api.authed('POST', '/feedback', { events });
    } else if (roll < SHARE.new_user + SHARE.cold_start && canCreate) {
      session = 'cold_start';
      usersCreated++;
      const taste = tastes.draw();
      user = { id: `sim:${runTag}-${++coldStarts}`, taste, watched: [] };
      request = () =>
        api.authed('POST', '/recommendations', { user_id: user!.id, genres: tastes.stated(taste), n: 10 });
    } else if (roll < SHARE.new_user + SHARE.cold_start + SHARE.similar) {
      session = 'similar';
      const u = rng.pick(known);
      const movie = u.watched.length > 0 && rng.next() < 0.7 ? rng.pick(u.watched) : pickMovie().movie_id;
      const avoid = [...u.taste.disliked];
      const query = avoid.length > 0 && rng.next() < 0.3 ? `&genres_none=${encodeURIComponent(avoid.join(','))}` : '';
      request = () => api.authed('GET', `/movies/${movie}/similar?n=10${query}`);
    } else if (roll < SHARE.new_user + SHARE.cold_start + SHARE.similar + SHARE.filtered) {
      session = 'filtered';
      user = rng.pick(known);
      const filter = tastes.filter(user.taste, user.watched);
      request = () => api.authed('POST', '/recommendations', { user_id: user!.id, n: 10, filter });
    } else if (roll < SHARE.new_user + SHARE.cold_start + SHARE.similar + SHARE.filtered + SHARE.watched_and_rated) {
      session = 'watched_and_rated';
      user = rng.pick(known);
      const movie = pickMovie().movie_id;
      user.watched.push(movie);
      if (user.watched.length > 50) user.watched.shift();
      const history = [{ movie_id: movie, rating: tastes.rating(user.taste, genresOf.get(movie) ?? []) }];
      request = () => api.authed('POST', '/recommendations', { user_id: user!.id, history, n: 10 });
    } else {
      session = 'recommendations';
      user = rng.pick(known);
      request = () => api.authed('POST', '/recommendations', { user_id: user!.id, n: 10 });
    }
    const creates = session === 'new_user' || session === 'cold_start';
    const started = performance.now();
    try {
      const r = await request();
      outcome(session, r);
      if (session === 'feedback' && r.status === 200) {
        feedback.accepted += Number(r.body?.accepted) || 0;
        feedback.duplicates += Number(r.body?.duplicates) || 0;
        const rejected = Array.isArray(r.body?.rejected) ? r.body.rejected : [];
        feedback.rejected += rejected.length;
        for (const x of rejected) stats.unexpectedError(`feedback: event rejected: ${JSON.stringify(x).slice(0, 200)}`);
      }
      // A history without user_id always creates a user; a cold start's id could have been taken before.
      if (
        creates &&
        r.status === 200 &&
        r.body?.user_id !== undefined &&
        (session === 'new_user' || r.body.created === true)
      ) {
        if (session === 'new_user') user!.id = r.body.user_id;
        known.push(user!);
      } else if (creates) usersCreated--;
      if (user && session !== 'similar') shown(user, r, session === 'filtered');
    } catch (err) {
      const timeout = (err as Error)?.name === 'TimeoutError';
      stats.record(
        session,
        timeout ? 'timeout' : 'network_error',
        performance.now() - started,
        oneLine((err as NodeJS.ErrnoException).code ?? err),
      );
      if (creates) usersCreated--;
    }
  }

  const t0 = performance.now();
  const elapsed = () => (performance.now() - t0) / 1000;
  const inFlight = new Set<Promise<void>>();
  let sent = 0;
  let due = 0; // seconds after t0 when the next request is due
  let lastTick = 0;
  const tick = () => {
    const e = elapsed();
    o.onTick?.({
      elapsed_s: round(e),
      requests: stats.count,
      throughput_rps: round(stats.count / Math.max(e, 1e-3)),
      latency_ms: stats.latency(),
      unexpected_errors: stats.unexpected,
    });
  };
  while (sent < maxRequests) {
    const now = elapsed();
    if (due >= o.duration || now >= o.duration) break;
    if (due > now) await sleep((due - now) * 1000);
    while (inFlight.size >= o.concurrency) await Promise.race(inFlight);
    if (elapsed() >= o.duration) break;
    const p: Promise<void> = oneRequest().finally(() => inFlight.delete(p));
    inFlight.add(p);
    sent++;
    // A saturated server does not get a burst of the whole backlog later: at most one second of catch-up.
    due = Math.max(due, elapsed() - 1);
    const rate = o.diurnal ? o.rate * activityAt((24 * due) / o.duration) : o.rate;
    due += 1 / rate;
    if (o.onTick && elapsed() - lastTick >= 1) {
      lastTick = elapsed();
      tick();
    }
  }
  await Promise.all(inFlight);
  const total = elapsed();
  tick();
  return {
    url: base.origin,
    client: { username: o.username, registered },
    duration_s: round(total),
    target_rate_rps: o.rate,
    diurnal: o.diurnal,
    requests: stats.count,
    throughput_rps: round(stats.count / total),
    latency_ms: stats.latency(),
    status_counts: stats.statusCounts,
    sessions: stats.sessions,
    calls: stats.calls(),
    feedback,
    users_created: usersCreated,
    rate_limited: stats.rateLimited,
    errors: { unexpected: stats.unexpected, samples: stats.errorSamples },
  };
}

/** Up to 1,000 movies from GET /movies (10 pages), the pool that sessions watch and rate. */
async function fetchMovies(api: ApiClient): Promise<CatalogueMovie[]> {
  const ids: CatalogueMovie[] = [];
  for (let page = 0; page < 10; page++) {
    const r = await api.authed('GET', `/movies?limit=100&offset=${page * 100}`);
    if (r.status !== 200) throw new RecoError(`GET /movies answered HTTP ${r.status}`);
    const batch = (r.body?.movies ?? []) as { movie_id: number; genres?: string[] }[];
    ids.push(...batch.map((m) => ({ movie_id: m.movie_id, genres: m.genres ?? [] })));
    if (batch.length < 100) break;
  }
  return ids;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
