import { OpenAPIRegistry, OpenApiGeneratorV3 } from '@asteasolutions/zod-to-openapi';
import * as S from './schemas.js';

const json = (schema: S.z.ZodType, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});
const error = (description: string) => json(S.ErrorBody, description);

/** Every route of the API with the zod schemas the handlers validate with. */
export function buildOpenApiDocument(version = '0.1.0') {
  const registry = new OpenAPIRegistry();
  const bearer = registry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
  });
  // The same token, obtained with the OAuth2 password grant that POST /token implements (form fields username, password).
  const password = registry.registerComponent('securitySchemes', 'oauth2Password', {
    type: 'oauth2',
    description: 'POST /token with username and password (application/x-www-form-urlencoded) returns the bearer token.',
    flows: { password: { tokenUrl: '/token', scopes: {} } },
  });
  const admin = registry.registerComponent('securitySchemes', 'adminToken', {
    type: 'apiKey',
    in: 'header',
    name: 'X-Admin-Token',
    description: 'Required by POST /create-client only when the server runs with RECO_ADMIN_TOKEN.',
  });
  const auth = [{ [bearer.name]: [] }, { [password.name]: [] }];
  /** No credentials: the route is public (stated, so that a linter and a reader need not guess). */
  const open: never[] = [];

  registry.registerPath({
    method: 'post',
    path: '/create-client',
    operationId: 'createClient',
    summary: 'Register a client (a streaming platform)',
    description:
      'When the server runs with RECO_ADMIN_TOKEN, the header X-Admin-Token must carry it; otherwise registration is open. Rate-limited per IP.',
    // Either the admin token or nothing, depending on how the server runs.
    security: [{ [admin.name]: [] }, {}],
    request: {
      body: { content: { 'application/json': { schema: S.CreateClientRequest } }, required: true },
    },
    responses: {
      201: json(S.CreateClientResponse, 'created'),
      400: error('body is not JSON'),
      401: error('admin token missing or wrong'),
      409: error('username taken (compared without regard to letter case)'),
      413: error('body too large'),
      422: error('invalid field'),
      429: error('too many attempts'),
    },
  });
  registry.registerPath({
    method: 'post',
    path: '/token',
    operationId: 'issueToken',
    security: open,
    summary: 'Log in: a bearer token for the other routes',
    description:
      'OAuth2 password form (application/x-www-form-urlencoded) or JSON. The username is compared without regard to letter case. Rate-limited per IP.',
    request: {
      body: {
        content: {
          'application/x-www-form-urlencoded': { schema: S.TokenRequest },
          'application/json': { schema: S.TokenRequest },
        },
        required: true,
      },
    },
    responses: {
      200: json(S.TokenResponse, 'a token'),
      400: error('body is not JSON'),
      401: error('wrong username or password, or the client is disabled'),
      422: error('invalid field (also: a NUL or unpaired surrogate in a text field)'),
      429: error('too many attempts'),
    },
  });
  registry.registerPath({
    method: 'post',
    path: '/recommendations',
    operationId: 'recommend',
    summary: 'Recommend movies to a user of yours',
    description:
      "Three cases: user_id (optionally with a history to store first; an id you never used is created by that write), a history alone (creates a user and returns its id), neither (422). Movies the user rated, disliked or skipped are never recommended; history movies that are not in the catalogue are listed in ignored_movie_ids. The filter applies before n is cut. recommendation_id names the answer: send it back with feedback. Inside a running experiment (docs/experiments.md) the user's variant answers and `experiment` names the experiment and variant.",
    security: auth,
    request: { body: { content: { 'application/json': { schema: S.RecommendationRequest } }, required: true } },
    responses: {
      200: json(S.RecommendationResponse, 'recommendations, best first'),
      400: error('body is not JSON'),
      401: error('missing, forged or expired token'),
      404: error('no such user for this client (a read of an id never written)'),
      413: error('body too large'),
      422: error(
        'invalid field, neither user_id nor history, no history movie in the catalogue, or an unknown genre in the filter',
      ),
      503: error('no model loaded yet'),
    },
  });
  registry.registerPath({
    method: 'post',
    path: '/feedback',
    operationId: 'sendFeedback',
    summary: 'Send what your users did: ratings, views, likes, dislikes, skips',
    description:
      "Each event is validated on its own: the valid ones are stored in one transaction before the answer, the invalid ones come back in rejected with their index and reason. Idempotent: an event with the same user, movie, type and timestamp as a stored one is counted in duplicates and stored once. Ratings, views and likes become the user's history; dislikes and skips are never recommended to the user again. Unknown user ids are created.",
    security: auth,
    request: { body: { content: { 'application/json': { schema: S.FeedbackRequestDocument } }, required: true } },
    responses: {
      200: json(S.FeedbackResponse, 'what was accepted and what was rejected, by index'),
      400: error('body is not JSON'),
      401: error('missing, forged or expired token'),
      413: error('body too large'),
      422: error(
        'no events, more than 1,000, an unknown field, or a movie that left the catalogue meanwhile (nothing stored)',
      ),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/movies/{movie_id}/similar',
    operationId: 'similarMovies',
    summary: 'Movies like this one',
    description:
      "From the served model's item-item weights (EASE, item-kNN: basis model); for other models, or a movie the model has no weights for, movies sharing its genres (basis genres), which reaches movies nobody rated yet. The filter parameters apply before n is cut.",
    security: auth,
    request: { params: S.SimilarPath, query: S.SimilarQuery },
    responses: {
      200: json(S.SimilarResponse, 'similar movies, most similar first'),
      401: error('missing, forged or expired token'),
      404: error('no such movie'),
      422: error('invalid parameter or unknown genre (the message lists the known ones)'),
      503: error('no model loaded yet'),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/movies',
    operationId: 'searchMovies',
    summary: 'Search the catalogue',
    security: auth,
    request: { query: S.MovieQuery },
    responses: {
      200: json(S.MovieList, 'a page of movies, by title'),
      401: error('missing, forged or expired token'),
      422: error('invalid parameter'),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/metrics',
    operationId: 'metrics',
    security: open,
    summary: 'Prometheus metrics',
    description:
      'reco serve answers it on its own port (--metrics-port, default 9464), not on the API port: the figures span every client.',
    responses: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: S.z.string() } } } },
  });
  registry.registerPath({
    method: 'get',
    path: '/healthz',
    operationId: 'liveness',
    security: open,
    summary: 'Liveness',
    responses: { 200: json(S.Health, 'alive') },
  });
  registry.registerPath({
    method: 'get',
    path: '/readyz',
    operationId: 'readiness',
    security: open,
    summary: 'Readiness: database reachable and a model (or the popularity fallback) loaded',
    responses: { 200: json(S.Readiness, 'ready'), 503: json(S.Readiness, 'not ready') },
  });
  registry.registerPath({
    method: 'get',
    path: '/openapi.json',
    operationId: 'openApiDocument',
    security: open,
    summary: 'This document',
    responses: {
      200: {
        description: 'OpenAPI 3 document',
        content: {
          'application/json': {
            schema: S.z.object({ openapi: S.z.string() }).passthrough().openapi({ additionalProperties: true }),
          },
        },
      },
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/docs',
    operationId: 'documentationPage',
    security: open,
    summary: 'Interactive documentation (HTML)',
    responses: { 200: { description: 'HTML page', content: { 'text/html': { schema: S.z.string() } } } },
  });

  return new OpenApiGeneratorV3(registry.definitions).generateDocument({
    openapi: '3.0.3',
    info: {
      title: 'reco API',
      version,
      description:
        'Movie recommendations for streaming platforms. Get a token from POST /token, then send it as `Authorization: Bearer <token>`.',
      license: { name: 'MIT', url: 'https://opensource.org/licenses/MIT' },
    },
    servers: [{ url: '/' }],
  });
}
