import { plainEvent, readFeedbackEvent } from '../../src/server/feedback-events.js';
import { FeedbackEvent } from '../../src/server/schemas.js';

/**
 * The reading of POST /feedback's events (src/server/feedback-events.ts) against the schema it stands in for:
 * FeedbackEvent.safeParse, the plain reference, must accept every event plainEvent accepts, with the same values,
 * and readFeedbackEvent must give the schema's answer — the event, or the first issue as the reason — for every
 * generated event, valid or not.
 */

/** What the route did with one event before the fast path: FeedbackEvent.safeParse and its first issue. */
function reference(raw: unknown) {
  const p = FeedbackEvent.safeParse(raw);
  if (p.success) return { ok: true as const, event: p.data };
  const issue = p.error.issues[0];
  return { ok: false as const, reason: `${issue.path.length ? issue.path.join('.') : 'event'}: ${issue.message}` };
}

const POOLS: Record<string, unknown[]> = {
  user_id: [
    1,
    42,
    Number.MAX_SAFE_INTEGER,
    2 ** 53,
    0,
    -1,
    1.5,
    '42',
    'u-1842',
    'a.b_c:d@e-f',
    'a'.repeat(128),
    'a'.repeat(129),
    '',
    'has space',
    'é',
    '42\n',
    null,
    true,
    [],
    {},
    Infinity,
    NaN,
    undefined,
  ],
  movie_id: [1, 260, 2_147_483_647, 2_147_483_648, 0, -3, 2.5, '260', null, 1e21, -0, undefined],
  type: ['rating', 'view', 'like', 'dislike', 'skip', 'Rating', '', 1, null, undefined],
  rating: [0.5, 1, 4.5, 5, 0, -0, 5.5, 0.25, 4.500000000000001, 3.3, '4', null, 1e-300, NaN, undefined],
  timestamp: [
    0,
    -0,
    1_767_225_600,
    253_402_300_799,
    253_402_300_800,
    -1,
    1.5,
    '2026-01-01T00:00:00Z',
    '2026-01-01T00:00:00+02:00',
    '2026-01-01T00:00:00.123Z',
    '2026-01-01T00:00:00.123456789-05:30',
    '2026-01-01',
    '2026-01-01T00:00:00',
    '2026-13-01T00:00:00Z',
    'garbage',
    null,
    true,
    undefined,
  ],
  recommendation_id: [
    'a.b.c',
    '',
    'x'.repeat(100),
    'x'.repeat(101),
    'é'.repeat(100),
    '😀'.repeat(50),
    '😀'.repeat(51),
    5,
    null,
    undefined,
  ],
  extra: [1, 'x', null],
};

function lcg(seed: number) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** Events with each key present or not and its value from the pools, types and ratings often matched. */
function generated(count: number): unknown[] {
  const rnd = lcg(7);
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)];
  const out: unknown[] = [];
  for (let i = 0; i < count; i++) {
    const e: Record<string, unknown> = {};
    const present: Record<string, number> = {
      user_id: 0.95,
      movie_id: 0.95,
      type: 0.95,
      rating: 0.5,
      timestamp: 0.6,
      recommendation_id: 0.3,
      extra: 0.03,
    };
    for (const [k, p] of Object.entries(present)) if (rnd() < p) e[k] = pick(POOLS[k]);
    // Mostly valid values, so that valid and nearly valid events are common.
    if (rnd() < 0.5) {
      e.user_id = pick([1, 'u-1', '42']);
      e.movie_id = pick([1, 260]);
    }
    if (rnd() < 0.5) {
      if (e.type === 'rating') e.rating = pick([0.5, 3, 4.5]);
      else delete e.rating;
    }
    out.push(e);
  }
  return out;
}

const oddInputs: unknown[] = [
  null,
  undefined,
  5,
  'event',
  [],
  [{ user_id: 1, movie_id: 1, type: 'view' }],
  Object.assign(Object.create(null), { user_id: 1, movie_id: 1, type: 'view' }),
  new Date(0),
  JSON.parse('{"user_id":1,"movie_id":1,"type":"view","__proto__":{"x":1}}'),
  JSON.parse('{"user_id":1,"movie_id":1,"type":"view","constructor":1}'),
  { user_id: 1, movie_id: 1, type: 'view', rating: undefined },
  { user_id: 1, movie_id: 1, type: 'rating' },
  { user_id: 1, movie_id: 1, type: 'like', rating: 4 },
];

describe('POST /feedback event reading', () => {
  const cases = [...generated(20_000), ...oddInputs];

  it('accepts only what FeedbackEvent accepts, with the same values', () => {
    let plain = 0;
    for (const raw of cases) {
      const fast = plainEvent(raw);
      if (fast === undefined) continue;
      plain++;
      const ref = FeedbackEvent.safeParse(raw);
      expect({ raw, success: ref.success }).toEqual({ raw, success: true });
      if (ref.success) {
        expect(fast).toStrictEqual(
          Object.fromEntries(Object.entries(ref.data).filter(([, v]) => v !== undefined)) as typeof fast,
        );
      }
    }
    // The generator reaches the fast path often enough for the comparison to mean something.
    expect(plain).toBeGreaterThan(1_500);
  });

  it('answers as FeedbackEvent does for every event, valid or not', () => {
    let valid = 0;
    let invalid = 0;
    for (const raw of cases) {
      const ref = reference(raw);
      const got = readFeedbackEvent(raw);
      expect({ raw, got }).toEqual({ raw, got: ref });
      if (ref.ok) valid++;
      else invalid++;
    }
    expect(valid).toBeGreaterThan(2_000);
    expect(invalid).toBeGreaterThan(2_000);
  });

  it('takes the fast path for the events platforms send', () => {
    const events = [
      { user_id: 'bench-17', movie_id: 260, type: 'rating', rating: 4.5, timestamp: 1_767_225_600 },
      { user_id: 42, movie_id: 1, type: 'view', timestamp: '2026-01-01T10:00:00Z' },
      { user_id: '42', movie_id: 2, type: 'like' },
      { user_id: 'u-1', movie_id: 3, type: 'dislike', recommendation_id: '2.q1w2e3r4t5y6.a1s2d3f4g5h6' },
      { user_id: 'u-1', movie_id: 4, type: 'skip', timestamp: 0 },
    ];
    for (const e of events) expect(plainEvent(e)).toEqual(e);
  });
});
