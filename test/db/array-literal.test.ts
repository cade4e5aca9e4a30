import { arrayLiteral } from '../../src/core/db/array-literal.js';
import { describeEachEngine } from '../helpers/engines.js';

/**
 * arrayLiteral (src/core/db/array-literal.ts) against the driver's own serialisation of a JS array parameter, the
 * plain reference it replaces in storeFeedback: PostgreSQL must read the same array from both, for every kind of
 * element the feedback batches carry and for strings that need quoting or escaping.
 */
function lcg(seed: number) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

const ALPHABET = [
  'a',
  'Z',
  '0',
  '-',
  '.',
  ':',
  '@',
  '_',
  ' ',
  ',',
  '{',
  '}',
  '"',
  '\\',
  "'",
  '\t',
  '\n',
  'é',
  '😀',
  'N',
];

function randomStrings(count: number): string[] {
  const rnd = lcg(11);
  return Array.from({ length: count }, () => {
    const n = Math.floor(rnd() * 12);
    let s = '';
    for (let i = 0; i < n; i++) s += ALPHABET[Math.floor(rnd() * ALPHABET.length)];
    return s;
  });
}

describeEachEngine('arrayLiteral', (t) => {
  const same = async (type: string, values: (string | number | null)[]) => {
    const r = await t.db.query<{ same: boolean; a: string | null; b: string | null }>(
      `SELECT $1::${type}[] IS NOT DISTINCT FROM $2::${type}[] AS same, $1::${type}[]::text AS a, $2::${type}[]::text AS b`,
      [arrayLiteral(values), values],
    );
    expect({ values, a: r.rows[0].a }).toEqual({ values, a: r.rows[0].b });
    expect(r.rows[0].same).toBe(true);
  };

  it('gives the driver’s text arrays, quoting and escaping where needed', async () => {
    await same('text', []);
    await same('text', ['bench-1', 'u-1842', '42', 'a.b_c:d@e-f']);
    await same('text', ['', 'NULL', 'null', ' padded ', 'a,b', '{x}', 'say "hi"', 'back\\slash', '\\"', 'tab\there']);
    await same('text', ['line\nbreak', 'é', '😀', "it's", null, 'x', null]);
    await same('text', ['rating', 'view', 'like', 'dislike', 'skip']);
    const strings = randomStrings(2_000);
    for (let i = 0; i < strings.length; i += 100) await same('text', strings.slice(i, i + 100));
  });

  it('gives the driver’s numeric and time arrays', async () => {
    await same('int', [1, 260, 2_147_483_647, 0, -5]);
    await same('real', [0.5, 1, 4.5, 5, null, 3]);
    await same('timestamptz', [
      '2026-01-01T00:00:00.000Z',
      '2026-01-01T00:00:00Z',
      '2026-01-01T10:00:00+02:00',
      '2026-01-01T10:00:00.123456-05:30',
      '1970-01-01T00:00:00.000Z',
      '9999-12-31T23:59:59.000Z',
    ]);
  });

  it('writes the literal PostgreSQL documents', () => {
    expect(arrayLiteral([])).toBe('{}');
    expect(arrayLiteral(['a b', null, 1, 4.5])).toBe('{"a b",NULL,1,4.5}');
    expect(arrayLiteral(['say "hi"', 'back\\slash'])).toBe('{"say \\"hi\\"","back\\\\slash"}');
  });
});
