import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../core/auth/passwords.js';
import { USERNAME_PATTERN } from '../core/db/repositories/clients.js';
import { TEXT_PROBLEMS, textProblem } from '../core/text.js';
import { USER_ID_PATTERN } from './user-ids.js';

/**
 * The request and response shapes of the API. The routes validate with these and the OpenAPI document is
 * generated from them (openapi.ts), so the docs cannot drift from the code.
 */
extendZodWithOpenApi(z);

/** Longest history accepted in one request (bounded work and transaction size). */
export const MAX_HISTORY = 1000;
/** A history item without a rating is stored as a liked movie. */
export const DEFAULT_RATING = 4;

/**
 * Every text field of the API: at most `maxLength` characters, no NUL and no unpaired surrogate (see
 * core/text.ts), each refused with a 422 that names the field instead of a database error.
 */
export function safeText(maxLength: number, minLength = 0) {
  return z
    .string()
    .min(minLength)
    .max(maxLength)
    .superRefine((s, ctx) => {
      const problem = textProblem(s, { maxLength });
      if (problem && problem !== 'too_long') ctx.addIssue({ code: 'custom', message: TEXT_PROBLEMS[problem] });
    });
}

export const ErrorBody = z
  .object({
    error: z.string().openapi({ example: 'invalid_request' }),
    message: z.string().openapi({ example: 'n: Too big: expected number to be <=100' }),
  })
  .openapi('Error');

export const CreateClientRequest = z
  .strictObject({
    username: safeText(64)
      .regex(USERNAME_PATTERN, '2–64 letters, digits and _ . @ -, starting with a letter or digit')
      .openapi({ example: 'netflix' }),
    password: safeText(PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH).openapi({ example: 'correct horse battery' }),
    name: safeText(200).optional().openapi({ example: 'Netflix' }),
    email: safeText(320).optional().openapi({ example: 'ops@example.com' }),
  })
  .openapi('CreateClientRequest');

/** No database id: a global sequence number would tell every client how many others registered before it. */
export const CreateClientResponse = z
  .object({ username: z.string(), created_at: z.string().datetime() })
  .openapi('CreateClientResponse');

export const TokenRequest = z
  .object({
    username: safeText(64, 1).openapi({ description: 'Compared without regard to letter case' }),
    password: safeText(PASSWORD_MAX_LENGTH, 1),
    grant_type: z.literal('password').optional(),
  })
  .openapi('TokenRequest');

export const TokenResponse = z
  .object({
    access_token: z.string(),
    token_type: z.literal('bearer'),
    expires_in: z.number().int().openapi({ example: 3600 }),
  })
  .openapi('TokenResponse');

const MovieId = z.number().int().positive().max(2_147_483_647);

export const HistoryItem = z
  .strictObject({
    movie_id: MovieId.openapi({ example: 1 }),
    rating: z
      .number()
      .min(0.5)
      .max(5)
      .multipleOf(0.5)
      .optional()
      .openapi({
        description: `0.5–5 in steps of 0.5; absent means liked (stored as ${DEFAULT_RATING})`,
        example: 4.5,
      }),
  })
  .openapi('HistoryItem');

/** A platform's own user id: 1–128 of these characters, or a positive integer (the same id as its decimal string). */

export const UserId = z
  .union([
    z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
    z.string().regex(USER_ID_PATTERN, '1–128 letters, digits and . _ : @ -'),
  ])
  .openapi('UserId', {
    description:
      'Your own id of the user: 1–128 characters of [A-Za-z0-9._:@-], or a positive integer (42 and "42" are the same user). Created on its first write (a history, feedback); a read of an id never written is a 404',
    example: 'u-1842',
  });

/** Most movies one request may exclude by id. */
export const MAX_EXCLUDED_MOVIES = 1000;

const GenreList = z.array(z.string().min(1).max(50)).max(50);
const Year = z.number().int().min(1800).max(2200);

export const Filter = z
  .strictObject({
    genres_any: GenreList.optional().openapi({
      description: 'Only movies with at least one of these genres',
      example: ['Comedy', 'Animation'],
    }),
    genres_none: GenreList.optional().openapi({
      description: 'No movie with any of these genres',
      example: ['Horror'],
    }),
    year_min: Year.optional().openapi({
      description: 'Released in or after this year (movies without a year are left out)',
      example: 1990,
    }),
    year_max: Year.optional().openapi({
      description: 'Released in or before this year (movies without a year are left out)',
      example: 2010,
    }),
    exclude_movie_ids: z
      .array(MovieId)
      .max(MAX_EXCLUDED_MOVIES)
      .optional()
      .openapi({ description: `Movies never to return (up to ${MAX_EXCLUDED_MOVIES})`, example: [1, 260] }),
  })
  .openapi('Filter', { description: 'Applied before the top n is cut: n movies come back while enough pass' });

export const RecommendationRequest = z
  .strictObject({
    // Created on first write (a history here, or feedback); a read of an id never written is a 404.
    user_id: UserId.optional(),
    history: z
      .array(HistoryItem)
      .max(MAX_HISTORY)
      .optional()
      .openapi({ description: `Ratings to store (up to ${MAX_HISTORY}); without user_id a new user is created` }),
    n: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(10)
      .openapi({ description: 'How many movies to return (1–100)', example: 10 }),
    filter: Filter.optional(),
    explain: z
      .boolean()
      .default(false)
      .openapi({ description: 'Add to each movie why it is recommended (because or reason)' }),
    genres: z
      .record(z.string().max(50), z.number().min(-1).max(1))
      .optional()
      .openapi({
        description:
          'Stated tastes of a user without ratings, genre → weight −1…1: stored as its characteristic vector and used until it has ratings',
        example: { Comedy: 1, Horror: -1 },
      }),
  })
  .openapi('RecommendationRequest');

export const RecommendedMovie = z
  .object({
    movie_id: z.number().int(),
    title: z.string(),
    genres: z.array(z.string()),
    score: z.number(),
    because: z
      .array(z.object({ movie_id: z.number().int(), title: z.string(), weight: z.number() }))
      .optional()
      .openapi({
        description:
          'With explain, for EASE and item-kNN: the (at most 3) history movies that added the most to the score',
      }),
    reason: z
      .string()
      .optional()
      .openapi({ description: 'With explain, for other models: why, e.g. "popular with viewers of Drama and Comedy"' }),
  })
  .openapi('RecommendedMovie');

export const RecommendationResponse = z
  .object({
    user_id: z
      .union([z.number().int(), z.string()])
      .openapi({ description: 'The user: a number when the id is an integer, else your string' }),
    created: z.boolean().openapi({ description: 'true when this request created the user' }),
    model: z
      .object({ algorithm: z.string(), version: z.string() })
      .openapi({ description: 'The model that made the list: inside an experiment, the version of your variant' }),
    experiment: z.object({ name: z.string(), variant: z.string() }).optional().openapi({
      description:
        'Only when the user is inside a running experiment (reco experiments start): its name and the variant the user sees',
    }),
    recommendations: z.array(RecommendedMovie),
    ignored_movie_ids: z
      .array(z.number().int())
      .openapi({ description: 'History movies not in the catalogue (not stored)' }),
    recommendation_id: z.string().openapi({
      description: 'Names this answer: send it back with feedback on its movies',
      example: '2.q1w2e3r4t5y6.a1s2d3f4g5h6',
    }),
  })
  .openapi('RecommendationResponse');

/** Events accepted in one POST /feedback. */
export const MAX_FEEDBACK_EVENTS = 1000;

export const FEEDBACK_TYPES = ['rating', 'view', 'like', 'dislike', 'skip'] as const;

/** The latest unix time an event may carry: 9999-12-31T23:59:59Z. */
export const MAX_FEEDBACK_TIMESTAMP = 253402300799;

/** An event's time as ISO 8601 text, with a Z or an offset. */
export const IsoTimestamp = z.iso.datetime({ offset: true });

/** Longest recommendation_id an event may carry. */
export const MAX_RECOMMENDATION_ID_LENGTH = 100;

/** One event, validated on its own (an invalid one is rejected, the others stored). */
export const FeedbackEvent = z
  .strictObject({
    user_id: UserId,
    movie_id: MovieId.openapi({ example: 260 }),
    type: z
      .enum(FEEDBACK_TYPES)
      .openapi({ description: 'rating (needs rating), view (watched), like, dislike, skip (shown and passed over)' }),
    rating: z
      .number()
      .min(0.5)
      .max(5)
      .multipleOf(0.5)
      .optional()
      .openapi({ description: '0.5–5 in steps of 0.5; only with type rating', example: 4.5 }),
    timestamp: z
      .union([z.number().int().min(0).max(MAX_FEEDBACK_TIMESTAMP), IsoTimestamp])
      .optional()
      .openapi({
        description: 'When it happened: unix seconds or ISO 8601; default the time the server receives it',
        example: 1767225600,
      }),
    recommendation_id: z
      .string()
      .max(MAX_RECOMMENDATION_ID_LENGTH)
      .optional()
      .openapi({ description: 'The recommendation_id of the answer that showed the movie' }),
  })
  .superRefine((e, ctx) => {
    if (e.type === 'rating' && e.rating === undefined)
      ctx.addIssue({ code: 'custom', path: ['rating'], message: 'a rating event needs a rating (0.5–5)' });
    if (e.type !== 'rating' && e.rating !== undefined)
      ctx.addIssue({ code: 'custom', path: ['rating'], message: `a ${e.type} event has no rating` });
  })
  .openapi('FeedbackEvent');

export type FeedbackEventInput = z.infer<typeof FeedbackEvent>;

/** The envelope the route checks first; each event is then checked with FeedbackEvent on its own. */
export const FeedbackRequest = z.strictObject({ events: z.array(z.unknown()).min(1).max(MAX_FEEDBACK_EVENTS) });

/** The body as the OpenAPI document shows it: the envelope of FeedbackRequest with FeedbackEvent items. */
export const FeedbackRequestDocument = z
  .strictObject({
    events: z
      .array(FeedbackEvent)
      .min(1)
      .max(MAX_FEEDBACK_EVENTS)
      .openapi({
        description: `1–${MAX_FEEDBACK_EVENTS} events; an invalid one is rejected on its own (see rejected), the others are stored`,
      }),
  })
  .openapi('FeedbackRequest');

export const FeedbackResponse = z
  .object({
    accepted: z
      .number()
      .int()
      .openapi({ description: 'Valid events: stored now or already stored before (see duplicates)' }),
    duplicates: z
      .number()
      .int()
      .openapi({ description: 'Accepted events that were already stored (same user, movie, type and timestamp)' }),
    rejected: z
      .array(z.object({ index: z.number().int(), reason: z.string() }))
      .openapi({ description: 'Invalid events, by position in events' }),
  })
  .openapi('FeedbackResponse');

/** A comma-separated query parameter as a list ("Comedy,Drama"; repeated parameters work too). */
const listParam = <T extends z.ZodType>(item: T) =>
  z.preprocess(
    (v) =>
      v === undefined
        ? undefined
        : (Array.isArray(v) ? v : [v]).flatMap((x) => String(x).split(',')).filter((x) => x !== ''),
    z.array(item),
  );

export const SimilarQuery = z
  .strictObject({
    n: z.coerce
      .number()
      .int()
      .min(1)
      .max(100)
      .default(10)
      .openapi({ description: 'How many movies (1–100)', example: 10 }),
    genres_any: listParam(z.string().min(1).max(50))
      .pipe(GenreList)
      .optional()
      .openapi({ description: 'Comma-separated genres, at least one', example: ['Comedy', 'Drama'] }),
    genres_none: listParam(z.string().min(1).max(50))
      .pipe(GenreList)
      .optional()
      .openapi({ description: 'Comma-separated genres, none', example: ['Horror'] }),
    year_min: z.coerce.number().pipe(Year).optional(),
    year_max: z.coerce.number().pipe(Year).optional(),
    exclude_movie_ids: listParam(z.coerce.number().pipe(MovieId))
      .pipe(z.array(MovieId).max(MAX_EXCLUDED_MOVIES))
      .optional()
      .openapi({ description: 'Comma-separated movie ids' }),
  })
  .openapi('SimilarQuery');

export const SimilarPath = z.strictObject({
  movie_id: z.coerce.number().int().positive().max(2_147_483_647).openapi({ example: 1 }),
});

export const SimilarResponse = z
  .object({
    movie_id: z.number().int(),
    basis: z.enum(['model', 'genres']).openapi({
      description:
        "model: the active model's item-item weights; genres: shared genres (the model has none for this movie)",
    }),
    model: z.object({ algorithm: z.string(), version: z.string() }),
    similar: z.array(RecommendedMovie),
  })
  .openapi('SimilarResponse');

export const MovieQuery = z
  .strictObject({
    query: safeText(200)
      .optional()
      .openapi({ description: 'Case-insensitive part of the title', example: 'star wars' }),
    genre: safeText(50).optional().openapi({ description: 'Exact genre, e.g. Sci-Fi', example: 'Sci-Fi' }),
    limit: z.coerce.number().int().min(1).max(100).default(20),
    offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
  })
  .openapi('MovieQuery');

export const Movie = z
  .object({
    movie_id: z.number().int(),
    title: z.string(),
    genres: z.array(z.string()),
    year: z.number().int().nullable(),
  })
  .openapi('Movie');

export const MovieList = z
  .object({ total: z.number().int(), limit: z.number().int(), offset: z.number().int(), movies: z.array(Movie) })
  .openapi('MovieList');

export const Health = z.object({ status: z.string() }).openapi('Health');

export const Readiness = z
  .object({
    status: z.enum(['ready', 'not ready']),
    database: z.boolean(),
    model: z.object({ algorithm: z.string(), version: z.string() }).nullable(),
  })
  .openapi('Readiness');

export { z };
