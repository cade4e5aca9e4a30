import { createSecretKey, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import { Passport } from 'passport';
import { ExtractJwt, Strategy as JwtStrategy } from 'passport-jwt';
import { JWT_ALGORITHM } from '../core/auth/tokens.js';
import { clientIsActive } from '../core/db/repositories/api-users.js';
import type { Database } from '../core/db/types.js';
import { HttpError } from './http-errors.js';

export interface AuthenticatedClient {
  clientId: number;
  username: string;
}

/** The client of an authenticated request (set by `requireToken`). */
export function clientOf(req: Request): AuthenticatedClient {
  const c = (req as Request & { user?: AuthenticatedClient }).user;
  if (!c) throw new HttpError(401, 'missing bearer token');
  return c;
}

/** How long a client's "not disabled" status is trusted before it is checked again. */
const CLIENT_CHECK_TTL_MS = 10_000;

/**
 * Bearer-JWT authentication with passport-jwt (HS256 only: "alg: none" and RS/HS confusion are refused).
 * A client disabled after its token was issued is refused within CLIENT_CHECK_TTL_MS.
 */
export function requireToken(db: Database, secret: string): RequestHandler {
  const passport = new Passport();
  passport.use(
    new JwtStrategy(
      {
        jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
        // A KeyObject, not the string: jsonwebtoken 9 otherwise tries createPublicKey on every verify (a third of
        // the CPU of a recommendation request, measured with --cpu-prof).
        secretOrKey: createSecretKey(Buffer.from(secret, 'utf8')) as unknown as string,
        algorithms: [JWT_ALGORITHM],
      },
      (payload: { sub?: string; username?: string }, done: (err: unknown, user?: AuthenticatedClient | false) => void) => {
        const clientId = Number(payload.sub);
        if (!Number.isSafeInteger(clientId) || clientId <= 0) return done(null, false);
        done(null, { clientId, username: String(payload.username ?? '') });
      },
    ),
  );
  const checked = new Map<number, number>();
  return (req, res, next) => {
    passport.authenticate('jwt', { session: false }, (err: unknown, user: AuthenticatedClient | false, info: { name?: string; message?: string } | undefined) => {
      if (err) return next(err);
      if (!user) {
        const message = !req.headers.authorization
          ? 'missing bearer token: send Authorization: Bearer <token> (get one from POST /token)'
          : info?.name === 'TokenExpiredError'
            ? 'the token has expired: get a new one from POST /token'
            : 'invalid bearer token';
        return next(new HttpError(401, message));
      }
      const until = checked.get(user.clientId);
      if (until !== undefined && until > Date.now()) {
        (req as any).user = user;
        return next();
      }
      clientIsActive(db, user.clientId).then(
        (active) => {
          if (!active) return next(new HttpError(401, 'this client is disabled or no longer exists'));
          checked.set(user.clientId, Date.now() + CLIENT_CHECK_TTL_MS);
          (req as any).user = user;
          next();
        },
        (e) => next(e),
      );
    })(req, res, next);
  };
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
