import { AnswerCache, type Answer, type AnswerKey } from '../../src/server/answer-cache.js';

const base: AnswerKey = {
  clientId: 1,
  userId: 10,
  modelVersion: 'v1',
  variant: '',
  history: '3:123:0',
  catalogue: 1,
  n: 10,
  explain: false,
  filter: '',
};
const answer = (bodyBytes = 100, id = 'r'): Answer => ({
  body: Buffer.alloc(bodyBytes, 'x'),
  recommendationId: id,
  movieIds: [1, 2, 3],
  labels: { algorithm: 'a', version: 'v1' },
});
const roomy = { maxUsers: 100, maxBytes: 1 << 20 };

/** The one cache of known users' answers (src/server/answer-cache.ts): its key and its bounds. */
describe('AnswerCache', () => {
  const changes: [keyof AnswerKey, AnswerKey[keyof AnswerKey]][] = [
    ['clientId', 2],
    ['userId', 11],
    ['modelVersion', 'v2'],
    ['variant', '7/treatment'],
    ['history', '4:456:0'],
    ['catalogue', 2],
    ['n', 5],
    ['explain', true],
    ['filter', '{"genres_none":["Horror"]}'],
  ];

  it.each(changes)('misses when %s changes, and still hits under the unchanged key', (component, value) => {
    const c = new AnswerCache(roomy);
    const kept = answer();
    c.set(base, kept);
    expect(c.get({ ...base, [component]: value })).toBeUndefined();
    expect(c.get({ ...base })).toBe(kept);
  });

  it('replaces the answer under an equal key, and keeps one per key', () => {
    const c = new AnswerCache(roomy);
    c.set(base, answer(10, 'first'));
    c.set({ ...base, n: 5 }, answer(10, 'n5'));
    c.set({ ...base }, answer(10, 'second'));
    expect(c.get(base)?.recommendationId).toBe('second');
    expect(c.get({ ...base, n: 5 })?.recommendationId).toBe('n5');
    expect(c.size).toBe(2);
  });

  it('holds at most maxUsers users, the least recently used out first', () => {
    const c = new AnswerCache({ maxUsers: 3, maxBytes: 1 << 20 });
    const keys = [1, 2, 3, 4].map((userId) => ({ ...base, userId }));
    for (const k of keys.slice(0, 3)) c.set(k, answer());
    expect(c.get(keys[0])).toBeDefined(); // now the most recently used
    c.set(keys[3], answer());
    expect(c.size).toBe(3);
    expect(c.get(keys[1])).toBeUndefined();
    expect([keys[0], keys[2], keys[3]].map((k) => c.get(k) !== undefined)).toEqual([true, true, true]);
  });

  it('holds at most perUser answers of one user, the most recently made', () => {
    const c = new AnswerCache({ maxUsers: 10, perUser: 2, maxBytes: 1 << 20 });
    for (const n of [1, 2, 3]) c.set({ ...base, n }, answer());
    expect(c.size).toBe(2);
    expect([1, 2, 3].map((n) => c.get({ ...base, n }) !== undefined)).toEqual([false, true, true]);
  });

  it('holds at most maxBytes, counting each answer by its body and key', () => {
    const c = new AnswerCache({ maxUsers: 1000, maxBytes: 10_000 });
    for (let userId = 1; userId <= 50; userId++) c.set({ ...base, userId }, answer(1000));
    expect(c.bytes).toBeLessThanOrEqual(10_000);
    expect(c.size).toBeGreaterThanOrEqual(5);
    expect(c.size).toBeLessThan(10);
    expect(c.get({ ...base, userId: 50 })).toBeDefined();
    expect(c.get({ ...base, userId: 1 })).toBeUndefined();
    // An answer larger than the whole bound is not kept.
    c.set({ ...base, userId: 99 }, answer(20_000));
    expect(c.get({ ...base, userId: 99 })).toBeUndefined();
    expect(c.bytes).toBeLessThanOrEqual(10_000);
  });

  it('keeps nothing with maxUsers 0 (--cache-size 0)', () => {
    const c = new AnswerCache({ maxUsers: 0, maxBytes: 1 << 20 });
    c.set(base, answer());
    expect(c.get(base)).toBeUndefined();
    expect(c.size).toBe(0);
  });
});
