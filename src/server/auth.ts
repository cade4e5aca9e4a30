import { createSecretKey, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Request, RequestHandler } from 'express';
import { LRUCache } from 'lru-cache';
import { Passport } from 'passport';
import { ExtractJwt, Strategy as JwtStrategy } from 'passport-jwt';
import { clientIdFromSubject, JWT_ALGORITHM, JWT_AUDIENCE, JWT_ISSUER } from '../core/auth/tokens.js';
import { clientIsActive } from '../core/db/repositories/api-users.js';
import type { Database } from '../core/db/types.js';
import { HttpError } from './http-errors.js';

export interface AuthenticatedClient {
  clientId: number;
  username: string;
}

/** The client of an authenticated request (set by TokenAuthenticator). */
export function clientOf(req: Request): AuthenticatedClient {
  const c = (req as Request & { user?: AuthenticatedClient }).user;
  if (!c) throw new HttpError(401, 'missing bearer token');
  return c;
}

/** How long a client's "not disabled" status is trusted before it is checked again. */
const CLIENT_CHECK_TTL_MS = 10_000;

/** At most this many verified tokens are kept (least recently used dropped first). */
const VERIFIED_TOKENS = 10_000;

type Done = (err?: unknown) => void;

/**
 * Bearer-JWT authentication with passport-jwt (HS256 only: "alg: none" and RS/HS confusion are refused). A token
 * must carry this server's `iss` and `aud`, an `exp`, and a `sub` that is a client id (tokens.ts).
 * A client disabled after its token was issued is refused within CLIENT_CHECK_TTL_MS.
 * `authenticate` is the one entry: the Express middleware and the fast path (fast-path.ts) both call it, and it
 * runs passport's own `authenticate('jwt')` with a callback, so both give the same answers.
 * The one cache: tokens whose signature verified, by their exact text, in a bounded LRU whose entries expire when
 * their token does (jsonwebtoken's rule: expired when now >= exp). A cached token skips only passport-jwt's HMAC
 * and JSON decoding, most of authentication's cost (docs/benchmarks/serve.md); an expired one goes through
 * passport-jwt again for its 401.
 */
export class TokenAuthenticator {
  private readonly passport = new Passport();
  private readonly checked = new Map<number, number>();
  private readonly extract = ExtractJwt.fromAuthHeaderAsBearerToken();
  private readonly verified = new LRUCache<string, AuthenticatedClient>({ max: VERIFIED_TOKENS });

  constructor(
    private readonly db: Database,
    secret: string,
  ) {
    const strategy = new JwtStrategy(
      {
        jwtFromRequest: this.extract,
        // A KeyObject, not the string: jsonwebtoken 9 otherwise tries createPublicKey on every verify, a large
        // share of a request's CPU (docs/benchmarks/serve.md).
        secretOrKey: createSecretKey(Buffer.from(secret, 'utf8')) as unknown as string,
        algorithms: [JWT_ALGORITHM],
        issuer: JWT_ISSUER,
        audience: JWT_AUDIENCE,
      },
      (
        payload: { sub?: unknown; username?: string; exp?: unknown; nbf?: unknown },
        done: (err: unknown, user?: AuthenticatedClient | false, info?: unknown) => void,
      ) => {
        const clientId = clientIdFromSubject(payload.sub);
        // jsonwebtoken checks `exp` only when present: a token without one would never expire.
        if (clientId === undefined || typeof payload.exp !== 'number' || !Number.isFinite(payload.exp))
          return done(null, false);
        // Cached only without a not-before (nothing else about it depends on the time).
        const exp = payload.nbf === undefined ? payload.exp : undefined;
        done(null, { clientId, username: String(payload.username ?? '') }, { exp });
      },
    );
    this.passport.use(strategy);
  }

  /** Express middleware: sets req.user or passes a 401 HttpError. */
  middleware(): RequestHandler {
    return (req, _res, next) => this.authenticate(req, next);
  }

  /**
   * The common case decided at once: a cached token of a client whose status was checked within
   * CLIENT_CHECK_TTL_MS. Sets req.user and returns true; false means "call authenticate".
   */
  authenticateKnown(req: IncomingMessage): boolean {
    const user = this.cached(req);
    if (user === undefined) return false;
    const until = this.checked.get(user.clientId);
    if (until === undefined || until <= Date.now()) return false;
    (req as any).user = user;
    return true;
  }

  /** `done()` with req.user set, or `done(err)` (a 401 HttpError, or the database's error). */
  authenticate(req: IncomingMessage, done: Done): void {
    const known = this.cached(req);
    if (known) return this.settle(req, null, known, undefined, done);
    this.passport.authenticate(
      'jwt',
      { session: false },
      (err: unknown, user: AuthenticatedClient | false, info: unknown) => this.settle(req, err, user, info, done),
    )(req, undefined, done);
  }

  private cached(req: IncomingMessage): AuthenticatedClient | undefined {
    const token = this.extract(req as Request);
    return token ? this.verified.get(token) : undefined;
  }

  private settle(
    req: IncomingMessage,
    err: unknown,
    user: AuthenticatedClient | false,
    info: unknown,
    done: Done,
  ): void {
    if (err) return done(err);
    const exp = (info as { exp?: number } | undefined)?.exp;
    if (user && exp !== undefined) {
      const token = this.extract(req as Request);
      const ttl = exp * 1000 - Date.now();
      if (token && ttl > 0) this.verified.set(token, user, { ttl });
    }
    if (!user) {
      const name = (info as { name?: string } | undefined)?.name;
      const message = !req.headers.authorization
        ? 'missing bearer token: send Authorization: Bearer <token> (get one from POST /token)'
        : name === 'TokenExpiredError'
          ? 'the token has expired: get a new one from POST /token'
          : 'invalid bearer token';
      return done(new HttpError(401, message));
    }
    const until = this.checked.get(user.clientId);
    if (until !== undefined && until > Date.now()) {
      (req as any).user = user;
      return done();
    }
    clientIsActive(this.db, user.clientId).then(
      (active) => {
        if (!active) return done(new HttpError(401, 'this client is disabled or no longer exists'));
        this.checked.set(user.clientId, Date.now() + CLIENT_CHECK_TTL_MS);
        (req as any).user = user;
        done();
      },
      (e) => done(e),
    );
  }
}

/** When an admin token is configured, X-Admin-Token must equal it (compared in constant time). */
export function requireAdminToken(adminToken: string | undefined): RequestHandler {
  const expected = adminToken ? Buffer.from(adminToken) : undefined;
  return (req, _res, next) => {
    if (!expected) return next();
    const given = Buffer.from(String(req.headers['x-admin-token'] ?? ''));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return next(new HttpError(401, 'this server requires the header X-Admin-Token to register clients'));
    }
    next();
  };
}
