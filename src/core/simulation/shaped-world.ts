import { GENRES } from '../features/genres.js';
import { Rng, sampleCumulative } from '../data/random.js';

/**
 * A world of a given shape (ratings, movies, users) for `reco simulate data --shape`: movies grouped into taste
 * niches, users who love one to three niches, a long-tail popularity, sessions and timestamps over years.
 * Everything is a pure function of (seed, shape): the data can be written again byte for byte, and the world's
 * choice probabilities — the oracle an evaluation compares models with — can be rebuilt from world.json.
 *
 * A user u picks a movie from one of their niches with probability `nicheShare` (niche k with the user's weight
 * w_uk, then movie i within it ∝ q_i), otherwise from the whole catalogue by global popularity g_i:
 *   p(i | u) = nicheShare · w_u,c(i) · q_i / Q_c(i) + (1 − nicheShare) · g_i / G.
 * Each rating's movie is drawn independently given the user (sessions shape the timestamps only), so for a random
 * holdout no ranking does better in expectation than ordering by p(i | u): the oracle is the limit.
 */

export interface WorldShape {
  ratings: number;
  movies: number;
  users: number;
  seed: number;
  /** Users love small niches (dozens of movies) with flat popularity inside them, instead of broad tastes. */
  niche: boolean;
}

/** The taste model's constants for a shape, saved in world.json beside the data. */
export interface WorldParams {
  niches: number;
  nicheShare: number;
  /** Zipf exponent of the global popularity by rank. */
  popularityExponent: number;
  /** Zipf exponent of popularity inside a niche (by rank inside the niche). */
  nicheExponent: number;
  /** Zipf exponent of how many users a niche attracts, by the niche's rank. */
  nicheAppeal: number;
  minPerUser: number;
  /** Log-normal σ of the ratings per user. */
  activitySigma: number;
  /** First and last possible rating time (unix seconds). */
  from: number;
  to: number;
}

export function worldParams(shape: WorldShape): WorldParams {
  const base = {
    minPerUser: Math.min(20, Math.max(1, Math.floor(shape.ratings / shape.users / 2))),
    activitySigma: 1.0,
    from: Date.UTC(1996, 0, 1) / 1000,
    to: Date.UTC(2019, 10, 20) / 1000,
  };
  if (shape.niche) {
    return {
      ...base,
      niches: Math.max(1, Math.round(shape.movies / 40)),
      nicheShare: 0.9,
      popularityExponent: 1.0,
      nicheExponent: 0.5,
      nicheAppeal: 0.3,
    };
  }
  return {
    ...base,
    niches: Math.max(1, Math.min(40, Math.round(shape.movies / 100))),
    nicheShare: 0.6,
    popularityExponent: 1.0,
    nicheExponent: 1.0,
    nicheAppeal: 0.3,
  };
}

export interface ShapedUser {
  /** 1-based, as written in ratings.csv. */
  id: number;
  niches: Int32Array;
  weights: Float64Array;
  bias: number;
  ratings: number;
  /** Mean ratings per session. */
  sessionSize: number;
  firstAt: number;
  /** Seconds over which the user's sessions are spread. */
  span: number;
}

export class ShapedWorld {
  readonly params: WorldParams;
  /** Per movie (index = movieId − 1). */
  readonly niche: Int32Array;
  readonly year: Int16Array;
  readonly quality: Float32Array;
  readonly global: Float64Array;
  readonly inNiche: Float64Array;
  /** Per niche: its genres, its movies, their cumulative in-niche weights, the total Q_k. */
  readonly nicheGenres: string[][] = [];
  readonly nicheMovies: Int32Array[] = [];
  private readonly nicheCumulative: Float64Array[] = [];
  readonly nicheTotal: Float64Array;
  private readonly globalCumulative: Float64Array;
  readonly globalTotal: number;
  private readonly appealCumulative: Float64Array;
  /** Ratings of each user, scaled so that they sum to the shape's ratings. */
  readonly counts: Int32Array;

  constructor(readonly shape: WorldShape) {
    const { movies: m, users: nUsers, seed } = shape;
    this.params = worldParams(shape);
    const p = this.params;
    const rng = new Rng(seed, 'shaped world');
    this.niche = new Int32Array(m);
    this.year = new Int16Array(m);
    this.quality = new Float32Array(m);
    this.global = new Float64Array(m);
    this.inNiche = new Float64Array(m);
    // Global popularity: Zipf over a seeded ranking, so the popular movies are spread over niches and ids.
    const rank = rng.shuffle(Array.from({ length: m }, (_, i) => i));
    const byNiche: number[][] = Array.from({ length: p.niches }, () => []);
    for (let r = 0; r < m; r++) this.global[rank[r]] = Math.pow(r + 1, -p.popularityExponent);
    for (let i = 0; i < m; i++) {
      const k = rng.int(p.niches);
      this.niche[i] = k;
      byNiche[k].push(i);
      this.year[i] = 2019 - Math.min(99, Math.floor(-Math.log(1 - rng.next()) * 18));
      this.quality[i] = rng.normal(0, 0.35);
    }
    const usable = GENRES.filter((g) => g !== 'IMAX' && g !== 'Film-Noir');
    this.nicheTotal = new Float64Array(p.niches);
    for (let k = 0; k < p.niches; k++) {
      const count = 1 + rng.int(3);
      this.nicheGenres.push(
        rng
          .shuffle([...usable])
          .slice(0, count)
          .sort(),
      );
      // Inside a niche, its own (seeded) order of appeal.
      const members = rng.shuffle(byNiche[k]);
      const cum = new Float64Array(members.length);
      let total = 0;
      members.forEach((i, r) => {
        this.inNiche[i] = Math.pow(r + 1, -p.nicheExponent);
        total += this.inNiche[i];
        cum[r] = total;
      });
      this.nicheMovies.push(Int32Array.from(members));
      this.nicheCumulative.push(cum);
      this.nicheTotal[k] = total;
    }
    this.globalCumulative = new Float64Array(m);
    let g = 0;
    for (let i = 0; i < m; i++) this.globalCumulative[i] = g += this.global[i];
    this.globalTotal = g;
    this.appealCumulative = new Float64Array(p.niches);
    let a = 0;
    for (let k = 0; k < p.niches; k++)
      this.appealCumulative[k] = a += this.nicheMovies[k].length > 0 ? Math.pow(k + 1, -p.nicheAppeal) : 0;

    // Ratings per user: log-normal, at least minPerUser, scaled to the shape's total (one pass over users).
    const raw = new Float64Array(nUsers);
    let sum = 0;
    for (let u = 0; u < nUsers; u++)
      sum += raw[u] = Math.exp(new Rng(seed, 'activity', u + 1).normal(0, p.activitySigma));
    const extra = Math.max(0, shape.ratings - p.minPerUser * nUsers);
    const cap = Math.max(p.minPerUser, Math.floor(m * 0.5));
    this.counts = new Int32Array(nUsers);
    let carry = 0;
    for (let u = 0; u < nUsers; u++) {
      const want = p.minPerUser + (raw[u] / sum) * extra + carry;
      const n = Math.min(cap, Math.round(want));
      carry = want - n;
      this.counts[u] = n;
    }
  }

  get maxMovieId(): number {
    return this.niche.length;
  }

  /** A user's traits: a pure function of (seed, user id). */
  user(id: number): ShapedUser {
    const p = this.params;
    const r = new Rng(this.shape.seed, 'shaped user', id);
    const nNiches = Math.min(this.params.niches, this.shape.niche ? 3 + r.int(4) : 2 + r.int(3));
    const niches = new Int32Array(nNiches);
    const weights = new Float64Array(nNiches);
    let total = 0;
    for (let s = 0; s < nNiches; s++) {
      let k = sampleCumulative(r, this.appealCumulative);
      for (let t = 0; t < 20 && niches.subarray(0, s).includes(k); t++) k = sampleCumulative(r, this.appealCumulative);
      niches[s] = k;
      total += weights[s] = s === 0 ? 1 : 0.2 + 0.6 * r.next();
    }
    for (let s = 0; s < nNiches; s++) weights[s] /= total;
    const firstAt = p.from + r.next() * (p.to - p.from - 86_400);
    const span = Math.min(p.to - firstAt, Math.exp(r.normal(Math.log(3 * 86_400), 2.5)));
    return {
      id,
      niches,
      weights,
      bias: r.normal(0, 0.35),
      ratings: this.counts[id - 1],
      sessionSize: Math.min(60, Math.exp(r.normal(Math.log(8), 0.7))),
      firstAt,
      span,
    };
  }

  /** p(movie | user) of the model above (movie index, 0-based). */
  choiceProbability(user: ShapedUser, movie: number): number {
    const p = this.params;
    let own = 0;
    const k = this.niche[movie];
    for (let s = 0; s < user.niches.length; s++) if (user.niches[s] === k) own += user.weights[s];
    return (
      (p.nicheShare * own * this.inNiche[movie]) / this.nicheTotal[k] +
      ((1 - p.nicheShare) * this.global[movie]) / this.globalTotal
    );
  }

  /** A component to draw from: the index of one of the user's niches, or −1 for the whole catalogue. */
  drawComponent(user: ShapedUser, rng: Rng): number {
    if (rng.next() >= this.params.nicheShare) return -1;
    let x = rng.next();
    for (let s = 0; s < user.niches.length; s++) if ((x -= user.weights[s]) < 0) return user.niches[s];
    return user.niches[user.niches.length - 1];
  }

  /** A movie index from a component (see drawComponent). */
  drawMovie(component: number, rng: Rng): number {
    if (component < 0) return sampleCumulative(rng, this.globalCumulative);
    return this.nicheMovies[component][sampleCumulative(rng, this.nicheCumulative[component])];
  }

  /** Taste plus noise, in 0.5 steps within 0.5–5: a movie of the user's niches gets +0.7 stars. */
  rate(user: ShapedUser, movie: number, rng: Rng): number {
    const own = user.niches.includes(this.niche[movie]) ? 0.7 : 0;
    const raw = 3.1 + user.bias + this.quality[movie] + own + rng.normal(0, 0.7);
    const half = Math.round(raw * 2) / 2;
    return half < 0.5 ? 0.5 : half > 5 ? 5 : half;
  }
}
