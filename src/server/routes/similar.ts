import { Router, type RequestHandler } from 'express';
import type { AppContext } from '../context.js';
import { excludedByFilter, hasFilter, passes, type MovieFilter } from '../filters.js';
import { HttpError, parseInput } from '../http-errors.js';
import { genreSimilarMemo } from '../similar.js';
import { SimilarPath, SimilarQuery } from '../schemas.js';

/**
 * GET /movies/{movie_id}/similar: movies like this one from the served model's item–item weights (EASE's B,
 * item-kNN's neighbours); for a model without them, or a movie the model has no weights for, movies sharing its
 * genres (`basis` says which). The filter applies before the top n is cut.
 */
export function similarRouter(ctx: AppContext, auth: RequestHandler): Router {
  const r = Router();
  r.get('/movies/:movie_id/similar', auth, async (req, res) => {
    const { movie_id: movieId } = parseInput(SimilarPath, { ...req.params }, 'path');
    const q = parseInput(SimilarQuery, { ...(req.query as object) }, 'query');
    const loaded = ctx.models.current;
    if (!loaded) throw new HttpError(503, 'no model is loaded yet: try again shortly');
    const { n, ...rest } = q;
    const filter: MovieFilter | undefined = hasFilter(rest) ? rest : undefined;
    const excluded = filter ? excludedByFilter(ctx.catalogue, filter) : undefined;
    const movie = (await ctx.catalogue.lookup([movieId])).get(movieId);
    if (!movie) throw new HttpError(404, `movie ${movieId} not found`);

    const options = excluded ? { exclude: excluded } : undefined;
    let basis: 'model' | 'genres' = 'model';
    let found = loaded.model.similar?.(movieId, n, options);
    if (found === undefined) {
      basis = 'genres';
      found = genreSimilarMemo(ctx.catalogue, movieId, movie.genres, n, excluded);
    }
    const entries = await ctx.catalogue.lookup(found.map((f) => f.movieId));
    const similar = [];
    for (const f of found) {
      const e = entries.get(f.movieId);
      if (!e || (filter && !passes(f.movieId, e, filter))) continue;
      similar.push({
        movie_id: f.movieId,
        title: e.title,
        genres: e.genres,
        score: Number.isFinite(f.score) ? f.score : 0,
      });
    }
    res.json({ movie_id: movieId, basis, model: { algorithm: loaded.algorithm, version: loaded.version }, similar });
  });
  return r;
}
