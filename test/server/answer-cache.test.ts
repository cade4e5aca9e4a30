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
const roomy = { maxEntries: 100, maxBytes: 1 << 20 };

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
    c.set(AnswerCache.key(base), kept);
    expect(c.get(AnswerCache.key({ ...base, [component]: value }))).toBeUndefined();
    expect(c.get(AnswerCache.key(base))).toBe(kept);
  });

  it('tells apart keys whose components differ only in where one ends', () => {
    const a = AnswerCache.key({ ...base, modelVersion: 'v1', variant: '2/x' });
    const b = AnswerCache.key({ ...base, modelVersion: 'v12/x', variant: '' });
    expect(a).not.toBe(b);
    // A filter is JSON: control characters in it are escaped, so it cannot forge a separator.
    expect(AnswerCache.key({ ...base, filter: JSON.stringify({ g: '\u0001' }) }).split('\u0001')).toHaveLength(9);
  });

  it('holds at most maxEntries answers, the least recently used out first', () => {
    const c = new AnswerCache({ maxEntries: 3, maxBytes: 1 << 20 });
    const keys = [1, 2, 3, 4].map((n) => AnswerCache.key({ ...base, n }));
    for (const k of keys.slice(0, 3)) c.set(k, answer());
    expect(c.get(keys[0])).toBeDefined(); // now the most recently used
    c.set(keys[3], answer());
    expect(c.size).toBe(3);
    expect(c.get(keys[1])).toBeUndefined();
    expect([keys[0], keys[2], keys[3]].map((k) => c.get(k) !== undefined)).toEqual([true, true, true]);
  });

  it('holds at most maxBytes, counting each answer by its body and key', () => {
    const c = new AnswerCache({ maxEntries: 1000, maxBytes: 10_000 });
    for (let n = 1; n <= 50; n++) c.set(AnswerCache.key({ ...base, n }), answer(1000));
    expect(c.bytes).toBeLessThanOrEqual(10_000);
    expect(c.size).toBeGreaterThanOrEqual(5);
    expect(c.size).toBeLessThan(10);
    expect(c.get(AnswerCache.key({ ...base, n: 50 }))).toBeDefined();
    expect(c.get(AnswerCache.key({ ...base, n: 1 }))).toBeUndefined();
    // An answer larger than the whole bound is not kept.
    c.set(AnswerCache.key({ ...base, n: 99 }), answer(20_000));
    expect(c.get(AnswerCache.key({ ...base, n: 99 }))).toBeUndefined();
    expect(c.bytes).toBeLessThanOrEqual(10_000);
  });

  it('keeps nothing with maxEntries 0 (--cache-size 0)', () => {
    const c = new AnswerCache({ maxEntries: 0, maxBytes: 1 << 20 });
    c.set(AnswerCache.key(base), answer());
    expect(c.get(AnswerCache.key(base))).toBeUndefined();
    expect(c.size).toBe(0);
  });
});
