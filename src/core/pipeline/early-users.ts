import { lockRatedMovies } from '../db/repositories/ratings.js';
import { createFileUsers, type FileUsers } from '../db/repositories/users.js';
import type { Queryable } from '../db/types.js';
import { GenreProfiles, MovieGenreSlots } from '../features/genre-profile.js';
import type { RatingColumns } from './rating-columns.js';
import { fileProfiles, type FileUserIndex } from './rating-load.js';

interface UserRows {
  /** First and last row (the rows between are its own while the state is 'open'). */
  first: number;
  last: number;
  state: 'open' | 'held' | 'created';
}

/**
 * The users step of a ratings file, started while the file is still being parsed (PostgreSQL is idle then).
 *
 * A file lists a user's ratings together, as MovieLens files do: a user whose rows are followed by another
 * user's is complete ("closed") unless it turns up again. After each chunk the reader has parsed, the closed
 * users are created with their vectors — exact for users whose only ratings these are — in the load
 * transaction, together with the lock on the movies first seen in that chunk (whose genres the vectors need).
 * After the parse, the rest (the last user, users with a duplicate pair, users that existed) takes the usual
 * way. Should a created user turn up again later in the file (its vector and count would be wrong), all of it
 * is rolled back to a savepoint and the whole file takes the usual way: the result is the same either way.
 */
export class EarlyUsers {
  /** External user id → row range and state. */
  private readonly users = new Map<number, UserRows>();
  private current = NaN;
  private currentRows?: UserRows;
  /** hasDuplicate's marks: the movie's last check number. */
  private stamp = new Int32Array(0);
  private checks = 0;
  private lockedMovie = new Uint8Array(0);
  /** The genre slots of each locked movie. */
  private readonly slots = new MovieGenreSlots();
  private readonly created = new Map<number, { id: number; created: boolean }>();
  /** A created user turned up again: roll back and do it all the usual way. */
  private spoiled = false;
  private started = false;
  /** Closed users not sent yet: a step runs whenever the one before is done, taking all that closed meanwhile. */
  private pending = emptyBatch();
  private busy = false;
  private finishing = false;
  private work: Promise<unknown> = Promise.resolve();
  private failure: unknown;
  private tx?: Queryable;
  private readonly ready: Promise<Queryable | undefined>;
  private open!: (tx: Queryable | undefined) => void;

  constructor(private readonly clientId: number) {
    this.ready = new Promise((resolve) => (this.open = resolve));
  }

  /** The transaction, once it may take users (after its ledger check); undefined: never (the file is not loaded). */
  attach(tx: Queryable | undefined): void {
    this.tx = tx;
    this.open(tx);
  }

  /** Rows [from, rows.length) were appended by the reader (source order; the rows before are unchanged). */
  onRows(rows: RatingColumns, from: number): void {
    if (this.spoiled) return;
    const closing: number[] = [];
    const user = rows.user;
    for (let i = from; i < rows.length; i++) {
      const u = user[i];
      if (u === this.current) continue;
      // The user before ends at the row before.
      const before = this.currentRows;
      if (before) {
        before.last = i - 1;
        if (before.state === 'open') closing.push(this.current);
      }
      this.current = u;
      const seen = this.users.get(u);
      this.currentRows = seen;
      if (!seen) {
        this.currentRows = { first: i, last: i, state: 'open' };
        this.users.set(u, this.currentRows);
        continue;
      }
      // The user turns up again: its rows are not together. Fine until it is created; then start over.
      if (seen.state === 'created') {
        this.spoiled = true;
        return;
      }
      seen.state = 'held';
    }
    if (this.currentRows) this.currentRows.last = rows.length - 1;
    const closed = closing.filter((u) => this.users.get(u)!.state === 'open' && !this.hasDuplicate(rows, this.users.get(u)!));
    if (closed.length === 0) return;
    for (const u of closed) this.users.get(u)!.state = 'created';
    // Snapshot of what the statements need (rows are appended to, and may be compacted later).
    const { users, slices, movies } = this.pending;
    for (const u of closed) {
      const r = this.users.get(u)!;
      const movie = rows.movie.slice(r.first, r.last + 1);
      users.push(u);
      slices.push({ movie, half: rows.halfSteps.slice(r.first, r.last + 1) });
      for (let j = 0; j < movie.length; j++) {
        const m = movie[j];
        if (m >= this.lockedMovie.length) this.growLocked(m);
        if (!this.lockedMovie[m]) {
          this.lockedMovie[m] = 1;
          movies.push(m);
        }
      }
    }
    this.kick();
  }

  /** Sends the pending users, unless a step is still running (it kicks again when done). */
  private kick(): void {
    if (this.busy || this.finishing || this.pending.users.length === 0 || this.spoiled || this.failure) return;
    const { users, slices, movies } = this.pending;
    this.pending = emptyBatch();
    this.busy = true;
    this.enqueue(async (tx) => {
      if (movies.length > 0) this.slots.add(await lockRatedMovies(tx, movies));
      const profiles = new GenreProfiles(this.slots, slices.length);
      slices.forEach((r, k) => {
        for (let i = 0; i < r.movie.length; i++) profiles.add(k, r.movie[i], r.half[i] / 2);
      });
      const vectors = slices.map((_, k) => profiles.text(k));
      const counts = slices.map((_, k) => profiles.count(k));
      const made = await createFileUsers(tx, this.clientId, users, vectors, counts);
      users.forEach((u, k) => this.created.set(u, { id: made.ids[k], created: made.created[k] === 1 }));
    });
    this.work = this.work.then(() => {
      this.busy = false;
      this.kick();
    });
  }

  /**
   * After the parse (and the file's deduplication): the file's users as one createFileUsers would give them,
   * creating the rest. Undefined when nothing was started early (the caller takes the usual way).
   */
  async finish(tx: Queryable, rows: RatingColumns, index: FileUserIndex): Promise<FileUsers | undefined> {
    this.finishing = true;
    await this.work;
    // Users still pending join the rest below (their movies are not locked yet).
    for (const m of this.pending.movies) this.lockedMovie[m] = 0;
    this.pending = emptyBatch();
    if (this.failure) throw this.failure;
    if (!this.started) return undefined;
    if (this.spoiled) {
      await tx.exec('ROLLBACK TO SAVEPOINT ingest_early_users');
      return undefined;
    }
    const n = index.users.length;
    const ids = new Float64Array(n);
    const created = new Uint8Array(n);
    const rest = new Uint8Array(n);
    let restCount = 0;
    let createdCount = 0;
    for (let k = 0; k < n; k++) {
      const c = this.created.get(index.users[k]);
      if (c) {
        ids[k] = c.id;
        created[k] = c.created ? 1 : 0;
        createdCount += created[k];
      } else {
        rest[k] = 1;
        restCount++;
      }
    }
    if (restCount > 0) {
      // The movies of the remaining users not locked yet, then those users, as the usual step does them.
      const movies: number[] = [];
      for (let i = 0; i < rows.length; i++) {
        const m = rows.movie[i];
        if (!rest[index.rowUser[i]]) continue;
        if (m >= this.lockedMovie.length) this.growLocked(m);
        if (!this.lockedMovie[m]) {
          this.lockedMovie[m] = 1;
          movies.push(m);
        }
      }
      if (movies.length > 0) this.slots.add(await lockRatedMovies(tx, movies));
      const { vectors, counts } = fileProfiles(rows, index, this.slots, rest);
      const restUsers: number[] = [];
      const restVectors: string[] = [];
      const restCounts: number[] = [];
      const at: number[] = [];
      for (let k = 0; k < n; k++) {
        if (!rest[k]) continue;
        restUsers.push(index.users[k]);
        restVectors.push(vectors[k]);
        restCounts.push(counts[k]);
        at.push(k);
      }
      const made = await createFileUsers(tx, this.clientId, restUsers, restVectors, restCounts);
      at.forEach((k, j) => {
        ids[k] = made.ids[j];
        created[k] = made.created[j];
      });
      createdCount += made.createdCount;
    }
    return { ids, created, createdCount };
  }

  /** Waits for the statements started early (on every path, so none runs on after the load). */
  async settle(): Promise<void> {
    await this.work.catch(() => {});
  }

  private enqueue(step: (tx: Queryable) => Promise<void>): void {
    this.work = this.work.then(async () => {
      if (this.failure || this.spoiled) return;
      const tx = await this.ready;
      if (!tx) return;
      try {
        if (!this.started) {
          await tx.exec('SAVEPOINT ingest_early_users');
          this.started = true;
        }
        await step(tx);
      } catch (err) {
        this.failure = err;
      }
    });
  }

  /** A pair listed twice among the user's rows: left to the file's deduplication and the usual way. */
  private hasDuplicate(rows: RatingColumns, r: UserRows): boolean {
    const check = ++this.checks;
    for (let i = r.first; i <= r.last; i++) {
      const m = rows.movie[i];
      if (m >= this.stamp.length) {
        const bigger = new Int32Array(Math.max(m + 1, this.stamp.length * 2));
        bigger.set(this.stamp);
        this.stamp = bigger;
      }
      if (this.stamp[m] === check) return true;
      this.stamp[m] = check;
    }
    return false;
  }

  private growLocked(m: number): void {
    const bigger = new Uint8Array(Math.max(m + 1, this.lockedMovie.length * 2));
    bigger.set(this.lockedMovie);
    this.lockedMovie = bigger;
  }
}

function emptyBatch(): { users: number[]; slices: { movie: Int32Array; half: Uint8Array }[]; movies: number[] } {
  return { users: [], slices: [], movies: [] };
}
