import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import contentType from 'content-type';
import type { Express } from 'express';
import proxyAddr from 'proxy-addr';
import getRawBody from 'raw-body';
import type { BodyLimits } from './body-limits.js';
import type { AppContext } from './context.js';
import { errorBody, HttpError, silentLogger, toHttpError } from './http-errors.js';
import type { JsonRoute } from './json-routes.js';
import { recordRequest, routeRecorder } from './metrics-middleware.js';
import { feedbackRoute } from './routes/feedback.js';
import { ReplyBatch } from './reply-batch.js';
import { recommendationsRoute } from './routes/recommendations.js';
import { similarRoute, type SimilarInput } from './routes/similar.js';

/**
 * The routes the fast path serves: plain JSON POST routes (json-routes.ts) whose Express chain is the app's
 * middleware, the auth middleware and expressJsonRoute — no rate limiter or any other middleware of their own
 * (test/server/fast-path.test.ts checks each route's chain). A new such route is its function, its Express route
 * and a line here: no fast path of its own.
 */
export const PLAIN_ROUTES: ReadonlyMap<string, JsonRoute> = new Map([
  ['/recommendations', recommendationsRoute],
  ['/feedback', feedbackRoute],
]);

/**
 * The one GET route the fast path serves, GET /movies/{movie_id}/similar (a movie page's call): its Express chain is
 * the app's middleware, the auth middleware and a handler that sends similarRoute's JSON, like the POST routes'.
 * Taken in its plain form only: this path with a movie id of digits and any query string, no body.
 */
export const SIMILAR_ROUTE = '/movies/:movie_id/similar';
const SIMILAR_URL = /^\/movies\/(\d+)\/similar(?:\?(.*))?$/s;

/** Replies the fast path holds at most before writing them (reply-batch.ts): 1 writes each at once. */
export const DEFAULT_REPLY_BATCH = 16;

/**
 * Plain JSON POST routes without Express's routing, body-parser and res.json: POST /recommendations, the API's hot
 * route, where Express's own dispatch cost more than everything else of a cached request, and POST /feedback
 * (docs/benchmarks/serve.md); and GET /movies/{movie_id}/similar, its query string read by the app's own parser.
 * It runs the same modules as the Express routes, in the same order — body (read with raw-body and the
 * content-type and bytes packages, as express.json does), passport-jwt authentication (TokenAuthenticator), the
 * route's own function (json-routes.ts, routes/similar.ts: the schema and the answer), the error mapping, metrics
 * and access log — so the answers cannot drift; test/server/fast-path.test.ts compares both for every case.
 * Its replies go through a ReplyBatch (reply-batch.ts): those of requests read together are sent back to back.
 *
 * It takes only plain requests: exactly `POST` and the path of one of `routes`, `Content-Type: application/json` (no
 * charset or utf-8), a Content-Length within the route's body limit (express.json's for the route: body-limits.ts),
 * no Content-Encoding or Transfer-Encoding; or exactly `GET` of SIMILAR_URL without a body.
 * Everything else (compressed or chunked bodies, other charsets, query strings of the POST routes, other forms of
 * the paths, other routes) goes to Express.
 */
export function fastPath(
  ctx: AppContext,
  app: Express,
  bodyLimits: BodyLimits,
  routes: ReadonlyMap<string, JsonRoute> = PLAIN_ROUTES,
  replyBatch = DEFAULT_REPLY_BATCH,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const logger = ctx.logger ?? silentLogger;
  const trust = trustOf(app);

  const served = new Map<string, Served>();
  for (const [path, route] of routes)
    served.set(path, {
      route,
      limit: bodyLimits.of(path),
      record: routeRecorder(ctx.metrics, ctx.logger, 'POST', path, path),
    });

  const similar: Served = {
    route: (c, _clientId, input) => similarRoute(c, input as SimilarInput),
    limit: 0,
    record: (status, seconds, client, ip, url) =>
      recordRequest(ctx.metrics, ctx.logger, { method: 'GET', url, route: SIMILAR_ROUTE, status, seconds, client, ip }),
  };
  // Express's 'simple' query parser by default (node:querystring), compiled by the app like 'trust proxy'.
  const parseQuery = app.get('query parser fn') as (query: string) => Record<string, unknown>;

  /** Writes a reply the batch held (it must not throw: the batch's other replies follow it). */
  const send = (req: FastRequest) => {
    const state = req[STATE]!;
    const { status, body, headers } = state.reply!;
    try {
      state.res.writeHead(status, {
        ...headers,
        'content-type': 'application/json; charset=utf-8',
        'content-length': typeof body === 'string' ? Buffer.byteLength(body) : body.length,
      });
      state.res.end(body);
    } catch (err) {
      logger.error({ err }, 'a reply could not be written');
      state.res.destroy();
    }
    const seconds = (performance.now() - state.start) / 1000;
    // Every answer of these routes carries its template, a body that is not JSON too (as Express labels it).
    // The client's address as Express's req.ip gives it: proxy-addr with the app's trust function.
    state.served.record(status, seconds, req.user?.username, proxyAddr(req, trust), req.url!);
  };
  const replies = new ReplyBatch(send, replyBatch);
  const finish = (req: FastRequest, status: number, body: string | Buffer, headers?: Record<string, string>) => {
    const state = req[STATE]!;
    if (state.reply) return;
    state.reply = { status, body, headers };
    replies.add(req);
  };
  const fail = (req: FastRequest, err: unknown) => {
    const e = toHttpError(err, logger, req);
    finish(req, e.status, JSON.stringify(errorBody(e)), e.headers);
  };
  /** After authentication: the route's function (the schema, then the answer, in this tick when it can). */
  const answer = (req: FastRequest, body: unknown) => {
    let out;
    try {
      out = req[STATE]!.served.route(ctx, req.user!.clientId, body);
    } catch (err) {
      return fail(req, err);
    }
    if (typeof out === 'string' || Buffer.isBuffer(out)) return finish(req, 200, out);
    out.then(
      (json) => finish(req, 200, json),
      (err) => fail(req, err),
    );
  };
  /** The body as express.json reads it (raw-body, the length and limit checked), then authentication. */
  const onBody = (req: FastRequest, err: Error | null, raw: Buffer | undefined) => {
    let body: unknown;
    try {
      if (err) throw err;
      body = parseJsonBody(raw!.toString('utf8'));
    } catch (e) {
      return fail(req, e);
    }
    if (ctx.auth.authenticateKnown(req)) return answer(req, body);
    ctx.auth.authenticate(req, (authErr) => (authErr ? fail(req, authErr) : answer(req, body)));
  };

  /** GET /movies/{movie_id}/similar: no body to read, authentication at once. */
  const takeSimilar = (req: FastRequest, res: ServerResponse): boolean => {
    const m = SIMILAR_URL.exec(req.url!);
    if (m === null) return false;
    const h = req.headers;
    if (h['transfer-encoding'] !== undefined || (h['content-length'] !== undefined && h['content-length'] !== '0'))
      return false;
    req[STATE] = { res, start: performance.now(), served: similar };
    const input: SimilarInput = { path: { movie_id: m[1] }, query: parseQuery(m[2] ?? '') };
    if (ctx.auth.authenticateKnown(req)) answer(req, input);
    else ctx.auth.authenticate(req, (authErr) => (authErr ? fail(req, authErr) : answer(req, input)));
    return true;
  };

  return (req, res) => {
    if (req.method === 'GET') return takeSimilar(req, res);
    if (req.method !== 'POST') return false;
    const route = served.get(req.url!);
    if (route === undefined) return false;
    const h = req.headers;
    if (!isUtf8Json(h['content-type'])) return false;
    if (h['content-encoding'] !== undefined || h['transfer-encoding'] !== undefined) return false;
    const length = h['content-length'] === undefined ? NaN : Number(h['content-length']);
    if (!(length >= 0 && length <= route.limit)) return false;

    (req as FastRequest)[STATE] = { res, start: performance.now(), served: route };
    getRawBody(req, { length, limit: route.limit }, (err, raw) => onBody(req, err, raw));
    return true;
  };
}

/** A route of the fast path: its function and its metrics and access-log recorder. */
interface Served {
  route: JsonRoute;
  /** The route's body limit in bytes (body-limits.ts). */
  limit: number;
  /** The request in the metrics and the access log (`url` the request's, for a route with parameters). */
  record: (status: number, seconds: number, client: string | undefined, ip: string | undefined, url: string) => void;
}

/** What the fast path keeps on a request it took. */
const STATE = Symbol('reco.fastPath');
type FastRequest = IncomingMessage & {
  [STATE]?: {
    res: ServerResponse;
    start: number;
    served: Served;
    /** Set once the reply is decided; written when the reply batch sends it. */
    reply?: { status: number; body: string | Buffer; headers: Record<string, string> | undefined };
  };
  user?: { clientId: number; username: string };
};

/** A Content-Type the fast path reads itself: application/json in UTF-8 (other charsets go to Express). */
function isUtf8Json(header: string | undefined): boolean {
  if (header === undefined) return false;
  let parsed;
  try {
    parsed = contentType.parse(header);
  } catch {
    return false;
  }
  const charset = parsed.parameters.charset?.toLowerCase();
  return parsed.type === 'application/json' && (charset === undefined || charset === 'utf-8');
}

/** The app's compiled `trust proxy` setting: Express keeps it as 'trust proxy fn' beside 'trust proxy'. */
function trustOf(app: Express): (addr: string, i: number) => boolean {
  return app.get('trust proxy fn') as (addr: string, i: number) => boolean;
}
/** What express.json (body-parser 2, strict) makes of a UTF-8 body: BOM dropped, empty → {}, only objects and arrays. */
export function parseJsonBody(text: string): unknown {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.length === 0) return {};
  try {
    if (text[0] !== '{' && text[0] !== '[') {
      const first = /^[\x20\x09\x0a\x0d]*(.|$)/s.exec(text)![1];
      if (first !== '{' && first !== '[') throw new SyntaxError('strict violation');
    }
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'the body is not valid JSON');
  }
}
