/**
 * Read-only sets for the models' `exclude` option (which only asks `has`) that are views, not copies: a memoised
 * set shared between requests stays untouched, and a request's few extra ids are added without copying it.
 */
export abstract class SetView<T> implements ReadonlySet<T> {
  abstract has(value: T): boolean;
  abstract get size(): number;
  abstract values(): SetIterator<T>;

  keys(): SetIterator<T> {
    return this.values();
  }

  *entries(): SetIterator<[T, T]> {
    for (const v of this.values()) yield [v, v];
  }

  [Symbol.iterator](): SetIterator<T> {
    return this.values();
  }

  forEach(callback: (value: T, key: T, set: ReadonlySet<T>) => void, thisArg?: unknown): void {
    for (const v of this.values()) callback.call(thisArg, v, v, this);
  }
}

/** Two sets read as one. */
export class SetUnion<T> extends SetView<T> {
  constructor(
    private readonly a: ReadonlySet<T>,
    private readonly b: ReadonlySet<T>,
  ) {
    super();
  }

  has(value: T): boolean {
    return this.a.has(value) || this.b.has(value);
  }

  get size(): number {
    let extra = 0;
    for (const v of this.b) if (!this.a.has(v)) extra++;
    return this.a.size + extra;
  }

  *values(): SetIterator<T> {
    yield* this.a;
    for (const v of this.b) if (!this.a.has(v)) yield v;
  }
}
