import { ByteChunks } from '../../src/core/pipeline/csv-bytes.js';

/** The byte writer of the processed file must print exactly what String() prints. */
describe('ByteChunks', () => {
  const text = (fill: (b: ByteChunks) => void) => {
    const b = new ByteChunks(1024);
    fill(b);
    return b.take().toString('latin1');
  };

  it('writes integers up to 2^53 as String() does', () => {
    for (const n of [0, 7, 9, 10, 99, 100, 101, 2 ** 31 - 1, 2 ** 31, 2 ** 32 + 5, 1e15 + 3, Number.MAX_SAFE_INTEGER])
      expect(text((b) => b.uint(n))).toBe(String(n));
  });

  it('hands out full chunks before a line could overflow them', () => {
    const b = new ByteChunks(256);
    const out: string[] = [];
    for (let i = 0; i < 100; i++) {
      b.uint(i);
      b.byte(0x0a);
      if (b.full) out.push(b.take().toString('latin1'));
    }
    out.push(b.take().toString('latin1'));
    expect(out.join('')).toBe(Array.from({ length: 100 }, (_, i) => `${i}\n`).join(''));
    expect(out.length).toBeGreaterThan(1);
  });
});
