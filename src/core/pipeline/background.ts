/**
 * Work that runs beside the caller (the parse beside the load transaction, the processed file beside the COPY):
 * started now, awaited where its result is needed, and always settled before `withBackground` returns — on
 * success and on failure — so nothing of a batch runs on after it. The one place the ingest's overlap lives.
 */
export class Background {
  private readonly tasks: Promise<unknown>[] = [];

  /** Starts `fn` now; its failure surfaces where the returned promise is awaited. */
  start<T>(fn: () => Promise<T>): Promise<T> {
    const task = fn();
    task.catch(() => {});
    this.tasks.push(task);
    return task;
  }

  /**
   * Runs `fn` over `items` one after the other (each starts when the one before succeeded; after a failure the
   * rest fail with it without starting). Returns each item's promise, in order.
   */
  inOrder<I, O>(items: readonly I[], fn: (item: I) => Promise<O>): Promise<O>[] {
    let previous: Promise<unknown> = Promise.resolve();
    return items.map((item) => {
      const before = previous;
      const task = this.start(() => before.then(() => fn(item)));
      previous = task;
      return task;
    });
  }

  async settled(): Promise<void> {
    // A task may start others while the first ones settle.
    for (let seen = 0; seen < this.tasks.length;) {
      const batch = this.tasks.slice(seen);
      seen = this.tasks.length;
      await Promise.allSettled(batch);
    }
  }
}

/** Runs `fn` with a Background whose tasks are all settled before this returns or throws. */
export async function withBackground<T>(fn: (bg: Background) => Promise<T>): Promise<T> {
  const bg = new Background();
  try {
    return await fn(bg);
  } finally {
    await bg.settled();
  }
}
