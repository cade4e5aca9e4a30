import { randomBytes } from 'node:crypto';
import { genreVocabulary } from '../../features/genre-profile.js';
import type { Database, Transaction } from '../types.js';
import type { QuotaLimits } from '../../config.js';
import { findUserHistory, saveHistory, saveStatedTastes, writeHistory } from './api-users.js';
import { storeFeedback } from './feedback.js';
import { saveHistoryGroup, storeFeedbackGroup, writeHistoryGroup } from './write-groups.js';

/** Thrown to roll a warm-up transaction back. */
class WarmUpDone extends Error {}

/**
 * Runs the request path's writes and reads once on each connection of the pool (`db.connections`), each in a
 * transaction that is rolled back, for a client made inside it: nothing is kept (no client, user, rating, quota
 * count or notification; only the user ids drawn from their sequence go unused), but each connection has compiled
 * the PL/pgSQL write functions, planned their statements and prepared the server's statements before the first
 * requests, which otherwise pay for it (docs/benchmarks/scale.md, "the first 20 s after a start"). The
 * transactions run together, so that each holds a connection of its own. Resolves with the connections warmed.
 */
export async function warmConnections(db: Database, quota?: QuotaLimits): Promise<number> {
  const movie = await db.query<{ movie_id: number }>('SELECT movie_id FROM movies ORDER BY movie_id LIMIT 1');
  const movieId = movie.rows[0]?.movie_id;
  const runs = Array.from({ length: db.connections }, (_, i) =>
    db
      .transaction(async (tx) => {
        await exerciseWrites(tx, -1 - i, movieId, quota);
        throw new WarmUpDone();
      })
      .then(
        () => false,
        (err) => {
          if (err instanceof WarmUpDone) return true;
          throw err;
        },
      ),
  );
  return (await Promise.all(runs)).filter(Boolean).length;
}

async function exerciseWrites(
  tx: Transaction,
  clientId: number,
  movieId: number | undefined,
  quota?: QuotaLimits,
): Promise<void> {
  // An id of its own below the sequence's, so that no client id is drawn and skipped by every start.
  await tx.query('INSERT INTO clients (id, username, name) VALUES ($1, $2, $3)', [
    clientId,
    `warm-up-${randomBytes(6).toString('hex')}`,
    'rolled back at once',
  ]);
  const items = movieId === undefined ? [] : [{ movieId, rating: 4 }];
  const event = (externalId: string, type: 'rating' | 'dislike') => ({
    externalId,
    movieId: movieId as number,
    type,
    rating: type === 'rating' ? 4 : null,
    occurredAt: new Date().toISOString(),
    recommendationId: null,
  });
  // A user created, then written again as a known one; its history read; a new user with a generated id.
  await saveHistory(tx, clientId, 'a', items, quota);
  await writeHistory(tx, clientId, 'a', items, quota, { known: true });
  await findUserHistory(tx, clientId, 'a');
  await saveHistory(tx, clientId, undefined, items, quota);
  await saveHistoryGroup(
    tx,
    clientId,
    [
      { externalId: 'b', items },
      { externalId: 'c', items },
    ],
    quota,
  );
  await writeHistoryGroup(
    tx,
    clientId,
    [
      { externalId: 'b', items, known: true },
      { externalId: 'c', items, known: false },
    ],
    quota,
    {},
  );
  await saveStatedTastes(
    tx,
    clientId,
    'd',
    genreVocabulary().map(() => 0.5),
    quota,
  );
  if (movieId === undefined) return;
  await storeFeedback(tx, clientId, [event('a', 'rating'), event('e', 'dislike')], 4, quota);
  await storeFeedbackGroup(tx, clientId, [[event('b', 'rating')], [event('f', 'dislike')]], 4, quota);
}
