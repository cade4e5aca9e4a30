import { RecommendationCache, type KeptAnswer } from '../../src/server/recommendation-cache.js';

const list = (id: number) => [{ movieId: id, score: 1 }];
const answer = (n = 10): KeptAnswer => ({
  n,
  version: 'v1',
  algorithm: 'a',
  generation: 1,
  labels: { algorithm: 'a', version: 'v1' },
  bytes: Buffer.from('x'),
  recommendationId: 'r',
  movieIds: [1],
});

/** The list cache's eviction and the answers it keeps per history (src/server/recommendation-cache.ts). */
describe('RecommendationCache', () => {
  it('evicts the least recently used list first, a list read again staying', () => {
    const c = new RecommendationCache(3);
    for (const k of ['a', 'b', 'c']) c.set(k, list(1));
    expect(c.get('a')).toBeDefined();
    c.set('d', list(4));
    expect(c.size).toBe(3);
    expect(c.get('b')).toBeUndefined();
    expect(c.get('a')).toBeDefined();
  });

  it('gives a kept answer only while its list is cached, and never for another history', () => {
    const c = new RecommendationCache(2);
    const history = {};
    c.set('k', list(1));
    c.keepAnswer(history, 'k', answer());
    expect(c.keptAnswer(history)?.bytes.toString()).toBe('x');
    expect(c.keptAnswer({})).toBeUndefined();
    // Replaced under the same key (a new list): the old answer is not given.
    c.set('k', list(2));
    expect(c.keptAnswer(history)).toBeUndefined();
    c.keepAnswer(history, 'k', answer());
    c.set('l', list(3));
    c.set('m', list(4)); // evicts k
    expect(c.keptAnswer(history)).toBeUndefined();
  });

  it('keeps nothing for a list it does not hold, and at most `capacity` answers', () => {
    const c = new RecommendationCache(2);
    const h1 = {},
      h2 = {},
      h3 = {};
    c.keepAnswer(h1, 'missing', answer());
    expect(c.keptAnswer(h1)).toBeUndefined();
    c.set('k', list(1));
    c.keepAnswer(h1, 'k', answer());
    c.keepAnswer(h2, 'k', answer());
    c.keepAnswer(h3, 'k', answer()); // the third starts the kept answers again
    expect(c.keptAnswer(h3)).toBeDefined();
    expect(c.keptAnswer(h1)).toBeUndefined();
  });

  it('keeps nothing with capacity 0', () => {
    const c = new RecommendationCache(0);
    c.set('k', list(1));
    expect(c.get('k')).toBeUndefined();
  });
});
