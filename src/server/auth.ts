import { createSecretKey, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Request, RequestHandler } from 'express';
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

/** Verified tokens remembered (by their exact text) so that a client's next requests skip the signature check. */
const VERIFIED_TOKENS = 10_000;

type Done = (err?: unknown) => void;
/** What passport-jwt calls back on a strategy it drives (success, fail, error). */
type StrategyCallback = (...args: never[]) => void;

/** The Authorization header a connection sent last, once its token verified (see TokenAuthenticator.remembered). */
const LAST_TOKEN = Symbol('reco.lastToken');
interface RememberedHeader {
  header: string;
  user: AuthenticatedClient;
  exp: number;
  /** The authenticator that verified it (tests run servers with different secrets in one process). */
  owner: TokenAuthenticator;
}

/**
 * Bearer-JWT authentication with passport-jwt (HS256 only: "alg: none" and RS/HS confusion are refused). A token
 * must carry this server's `iss` and `aud`, an `exp`, and a `sub` that is a client id (tokens.ts).
 * A client disabled after its token was issued is refused within CLIENT_CHECK_TTL_MS.
 * One strategy and one outcome mapping serve both entries: Express (`middleware`, through passport) and the
 * fast path of POST /recommendations (`authenticate`, which drives the same strategy the way passport does for a
 * single strategy with a callback), so both give the same answers.
 * A token whose signature verified once is remembered by its exact text, with its expiry: a request with the same
 * token skips only the HMAC and JSON decoding (the bulk of passport-jwt's cost); expiry is checked on every
 * request as jsonwebtoken checks it, and an expired token goes through the strategy again for its 401.
 */
export class TokenAuthenticator {
  private readonly strategy: JwtStrategy;
  private readonly passport = new Passport();
  private readonly checked = new Map<number, number>();
  private readonly extract = ExtractJwt.fromAuthHeaderAsBearerToken();
  private readonly verified = new Map<string, { user: AuthenticatedClient; exp: number }>();

  constructor(
    private readonly db: Database,
    secret: string,
  ) {
    this.strategy = new JwtStrategy(
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
        // Remembered only without a not-before (nothing else about it depends on the time).
        const exp = payload.nbf === undefined ? payload.exp : undefined;
        done(null, { clientId, username: String(payload.username ?? '') }, { exp });
      },
    );
    this.passport.use(this.strategy);
  }

  /** Express middleware: sets req.user or passes a 401 HttpError. */
  middleware(): RequestHandler {
    return (req, res, next) => {
      const known = this.remembered(req);
      if (known) return this.settle(req, null, known, undefined, next);
      this.passport.authenticate(
        'jwt',
        { session: false },
        (err: unknown, user: AuthenticatedClient | false, info: unknown) => this.settle(req, err, user, info, next),
      )(req, res, next);
    };
  }

  /**
   * The common case decided at once: a token this server verified before, not expired, of a client whose status
   * was checked within CLIENT_CHECK_TTL_MS. Sets req.user and returns true; false means "call authenticate".
   */
  authenticateKnown(req: IncomingMessage): boolean {
    const user = this.remembered(req);
    if (user === undefined) return false;
    const until = this.checked.get(user.clientId);
    if (until === undefined || until <= Date.now()) return false;
    (req as any).user = user;
    return true;
  }

  /** The same for a bare node:http request: `done()` with req.user set, or `done(err)`. */
  authenticate(req: IncomingMessage, done: Done): void {
    const known = this.remembered(req);
    if (known) return this.settle(req, null, known, undefined, done);
    const s = Object.create(this.strategy) as JwtStrategy & {
      success: StrategyCallback;
      fail: StrategyCallback;
      error: StrategyCallback;
    };
    s.success = (user: AuthenticatedClient, info: unknown) => this.settle(req, null, user, info, done);
    s.fail = (challenge: unknown) =>
      this.settle(req, null, false, typeof challenge === 'number' ? undefined : challenge, done);
    s.error = (err: unknown) => this.settle(req, err, false, undefined, done);
    s.authenticate(req as Request, { session: false });
  }

  /** The client of a token verified before and not yet expired (jsonwebtoken's rule: expired when now >= exp). */
  private remembered(req: IncomingMessage): AuthenticatedClient | undefined {
    // A keep-alive connection usually sends the same header on every request: compared as it came, it needs
    // neither the bearer parsing nor a hash of the token.
    const header = req.headers.authorization;
    const socket = req.socket as IncomingMessage['socket'] & { [LAST_TOKEN]?: RememberedHeader };
    const last = socket[LAST_TOKEN];
    if (last !== undefined && last.header === header && last.owner === this) {
      if (Math.floor(Date.now() / 1000) < last.exp) return last.user;
      socket[LAST_TOKEN] = undefined;
    }
    const token = this.extract(req as Request);
    if (!token) return undefined;
    const v = this.verified.get(token);
    if (!v) return undefined;
    if (Math.floor(Date.now() / 1000) < v.exp) {
      if (header !== undefined) socket[LAST_TOKEN] = { header, user: v.user, exp: v.exp, owner: this };
      return v.user;
    }
    this.verified.delete(token);
    return undefined;
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
      if (token) {
        if (this.verified.size >= VERIFIED_TOKENS) this.verified.delete(this.verified.keys().next().value!);
        this.verified.set(token, { user, exp });
      }
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
