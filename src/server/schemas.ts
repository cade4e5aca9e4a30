import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../core/auth/passwords.js';
import { USERNAME_PATTERN } from '../core/db/repositories/clients.js';
import { TEXT_PROBLEMS, textProblem } from '../core/text.js';

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
  .object({ error: z.string().openapi({ example: 'invalid_request' }), message: z.string().openapi({ example: 'n: Too big: expected number to be <=100' }) })
  .openapi('Error');

export const CreateClientRequest = z
  .strictObject({
    username: safeText(64).regex(USERNAME_PATTERN, '2–64 letters, digits and _ . @ -, starting with a letter or digit').openapi({ example: 'netflix' }),
    password: safeText(PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH).openapi({ example: 'correct horse battery' }),
    name: safeText(200).optional().openapi({ example: 'Netflix' }),
    email: safeText(320).optional().openapi({ example: 'ops@example.com' }),
  })
  .openapi('CreateClientRequest');

/** No database id: a global sequence number would tell every client how many others registered before it. */
export const CreateClientResponse = z.object({ username: z.string(), created_at: z.string().datetime() }).openapi('CreateClientResponse');

export const TokenRequest = z
  .object({
    username: safeText(64, 1).openapi({ description: 'Compared without regard to letter case' }),
    password: safeText(PASSWORD_MAX_LENGTH, 1),
    grant_type: z.literal('password').optional(),
  })
  .openapi('TokenRequest');

export const TokenResponse = z
  .object({ access_token: z.string(), token_type: z.literal('bearer'), expires_in: z.number().int().openapi({ example: 3600 }) })
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
      .openapi({ description: `0.5–5 in steps of 0.5; absent means liked (stored as ${DEFAULT_RATING})`, example: 4.5 }),
  })
  .openapi('HistoryItem');

export const RecommendationRequest = z
  .strictObject({
    user_id: z
      .number()
      .int()
      .positive()
      .max(Number.MAX_SAFE_INTEGER)
      .optional()
      .openapi({ description: 'Your id of a user you created before (or that was ingested for you)', example: 1 }),
    history: z
      .array(HistoryItem)
      .max(MAX_HISTORY)
      .optional()
      .openapi({ description: `Ratings to store (up to ${MAX_HISTORY}); without user_id a new user is created` }),
    n: z.number().int().min(1).max(100).default(10).openapi({ description: 'How many movies to return (1–100)', example: 10 }),
  })
  .openapi('RecommendationRequest');

export const RecommendedMovie = z
  .object({ movie_id: z.number().int(), title: z.string(), genres: z.array(z.string()), score: z.number() })
  .openapi('RecommendedMovie');

export const RecommendationResponse = z
  .object({
    user_id: z.number().int(),
    created: z.boolean().openapi({ description: 'true when this request created the user' }),
    model: z.object({ algorithm: z.string(), version: z.string() }),
    recommendations: z.array(RecommendedMovie),
    ignored_movie_ids: z.array(z.number().int()).openapi({ description: 'History movies not in the catalogue (not stored)' }),
  })
  .openapi('RecommendationResponse');

export const MovieQuery = z
  .strictObject({
    query: safeText(200).optional().openapi({ description: 'Case-insensitive part of the title', example: 'star wars' }),
    genre: safeText(50).optional().openapi({ description: 'Exact genre, e.g. Sci-Fi', example: 'Sci-Fi' }),
    limit: z.coerce.number().int().min(1).max(100).default(20),
    offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
  })
  .openapi('MovieQuery');

export const Movie = z
  .object({ movie_id: z.number().int(), title: z.string(), genres: z.array(z.string()), year: z.number().int().nullable() })
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
