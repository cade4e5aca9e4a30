import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { isDatabaseUnavailable } from '../core/db/errors.js';
import { PgError } from '../core/db/pg-errors.js';

/** An error the API client caused: its status and message are sent as they are. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code = codeFor(status),
    /** Extra response headers (e.g. Retry-After). */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

function codeFor(status: number): string {
  switch (status) {
    case 400:
      return 'bad_request';
    case 401:
      return 'unauthorized';
    case 403:
      return 'forbidden';
    case 404:
      return 'not_found';
    case 405:
      return 'method_not_allowed';
    case 409:
      return 'conflict';
    case 413:
      return 'payload_too_large';
    case 415:
      return 'unsupported_media_type';
    case 422:
      return 'invalid_request';
    case 429:
      return 'too_many_requests';
    case 503:
      return 'unavailable';
    default:
      return status >= 500 ? 'internal' : 'error';
  }
}

/** Parses with a zod schema; the first problem becomes a 422 naming the field. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, what = 'body'): z.output<S> {
  if (input === undefined || input === null)
    throw new HttpError(422, `the request ${what} is missing (send JSON with Content-Type: application/json)`);
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const where = issue.path.length ? issue.path.join('.') : what;
  throw new HttpError(422, `${where}: ${issue.message}`);
}

export const notFound: RequestHandler = (req, _res, next) => {
  next(new HttpError(404, `no route ${req.method} ${req.path}`));
};

/**
 * What the client is told about an error: an HttpError as it is, body-parser's errors by type, anything else a
 * logged 500 (or 503 when the database is down). Shared by the Express error handler and the fast path.
 */
export function toHttpError(
  err: any,
  logger: Logger,
  req: { method?: string; originalUrl?: string; url?: string },
): HttpError {
  if (err instanceof HttpError) return err;
  if (err?.type === 'entity.parse.failed') return new HttpError(400, 'the body is not valid JSON');
  if (err?.type === 'entity.too.large')
    return new HttpError(413, `the body is larger than the limit of ${err.limit} bytes`);
  if (err?.type === 'encoding.unsupported' || err?.type === 'charset.unsupported')
    return new HttpError(415, 'unsupported body encoding or charset');
  const url = req.originalUrl ?? req.url;
  if (err?.code === PgError.CHARACTER_NOT_IN_REPERTOIRE) {
    // Text the schemas should have refused (safeText): still the input, not the server, so still a 4xx.
    logger.warn({ err, method: req.method, url }, 'text the database cannot store reached it');
    return new HttpError(422, 'the request holds text the database cannot store (a NUL character or invalid UTF-8)');
  }
  if (isDatabaseUnavailable(err)) {
    logger.error({ err, method: req.method, url }, 'database unavailable');
    return new HttpError(503, 'the database is unavailable: try again shortly');
  }
  if (typeof err?.status === 'number' && err.status >= 400 && err.status < 500 && err.expose)
    return new HttpError(err.status, String(err.message));
  logger.error({ err, method: req.method, url }, 'unhandled error');
  return new HttpError(500, 'internal error');
}

/** The JSON body of an error response. */
export function errorBody(e: HttpError): { error: string; message: string } {
  return { error: e.code, message: e.message };
}

/** For servers built without a logger (tests): errors are still mapped, just not logged. */
export const silentLogger = { error() {}, warn() {}, info() {} } as unknown as Logger;

/** JSON errors, never a stack trace or SQL: anything that is not an HttpError is a logged 500. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const e = toHttpError(err, logger, req);
    if (res.headersSent) return;
    if (e.headers) res.set(e.headers);
    res.status(e.status).json(errorBody(e));
  };
}
