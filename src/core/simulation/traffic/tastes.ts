import type { Rng } from '../../data/random.js';

/**
 * What the simulated platform's users like, and how they react to what they are shown: the part of the traffic
 * mix that makes feedback, filters and cold starts look like a platform's rather than uniform noise.
 */

/** Shares of the calls that are not feedback; known users asking for recommendations take the rest. */
export const SHARE = {
  new_user: 0.12,
  cold_start: 0.03,
  similar: 0.12,
  filtered: 0.08,
  watched_and_rated: 0.2,
  /** Of all calls while answers wait for their feedback. */
  feedback: 0.4,
} as const;

/** Most recommendation answers get feedback (the user watched, rated or passed over what was shown). */
export const FEEDBACK_AFTER_ANSWER = 0.85;
/** Answers waiting for their feedback; beyond this the oldest are forgotten (a user who left). */
export const MAX_PENDING_FEEDBACK = 1000;

export interface CatalogueMovie {
  movie_id: number;
  genres: string[];
}

export interface Taste {
  liked: Set<string>;
  disliked: Set<string>;
}

/** A user this run created: its id (the generated one, or the platform id of a cold start) and its taste. */
export interface SimUser {
  id: number | string;
  taste: Taste;
  /** Movies it watched lately, newest last (what it asks similar movies for, and excludes in filters). */
  watched: number[];
}

/** A recommendation answer the user will react to. */
export interface ShownAnswer {
  user: SimUser;
  recommendationId: string;
  movies: CatalogueMovie[];
}

export interface FeedbackEventBody {
  user_id: number | string;
  movie_id: number;
  type: 'rating' | 'view' | 'like' | 'dislike' | 'skip';
  rating?: number;
  timestamp: string;
  recommendation_id: string;
}

export class Tastes {
  /** @param genres the genres of the catalogue that the API knows (filters and stated tastes must use those) */
  constructor(
    private readonly rng: Rng,
    private readonly genres: readonly string[],
  ) {}

  /** 1–3 liked genres and 0–2 disliked ones. */
  draw(): Taste {
    const shuffled = this.rng.shuffle([...this.genres]);
    const nLiked = Math.min(shuffled.length, 1 + this.rng.int(3));
    const nDisliked = Math.min(shuffled.length - nLiked, this.rng.int(3));
    return { liked: new Set(shuffled.slice(0, nLiked)), disliked: new Set(shuffled.slice(nLiked, nLiked + nDisliked)) };
  }

  /** +1 a liked movie (a liked genre, no disliked one), -1 a movie of a disliked genre, 0 neither. */
  appeal(taste: Taste, genres: readonly string[]): -1 | 0 | 1 {
    if (genres.some((g) => taste.disliked.has(g))) return -1;
    return genres.some((g) => taste.liked.has(g)) ? 1 : 0;
  }

  /** A rating 0.5–5 in half steps, high for liked movies and low for disliked ones. */
  rating(taste: Taste, genres: readonly string[]): number {
    const mean = [2.2, 3.3, 4.2][this.appeal(taste, genres) + 1];
    return Math.min(5, Math.max(0.5, Math.round(2 * this.rng.normal(mean, 0.7)) / 2));
  }

  /** The stated tastes of a cold start: liked genres 0.5–1, disliked ones -1…-0.5. */
  stated(taste: Taste): Record<string, number> {
    const w = () => Math.round(50 + 50 * this.rng.next()) / 100;
    const out: Record<string, number> = {};
    for (const g of taste.liked) out[g] = w();
    for (const g of taste.disliked) out[g] = -w();
    return out;
  }

  /**
   * The events of a user who looked at the first 1–4 movies of an answer: liked ones are viewed, rated or
   * liked; ones of a disliked genre are disliked or skipped; the rest are mostly skipped. Watched movies join
   * the user's recent list.
   */
  react(answer: ShownAnswer): FeedbackEventBody[] {
    const { user, recommendationId } = answer;
    const timestamp = new Date().toISOString();
    const looked = answer.movies.slice(0, 1 + this.rng.int(4));
    return looked.map(({ movie_id, genres }) => {
      const appeal = this.appeal(user.taste, genres);
      const roll = this.rng.next();
      let type: FeedbackEventBody['type'];
      if (appeal > 0) type = roll < 0.5 ? 'view' : roll < 0.8 ? 'rating' : 'like';
      else if (appeal < 0) type = roll < 0.4 ? 'dislike' : 'skip';
      else type = roll < 0.2 ? 'view' : 'skip';
      if (type === 'view' || type === 'rating' || type === 'like') {
        user.watched.push(movie_id);
        if (user.watched.length > 50) user.watched.shift();
      }
      const event: FeedbackEventBody = {
        user_id: user.id,
        movie_id,
        type,
        timestamp,
        recommendation_id: recommendationId,
      };
      if (type === 'rating') event.rating = this.rating(user.taste, genres);
      return event;
    });
  }

  /** A per-request filter: no disliked genre (or only liked ones), sometimes recent years, minus what was watched. */
  filter(taste: Taste, watched: readonly number[]): Record<string, unknown> {
    const filter: Record<string, unknown> = {};
    if (taste.disliked.size > 0 && this.rng.next() < 0.7) filter.genres_none = [...taste.disliked];
    else filter.genres_any = [...taste.liked];
    if (this.rng.next() < 0.3) filter.year_min = 1990;
    if (watched.length > 0) filter.exclude_movie_ids = watched.slice(-5);
    return filter;
  }
}
