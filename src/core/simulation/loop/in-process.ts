import { Rng } from '../../data/random.js';
import { thompsonPick, type Allocation, type VariantCounts } from '../../experiments/allocation.js';
import type { Recommender } from '../../models/types.js';
import type { LoopPlatform, ServedList } from './engine.js';
import type { Reaction } from './reaction.js';
import type { LoopUser } from './users.js';

export interface Arm {
  name: string;
  model: Recommender;
  weight?: number;
}

export interface InProcessOptions {
  /** `fixed` (default): by the weights; `bandit`: Thompson sampling (experiments/allocation.ts). */
  allocation?: Allocation;
}

/**
 * The platform in memory: fitted models called directly, each user's history and exclusions kept as the API keeps
 * them (a view is a rating of 4 unless the movie is rated, a rating replaces the rating, a skip is never shown
 * again). With the fixed allocation users are split between arms by a seeded hash of their id (sticky, like the
 * server's assignment); with the bandit a new user gets the arm of a Thompson draw (seeded by the user's id) from
 * the posteriors as of the end of the previous day, and keeps it.
 */
export class InProcessPlatform implements LoopPlatform {
  private readonly histories = new Map<string, Map<number, number>>();
  private readonly excluded = new Map<string, Set<number>>();
  private readonly cumulative: number[];
  private readonly assigned = new Map<string, Arm>();
  /** Impressions and conversions per arm so far, and as the allocator last read them (end of the previous day). */
  private readonly live: VariantCounts[];
  private snapshot: VariantCounts[];
  readonly allocation: Allocation;

  constructor(
    private readonly arms: readonly Arm[],
    private readonly seed: number,
    options: InProcessOptions = {},
  ) {
    this.allocation = options.allocation ?? 'fixed';
    this.live = arms.map((a) => ({ name: a.name, impressions: 0, conversions: 0 }));
    this.snapshot = this.live.map((c) => ({ ...c }));
    if (arms.length === 0) throw new Error('at least one arm');
    let total = 0;
    this.cumulative = arms.map((a) => (total += a.weight ?? 1));
    this.cumulative = this.cumulative.map((c) => c / total);
  }

  armOf(externalId: string): Arm {
    let arm = this.assigned.get(externalId);
    if (!arm)
      this.assigned.set(
        externalId,
        (arm =
          this.allocation === 'bandit'
            ? this.arms[thompsonPick(this.snapshot, new Rng(this.seed, 'loop bandit', externalId))]
            : this.hashed(externalId)),
      );
    return arm;
  }

  /** The posterior counts per arm the allocator uses now. */
  counts(): VariantCounts[] {
    return this.snapshot.map((c) => ({ ...c }));
  }

  endDay(): void {
    this.snapshot = this.live.map((c) => ({ ...c }));
  }

  private hashed(externalId: string): Arm {
    const x = new Rng(this.seed, 'loop arm', externalId).next();
    const i = this.cumulative.findIndex((c) => x < c);
    return this.arms[i < 0 ? this.arms.length - 1 : i];
  }

  async recommend(user: LoopUser, first: boolean, n: number): Promise<ServedList> {
    let history = this.histories.get(user.externalId);
    if (!history) this.histories.set(user.externalId, (history = new Map()));
    if (first) for (const h of user.history) history.set(h.movieId, h.rating);
    const arm = this.armOf(user.externalId);
    const movieIds = [...history.keys()];
    const recs = arm.model.recommend({ movieIds, ratings: movieIds.map((m) => history.get(m)!) }, n, {
      exclude: this.excluded.get(user.externalId),
    });
    this.live[this.arms.indexOf(arm)].impressions += recs.length;
    return { movieIds: recs.map((r) => r.movieId), arm: arm.name };
  }

  async feedback(user: LoopUser, list: ServedList, reactions: readonly Reaction[]): Promise<void> {
    const history = this.histories.get(user.externalId)!;
    const counts = this.live.find((c) => c.name === list.arm);
    for (const r of reactions) {
      if (r.conversion && counts) counts.conversions++;
      if (r.type === 'skip') {
        let ex = this.excluded.get(user.externalId);
        if (!ex) this.excluded.set(user.externalId, (ex = new Set()));
        ex.add(r.movieId);
      } else if (r.type === 'rating') history.set(r.movieId, r.rating!);
      else if (!history.has(r.movieId)) history.set(r.movieId, 4);
    }
  }
}
