import { lockRatedMovies } from '../db/repositories/ratings.js';
import { createFileUsers, type FileUsers } from '../db/repositories/users.js';
import type { Queryable, Transaction } from '../db/types.js';
import { GenreProfiles, MovieGenreSlots } from '../features/genre-profile.js';
import type { RatingColumns } from './rating-columns.js';
import { fileProfiles, type FileUserIndex } from './rating-load.js';

/** A user's rows in the file so far: together (`open`), listed again after another user's (`scattered`), or sent. */
interface UserRun {
  first: number;
  last: number;
  state: 'open' | 'scattered' | 'sent';
}

/** The users closed since the last step, with what their statements need (copied: the columns grow). */
interface ClosedUsers {
  users: number[];
  rows: { movie: Int32Array; half: Uint8Array }[];
  /** Their movies not locked yet. */
  movies: number[];
}

/** A created user turned up again in the file: its vector and count would be wrong. */
class Spoiled extends Error {}

/**
 * The users step of a ratings file, started while the file is still being parsed (PostgreSQL is idle then).
 *
 * A file lists a user's ratings together, as MovieLens files do: a user whose rows are followed by another
 * user's is complete ("closed") unless it turns up again. `onRows` (from the parse) collects the closed users;
 * `run` (in the load transaction, under an attempt) creates them with their vectors — exact for users whose only
 * ratings these are — each step taking all that closed during the one before, together with the lock on their
 * movies (whose genres the vectors need). `finish`, after the parse, creates the rest (the last user, users with
 * a duplicate pair, users that existed) as the usual step does. Should a created user turn up again later in the
 * file, `run` throws, the attempt takes all of it back, and the whole file takes the usual step: the result is
 * the same either way.
 */
export class EarlyUsers {
  /** External user id → its rows so far. */
  private readonly runs = new Map<number, UserRun>();
  private current?: UserRun;
  private currentUser = NaN;
  /** hasDuplicate's marks: the movie's last check number. */
  private stamp = new Int32Array(0);
  private checks = 0;
  private lockedMovie = new Uint8Array(0);
  private readonly slots = new MovieGenreSlots();
  private pending: ClosedUsers = { users: [], rows: [], movies: [] };
  /** Set by the parse: no more rows (and why not, when it failed). */
  private ended?: { failure?: unknown };
  private spoiled = false;
  private wake?: () => void;

  constructor(private readonly clientId: number) {}

  /** From the parse: rows [from, rows.length) were appended (source order; the rows before are unchanged). */
  onRows(rows: RatingColumns, from: number): void {
    if (this.spoiled) return;
    const closing: number[] = [];
    const user = rows.user;
    for (let i = from; i < rows.length; i++) {
      const u = user[i];
      if (u === this.currentUser) continue;
      // The user before ends at the row before.
      if (this.current) {
        this.current.last = i - 1;
        if (this.current.state === 'open') closing.push(this.currentUser);
      }
      this.currentUser = u;
      const seen = this.runs.get(u);
      if (!seen) {
        this.current = { first: i, last: i, state: 'open' };
        this.runs.set(u, this.current);
        continue;
      }
      this.current = seen;
      // The user turns up again: its rows are not together. Fine until it is created; then start over.
      if (seen.state === 'sent') {
        this.spoiled = true;
        this.signal();
        return;
      }
      seen.state = 'scattered';
    }
    if (this.current) this.current.last = rows.length - 1;
    for (const u of closing) {
      const run = this.runs.get(u)!;
      if (run.state !== 'open' || this.hasDuplicate(rows, run)) continue;
      run.state = 'sent';
      this.collect(rows, u, run);
    }
    if (this.pending.users.length > 0) this.signal();
  }

  /** The file is not loaded (another process did): keep nothing more. */
  drop(): void {
    this.spoiled = true;
    this.pending = { users: [], rows: [], movies: [] };
  }

  /** From the parse: it is over (`failure`: it failed). */
  end(failure?: unknown): void {
    this.ended = { failure };
    this.signal();
  }

  /**
   * In the load transaction, from its ledger check until the parse ends: creates the closed users as they come.
   * Returns the users created or found, by external id; undefined when a created user turned up again (all of
   * it taken back) or the parse failed.
   */
  async run(tx: Transaction): Promise<Map<number, { id: number; created: boolean }> | undefined> {
    const made = new Map<number, { id: number; created: boolean }>();
    const attempt = await tx.attempt(
      async (sp) => {
        for (;;) {
          if (this.spoiled) throw new Spoiled();
          if (this.pending.users.length > 0) await this.createClosed(sp, made);
          else if (this.ended) return;
          else await new Promise<void>((resolve) => (this.wake = resolve));
        }
      },
      { rollbackOn: (err) => err instanceof Spoiled },
    );
    if (!attempt.ok || this.ended?.failure !== undefined) return undefined;
    return made;
  }

  /**
   * After the parse (and the file's deduplication) and `run`: the file's users as one createFileUsers would give
   * them, the users `run` did not create created here (all of them when `early` is undefined).
   */
  async finish(
    tx: Queryable,
    rows: RatingColumns,
    index: FileUserIndex,
    early: Map<number, { id: number; created: boolean }> | undefined,
  ): Promise<FileUsers> {
    const n = index.users.length;
    const ids = new Float64Array(n);
    const created = new Uint8Array(n);
    const rest = new Uint8Array(n);
    let createdCount = 0;
    const restUsers: number[] = [];
    const at: number[] = [];
    for (let k = 0; k < n; k++) {
      const c = early?.get(index.users[k]);
      if (c) {
        ids[k] = c.id;
        created[k] = c.created ? 1 : 0;
        createdCount += created[k];
      } else {
        rest[k] = 1;
        restUsers.push(index.users[k]);
        at.push(k);
      }
    }
    if (restUsers.length === 0) return { ids, created, createdCount };
    // The movies of the remaining users not locked yet, then those users, as the usual step does them.
    if (!early) this.lockedMovie = new Uint8Array(0);
    const movies: number[] = [];
    for (let i = 0; i < rows.length; i++) if (rest[index.rowUser[i]]) this.lockOnce(rows.movie[i], movies);
    if (movies.length > 0) this.slots.add(await lockRatedMovies(tx, movies));
    const { vectors, counts } = fileProfiles(rows, index, this.slots, rest);
    const made = await createFileUsers(
      tx,
      this.clientId,
      restUsers,
      at.map((k) => vectors[k]),
      at.map((k) => counts[k]),
    );
    at.forEach((k, j) => {
      ids[k] = made.ids[j];
      created[k] = made.created[j];
    });
    return { ids, created, createdCount: createdCount + made.createdCount };
  }

  private signal(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** One step: the users closed since the step before, with the lock on their movies not locked yet. */
  private async createClosed(tx: Queryable, made: Map<number, { id: number; created: boolean }>): Promise<void> {
    const { users, rows, movies } = this.pending;
    this.pending = { users: [], rows: [], movies: [] };
    if (movies.length > 0) this.slots.add(await lockRatedMovies(tx, movies));
    const profiles = new GenreProfiles(this.slots, users.length);
    rows.forEach((r, k) => {
      for (let i = 0; i < r.movie.length; i++) profiles.add(k, r.movie[i], r.half[i] / 2);
    });
    const result = await createFileUsers(
      tx,
      this.clientId,
      users,
      users.map((_, k) => profiles.text(k)),
      users.map((_, k) => profiles.count(k)),
    );
    users.forEach((u, k) => made.set(u, { id: result.ids[k], created: result.created[k] === 1 }));
  }

  private collect(rows: RatingColumns, user: number, run: UserRun): void {
    const movie = rows.movie.slice(run.first, run.last + 1);
    this.pending.users.push(user);
    this.pending.rows.push({ movie, half: rows.halfSteps.slice(run.first, run.last + 1) });
    for (let j = 0; j < movie.length; j++) this.lockOnce(movie[j], this.pending.movies);
  }

  /** Adds `m` to `out` unless it was added (and so will be locked) before. */
  private lockOnce(m: number, out: number[]): void {
    if (m >= this.lockedMovie.length) {
      const bigger = new Uint8Array(Math.max(m + 1, this.lockedMovie.length * 2));
      bigger.set(this.lockedMovie);
      this.lockedMovie = bigger;
    }
    if (!this.lockedMovie[m]) {
      this.lockedMovie[m] = 1;
      out.push(m);
    }
  }

  /** A pair listed twice among the user's rows: left to the file's deduplication and the usual step. */
  private hasDuplicate(rows: RatingColumns, r: UserRun): boolean {
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
}
