import { Router, type RequestHandler } from 'express';
import { verifyPassword } from '../../core/auth/passwords.js';
import { issueToken } from '../../core/auth/tokens.js';
import { findClientForLogin } from '../../core/db/repositories/clients.js';
import type { AppContext } from '../context.js';
import { HttpError, parseInput } from '../http-errors.js';
import { TokenRequest } from '../schemas.js';

/** A hash to verify against when the username is unknown, so both failures take the same time. */
const DUMMY_HASH = '$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzb21lc2FsdA$4t7pW2b6o9tq7s9yAL7pJ7Gm8m6w0o2Bq3n3CkQm6dE';

export function tokenRouter(ctx: AppContext, limiter: RequestHandler): Router {
  const r = Router();
  r.post('/token', limiter, async (req, res) => {
    const body = parseInput(TokenRequest, req.body);
    const client = await findClientForLogin(ctx.db, body.username);
    const ok = await verifyPassword(client?.password_hash ?? DUMMY_HASH, body.password);
    if (!client || !ok || client.disabled) throw new HttpError(401, 'wrong username or password');
    res.json(issueToken(ctx.jwtSecret, client, ctx.tokenTtlSeconds));
  });
  return r;
}
