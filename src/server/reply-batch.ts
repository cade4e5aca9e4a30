/**
 * Replies held until the event loop has run the callbacks of every request that arrived together, then sent one
 * after another: at most `max` are held, and none past the end of the loop's I/O phase (setImmediate runs right
 * after it).
 *
 * Sent one by one, each reply's `writev` woke the client's sleeping thread, and on this VM the wake-up (an
 * inter-processor interrupt) cost as much kernel time as the rest of the send; sent back to back, the first reply
 * wakes the client and the others find it running. docs/benchmarks/serve.md has the figures. The cost is latency:
 * a held reply waits for the requests read with it, at most `max - 1` of them.
 */
export class ReplyBatch<T> {
  private held: T[] = [];
  private scheduled = false;

  /** `send` sends one held reply; `max` 1 sends every reply at once. */
  constructor(
    private readonly send: (reply: T) => void,
    readonly max = 16,
  ) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`a reply batch holds 1 or more replies, not ${max}`);
  }

  add(reply: T): void {
    if (this.max === 1) return this.send(reply);
    this.held.push(reply);
    if (this.held.length >= this.max) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.onImmediate);
    }
  }

  /** Sends every held reply, in the order they were added; a send that throws does not stop the others. */
  flush(): void {
    const replies = this.held;
    if (replies.length === 0) return;
    this.held = [];
    let failure: unknown;
    for (const reply of replies) {
      try {
        this.send(reply);
      } catch (err) {
        failure ??= err;
      }
    }
    if (failure !== undefined) throw failure;
  }

  /** Replies held now. */
  get size(): number {
    return this.held.length;
  }

  private readonly onImmediate = (): void => {
    this.scheduled = false;
    this.flush();
  };
}
