import { Router, type RequestHandler } from 'express';
import { searchMovies } from '../../core/db/repositories/movies-query.js';
import type { AppContext } from '../context.js';
import { parseInput } from '../http-errors.js';
import { MovieQuery } from '../schemas.js';

export function moviesRouter(ctx: AppContext, auth: RequestHandler): Router {
  const r = Router();
  r.get('/movies', auth, async (req, res) => {
    const q = parseInput(MovieQuery, { ...(req.query as object) }, 'query');
    const { total, movies } = await searchMovies(ctx.db, {
      query: q.query,
      genre: q.genre,
      limit: q.limit,
      offset: q.offset,
    });
    res.json({ total, limit: q.limit, offset: q.offset, movies });
  });
  return r;
}
