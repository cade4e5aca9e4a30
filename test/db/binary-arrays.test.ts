import { float4ArrayOf, int4ArrayOf } from '../../src/core/db/binary-arrays.js';
import { describeEachEngine } from '../helpers/engines.js';

/**
 * The binary array readers (src/core/db/binary-arrays.ts) against the plain reference they replace: the same
 * arrays in PostgreSQL's text form, parsed by the driver. Both must give the same values for every array, the
 * empty one and a NULL (no rows) included; what they cannot read exactly is refused.
 */
function lcg(seed: number) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

describeEachEngine('binary arrays', (t) => {
  const rnd = lcg(7);
  const ints = [
    [],
    [0],
    [1, -1, 2147483647, -2147483648],
    Array.from({ length: 500 }, () => Math.floor(rnd() * 2 ** 32) - 2 ** 31),
  ];
  const reals = [
    [],
    [0.5, 5, 3.5],
    [-0, 1e-38, 3.4e38, -1.5e-7, 0.1, 1 / 3],
    Array.from({ length: 500 }, () => (rnd() - 0.5) * 10 ** Math.floor(rnd() * 20 - 10)),
  ];

  it.each(ints.map((a, i) => [i, a] as const))('reads int4 arrays as the text form does (%i)', async (_i, a) => {
    const r = await t.db.query<{ text: number[]; bin: Buffer }>(
      'SELECT $1::int[] AS text, array_send($1::int[]) AS bin',
      [a],
    );
    const row = r.rows[0];
    expect(Array.from(int4ArrayOf(row.bin))).toEqual(Array.from(Int32Array.from(row.text)));
  });

  it.each(reals.map((a, i) => [i, a] as const))('reads float4 arrays as the text form does (%i)', async (_i, a) => {
    const r = await t.db.query<{ text: number[]; bin: Buffer }>(
      'SELECT $1::real[] AS text, array_send($1::real[]) AS bin',
      [a],
    );
    const row = r.rows[0];
    expect(Array.from(float4ArrayOf(row.bin))).toEqual(Array.from(Float32Array.from(row.text)));
  });

  it('reads NULL (an aggregate over no rows) as an empty array', async () => {
    const r = await t.db.query<{ i: Buffer | null; f: Buffer | null }>(
      'SELECT array_send(array_agg(x)) AS i, array_send(array_agg(x::real)) AS f FROM unnest(ARRAY[]::int[]) AS x',
    );
    expect(r.rows[0].i).toBeNull();
    expect(int4ArrayOf(r.rows[0].i)).toEqual(new Int32Array(0));
    expect(float4ArrayOf(r.rows[0].f)).toEqual(new Float32Array(0));
  });

  it('refuses what it cannot read exactly: NULL elements, two dimensions, another element type', async () => {
    const r = await t.db.query<{ nulls: Buffer; two: Buffer; big: Buffer; dbl: Buffer }>(
      `SELECT array_send(ARRAY[1, NULL]::int[]) AS nulls, array_send(ARRAY[[1, 2], [3, 4]]::int[]) AS two,
              array_send(ARRAY[1]::bigint[]) AS big, array_send(ARRAY[1.5]::float8[]) AS dbl`,
    );
    const row = r.rows[0];
    expect(() => int4ArrayOf(row.nulls)).toThrow(/NULL/);
    expect(() => int4ArrayOf(row.two)).toThrow(/one dimension/);
    expect(() => int4ArrayOf(row.big)).toThrow(/element type/);
    expect(() => float4ArrayOf(row.dbl)).toThrow(/element type/);
    expect(() => float4ArrayOf(row.big)).toThrow(/element type/);
  });
});
