import { ReplyBatch } from '../../src/server/reply-batch.js';

const nextImmediate = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('ReplyBatch', () => {
  it('holds the replies added in one turn of the loop and sends them, in order, after its I/O phase', async () => {
    const sent: number[] = [];
    const batch = new ReplyBatch<number>((r) => sent.push(r), 16);
    batch.add(1);
    batch.add(2);
    batch.add(3);
    expect(sent).toEqual([]);
    expect(batch.size).toBe(3);
    await nextImmediate();
    expect(sent).toEqual([1, 2, 3]);
    expect(batch.size).toBe(0);
    // A later turn is a new batch, sent on its own.
    batch.add(4);
    await nextImmediate();
    expect(sent).toEqual([1, 2, 3, 4]);
  });

  it('sends at once when it holds `max` replies, and the rest at the end of the turn', async () => {
    const sent: number[] = [];
    const batch = new ReplyBatch<number>((r) => sent.push(r), 3);
    for (let i = 1; i <= 7; i++) batch.add(i);
    expect(sent).toEqual([1, 2, 3, 4, 5, 6]);
    await nextImmediate();
    expect(sent).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('with max 1 sends each reply as it is added', () => {
    const sent: string[] = [];
    const batch = new ReplyBatch<string>((r) => sent.push(r), 1);
    batch.add('a');
    expect(sent).toEqual(['a']);
    expect(batch.size).toBe(0);
  });

  it('sends the other replies when one send throws, then throws the first error', () => {
    const sent: number[] = [];
    const batch = new ReplyBatch<number>((r) => {
      if (r === 2) throw new Error('socket gone');
      sent.push(r);
    }, 8);
    batch.add(1);
    batch.add(2);
    batch.add(3);
    expect(() => batch.flush()).toThrow('socket gone');
    expect(sent).toEqual([1, 3]);
    expect(batch.size).toBe(0);
  });

  it('refuses a size below 1 or not an integer', () => {
    expect(() => new ReplyBatch(() => {}, 0)).toThrow(RangeError);
    expect(() => new ReplyBatch(() => {}, 2.5)).toThrow(RangeError);
  });
});
