import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Express, Request } from 'express';
import type { AppContext } from './context.js';
import { errorBody, HttpError, parseInput, silentLogger, toHttpError } from './http-errors.js';
import { routeRecorder } from './metrics-middleware.js';
import { cachedRecommendationBody, recommendationBody, recommendFor, toRecommendInput } from './recommend.js';
import { RecommendationRequest } from './schemas.js';

/**
 * POST /recommendations without Express's routing: the API's hot route, where Express's own dispatch cost more
 * than everything else of a cached request (docs/benchmarks/serve.md). It runs the same modules as the Express
 * route, in the same order — body (as express.json parses it), passport-jwt authentication
 * (TokenAuthenticator), the zod schema, recommendFor, the error mapping, metrics and access log — so the answers
 * cannot drift; test/server/fast-path.test.ts compares both for every case.
 *
 * It takes only plain requests: exactly `POST /recommendations`, `Content-Type: application/json` (optionally
 * `; charset=utf-8`), a Content-Length within the body limit, no Content-Encoding or Transfer-Encoding.
 * Everything else (compressed or chunked bodies, other charsets, query strings, other routes) goes to Express.
 */
export function recommendationsFastPath(
  ctx: AppContext,
  app: Express,
  bodyLimit: string | number,
  trustProxy: unknown,
): ((req: IncomingMessage, res: ServerResponse) => boolean) | undefined {
  const limit = bodyLimitBytes(bodyLimit);
  if (limit === undefined) return undefined;
  const logger = ctx.logger ?? silentLogger;
  // req.ip as Express computes it: the socket's address, or through its trusted proxies when configured.
  const ipOf = trustProxy
    ? (req: IncomingMessage) => (Object.setPrototypeOf(req, app.request) as Request).ip
    : (req: IncomingMessage) => req.socket.remoteAddress;

  const record = routeRecorder(ctx.metrics, ctx.logger, 'POST', '/recommendations', '/recommendations');

  const finish = (req: FastRequest, status: number, body: string | Buffer, headers?: Record<string, string>) => {
    const state = req[STATE]!;
    state.res.writeHead(status, {
      ...headers,
      'content-type': 'application/json; charset=utf-8',
      'content-length': typeof body === 'string' ? Buffer.byteLength(body) : body.length,
    });
    state.res.end(body);
    const seconds = (performance.now() - state.start) / 1000;
    // Every answer of this route carries its template, a body that is not JSON too (as Express labels it).
    record(status, seconds, req.user?.username, ipOf(req));
  };
  const fail = (req: FastRequest, err: unknown) => {
    const e = toHttpError(err, logger, req);
    if (req[STATE]!.res.headersSent) return;
    finish(req, e.status, JSON.stringify(errorBody(e)), e.headers);
  };
  /** After authentication: the schema, then the answer (in this tick when everything is in memory). */
  const answer = (req: FastRequest, body: unknown) => {
    let input;
    try {
      input = parseInput(RecommendationRequest, body);
    } catch (err) {
      return fail(req, err);
    }
    const request = toRecommendInput(req.user!.clientId, input);
    const cached = cachedRecommendationBody(ctx, request);
    if (cached) return finish(req, 200, cached);
    recommendFor(ctx, request).then(
      (out) => finish(req, 200, recommendationBody(out)),
      (err) => fail(req, err),
    );
  };
  // The request's events, shared by all requests (no closures per request): `this` is the request.
  function onData(this: FastRequest, chunk: Buffer) {
    const state = this[STATE]!;
    if (state.body === undefined) state.body = chunk;
    else (state.more ??= []).push(chunk);
  }
  function onEnd(this: FastRequest) {
    const req = this;
    let body: unknown;
    try {
      const { body: first, more } = req[STATE]!;
      body = parseJsonBody(more ? Buffer.concat([first!, ...more]).toString('utf8') : (first?.toString('utf8') ?? ''));
    } catch (err) {
      return fail(req, err);
    }
    if (ctx.auth.authenticateKnown(req)) return answer(req, body);
    ctx.auth.authenticate(req, (authErr) => (authErr ? fail(req, authErr) : answer(req, body)));
  }

  return (req, res) => {
    if (req.method !== 'POST' || req.url !== '/recommendations') return false;
    const h = req.headers;
    const type = h['content-type'];
    if (type === undefined || !JSON_TYPES.has(type.toLowerCase())) return false;
    if (h['content-encoding'] !== undefined || h['transfer-encoding'] !== undefined) return false;
    const length = h['content-length'] === undefined ? NaN : Number(h['content-length']);
    if (!(length >= 0 && length <= limit)) return false;

    (req as FastRequest)[STATE] = { res, start: performance.now(), body: undefined, more: undefined };
    // No 'error' listener: node:http gives an aborted request's error only to listeners (IncomingMessage#_destroy),
    // and there is nobody to answer (test: a client that goes away in the middle of its body).
    req.on('data', onData);
    req.on('end', onEnd);
    return true;
  };
}

/** What the fast path keeps on a request it took. */
const STATE = Symbol('reco.fastPath');
type FastRequest = IncomingMessage & {
  [STATE]?: { res: ServerResponse; start: number; body: Buffer | undefined; more: Buffer[] | undefined };
  user?: { clientId: number; username: string };
};

const JSON_TYPES = new Set(['application/json', 'application/json; charset=utf-8', 'application/json;charset=utf-8']);

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

/** body-parser's limit notation ("256kb", a number of bytes); undefined when not understood (no fast path). */
export function bodyLimitBytes(limit: string | number): number | undefined {
  if (typeof limit === 'number') return Number.isFinite(limit) && limit >= 0 ? Math.floor(limit) : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$/i.exec(limit);
  if (!m) return undefined;
  const unit = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[(m[2] ?? 'b').toLowerCase() as 'b'];
  return Math.floor(Number(m[1]) * unit);
}
