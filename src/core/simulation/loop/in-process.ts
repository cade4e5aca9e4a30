import { Rng } from '../../data/random.js';
import type { Recommender } from '../../models/types.js';
import type { LoopPlatform, ServedList } from './engine.js';
import type { Reaction } from './reaction.js';
import type { LoopUser } from './users.js';

export interface Arm {
  name: string;
  model: Recommender;
  weight?: number;
}

/**
 * The platform in memory: fitted models called directly, each user's history and exclusions kept as the API keeps
 * them (a view is a rating of 4 unless the movie is rated, a rating replaces the rating, a skip is never shown
 * again), users split between arms by a seeded hash of their id (sticky, like the server's assignment).
 */
export class InProcessPlatform implements LoopPlatform {
  private readonly histories = new Map<string, Map<number, number>>();
  private readonly excluded = new Map<string, Set<number>>();
  private readonly cumulative: number[];

  constructor(
    private readonly arms: readonly Arm[],
    private readonly seed: number,
  ) {
    if (arms.length === 0) throw new Error('at least one arm');
    let total = 0;
    this.cumulative = arms.map((a) => (total += a.weight ?? 1));
    this.cumulative = this.cumulative.map((c) => c / total);
  }

  armOf(externalId: string): Arm {
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
    return { movieIds: recs.map((r) => r.movieId), arm: arm.name };
  }

  async feedback(user: LoopUser, _list: ServedList, reactions: readonly Reaction[]): Promise<void> {
    const history = this.histories.get(user.externalId)!;
    for (const r of reactions) {
      if (r.type === 'skip') {
        let ex = this.excluded.get(user.externalId);
        if (!ex) this.excluded.set(user.externalId, (ex = new Set()));
        ex.add(r.movieId);
      } else if (r.type === 'rating') history.set(r.movieId, r.rating!);
      else if (!history.has(r.movieId)) history.set(r.movieId, 4);
    }
  }
}
