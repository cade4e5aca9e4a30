import { Router, type RequestHandler } from 'express';
import type { AppContext } from '../context.js';
import { excludedByFilter, hasFilter, passes, type MovieFilter } from '../filters.js';
import { HttpError, parseInput } from '../http-errors.js';
import { sendJsonText } from '../json-routes.js';
import { genreSimilarMemo } from '../similar.js';
import { SimilarAnswers } from '../similar-answers.js';
import { SimilarPath, SimilarQuery } from '../schemas.js';

/** What GET /movies/{movie_id}/similar reads from a request: its path parameters and its parsed query string. */
export interface SimilarInput {
  path: Record<string, unknown>;
  query: Record<string, unknown>;
}

/**
 * GET /movies/{movie_id}/similar: movies like this one from the served model's item–item weights (EASE's B,
 * item-kNN's neighbours); for a model without them, or a movie the model has no weights for, movies sharing its
 * genres (`basis` says which). The filter applies before the top n is cut. Returns the answer's JSON text: at once
 * when an equal request was answered before under the same model and catalogue (similar-answers.ts), else as a
 * promise. Its Express route and the fast path (fast-path.ts) both call it.
 */
export function similarRoute(ctx: AppContext, input: SimilarInput): string | Promise<string> {
  const { movie_id: movieId } = parseInput(SimilarPath, { ...input.path }, 'path');
  const q = parseInput(SimilarQuery, { ...input.query }, 'query');
  const loaded = ctx.models.current;
  if (!loaded) throw new HttpError(503, 'no model is loaded yet: try again shortly');
  // The genre fallback ranks the catalogue itself, so a movie a lookup added (catalogue.added) changes answers too.
  const catalogue = `${ctx.catalogue.answersGeneration}.${ctx.catalogue.added.length}`;
  const key = SimilarAnswers.key(loaded.version, catalogue, movieId, q);
  const kept = ctx.similarAnswers.get(key);
  if (kept !== undefined) {
    ctx.metrics.counted.similarCacheHits.slot('', () => ({})).n++;
    return kept;
  }
  return (async () => {
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
    const json = JSON.stringify({
      movie_id: movieId,
      basis,
      model: { algorithm: loaded.algorithm, version: loaded.version },
      similar,
    });
    // Kept under the key it was asked with: a lookup above that added a movie moved the catalogue's state on, and
    // the next request asks under the new one.
    ctx.similarAnswers.set(key, json);
    return json;
  })();
}

export function similarRouter(ctx: AppContext, auth: RequestHandler): Router {
  const r = Router();
  r.get('/movies/:movie_id/similar', auth, async (req, res) => {
    sendJsonText(res, await similarRoute(ctx, { path: req.params, query: req.query as Record<string, unknown> }));
  });
  return r;
}
