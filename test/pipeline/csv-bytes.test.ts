import { ByteChunks } from '../../src/core/pipeline/csv-bytes.js';

/** The byte writer of the load must print exactly what String() and toISOString() print. */
describe('ByteChunks', () => {
  const text = (fill: (b: ByteChunks) => void) => {
    const b = new ByteChunks(1024);
    fill(b);
    return b.take().toString('latin1');
  };

  it('writes integers up to 2^53 as String() does', () => {
    for (const n of [0, 7, 9, 10, 99, 100, 101, 2 ** 31 - 1, 2 ** 31, 2 ** 32 + 5, 1e15 + 3, Number.MAX_SAFE_INTEGER]) expect(text((b) => b.uint(n))).toBe(String(n));
  });

  it('writes unix seconds as UTC timestamptz text, leap days and year ends included', () => {
    const iso = (ts: number) => `${new Date(ts * 1000).toISOString().replace('T', ' ').slice(0, 19)}+00`;
    const samples = [0, 788_918_400, 951_782_400, 951_868_799, 951_868_800, 978_307_199, 1_591_012_800, 4_107_542_399, 253_402_300_799];
    // Deterministic spread over 1995–2035, every second of the day reachable.
    for (let i = 0, x = 12345; i < 20_000; i++) {
      x = (Math.imul(x, 1_103_515_245) + 12_345) >>> 0;
      samples.push(788_918_400 + (x % 1_262_304_000));
    }
    for (const ts of samples) expect(text((b) => b.timestamp(ts))).toBe(iso(ts));
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
