import { Router } from 'express';
import { createClient, UsernameTakenError } from '../../core/db/repositories/clients.js';
import { isRecoError } from '../../core/errors.js';
import { requireAdminToken } from '../auth.js';
import type { AppContext } from '../context.js';
import { HttpError, parseInput } from '../http-errors.js';
import { CreateClientRequest } from '../schemas.js';

export function clientsRouter(ctx: AppContext, limiter: import('express').RequestHandler): Router {
  const r = Router();
  r.post('/create-client', limiter, requireAdminToken(ctx.adminToken), async (req, res) => {
    const body = parseInput(CreateClientRequest, req.body);
    try {
      const client = await createClient(ctx.db, body);
      res.status(201).json({ username: client.username, created_at: new Date(client.created_at).toISOString() });
    } catch (err) {
      if (err instanceof UsernameTakenError) throw new HttpError(409, err.message);
      if (isRecoError(err)) throw new HttpError(422, err.message);
      throw err;
    }
  });
  return r;
}
