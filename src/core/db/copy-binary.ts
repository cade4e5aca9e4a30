/**
 * PostgreSQL's binary COPY format: the stream's header and trailer (the engines add them around any tuples) and
 * the rating rows as its tuples. The server copies the values instead of parsing text (faster than CSV:
 * docs/benchmarks/ingest.md), and Node writes fixed-size numbers instead of digits. Chunks of 256 KB hold whole
 * tuples only.
 */

/** The header (signature, flags, extension length) and trailer (field count −1) of a binary COPY stream. */
export const BINARY_COPY_HEADER = Buffer.from([
  0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00, 0, 0, 0, 0, 0, 0, 0, 0,
]);
export const BINARY_COPY_TRAILER = Buffer.from([0xff, 0xff]);

/** The columns of accepted rating rows the tuples are written from (the ingest's RatingColumns). */
export interface RatingRows {
  readonly length: number;
  readonly user: Float64Array;
  readonly movie: Int32Array;
  /** rating × 2 (1…10) */
  readonly halfSteps: Uint8Array;
  /** unix seconds */
  readonly timestamp: Uint32Array;
}

const CHUNK = 1 << 18;
/** Microseconds between the unix epoch and PostgreSQL's (2000-01-01 00:00 UTC). */
const PG_EPOCH_SECONDS = 946_684_800;

class TupleChunks {
  private buf = Buffer.allocUnsafe(CHUNK);
  private view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  pos = 0;

  /** Room for one more tuple of `size` bytes? Otherwise take() first. */
  fits(size: number): boolean {
    return this.pos + size <= CHUNK;
  }

  take(): Buffer {
    const out = this.buf.subarray(0, this.pos);
    this.buf = Buffer.allocUnsafe(CHUNK);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    this.pos = 0;
    return out;
  }

  fields(n: number): void {
    this.view.setInt16(this.pos, n);
    this.pos += 2;
  }

  int4(v: number): void {
    this.view.setInt32(this.pos, 4);
    this.view.setInt32(this.pos + 4, v);
    this.pos += 8;
  }

  float4(v: number): void {
    this.view.setInt32(this.pos, 4);
    this.view.setFloat32(this.pos + 4, v);
    this.pos += 8;
  }

  /** An int8 from a JS integer (|v| < 2^53): high and low 32 bits, two's complement. */
  int8(v: number): void {
    const hi = Math.floor(v / 4_294_967_296);
    this.view.setInt32(this.pos, 8);
    this.view.setInt32(this.pos + 4, hi);
    this.view.setUint32(this.pos + 8, v - hi * 4_294_967_296);
    this.pos += 12;
  }
}

/** user_id int8, movie_id int4, rating float4, rated_at timestamptz (int8 µs since 2000-01-01). */
const RATING_TUPLE = 2 + 12 + 8 + 8 + 12;

/** Which rows to write: those whose user (`rowUser[i]`, an index into the file's users) is in `users`. */
export interface RatingSelection {
  rows: RatingRows;
  rowUser: Int32Array;
  /** 1 at the index of each user whose rows to write. */
  users: Uint8Array;
}

/** The selected rows in `order`, as binary tuples for COPY ratings (user_id from `userIds`, movie_id, rating, rated_at). */
export async function* ratingTuples({
  rows,
  rowUser,
  users,
  userIds,
  order,
}: RatingSelection & { userIds: Float64Array; order: Int32Array }): AsyncGenerator<Uint8Array> {
  const out = new TupleChunks();
  for (let k = 0; k < order.length; k++) {
    const i = order[k];
    if (!users[rowUser[i]]) continue;
    if (!out.fits(RATING_TUPLE)) yield out.take();
    out.fields(4);
    out.int8(userIds[rowUser[i]]);
    out.int4(rows.movie[i]);
    out.float4(rows.halfSteps[i] / 2);
    out.int8((rows.timestamp[i] - PG_EPOCH_SECONDS) * 1_000_000);
  }
  if (out.pos > 0) yield out.take();
}

/** user_ext int8, movie_id int4, rating float4, ts int8. */
const STAGE_TUPLE = 2 + 12 + 8 + 8 + 12;

/** The selected rows as binary tuples for upsertRatings' staging table (user_ext, movie_id, rating, ts). */
export async function* stagedRatingTuples({ rows, rowUser, users }: RatingSelection): AsyncGenerator<Uint8Array> {
  const out = new TupleChunks();
  for (let i = 0; i < rows.length; i++) {
    if (!users[rowUser[i]]) continue;
    if (!out.fits(STAGE_TUPLE)) yield out.take();
    out.fields(4);
    out.int8(rows.user[i]);
    out.int4(rows.movie[i]);
    out.float4(rows.halfSteps[i] / 2);
    out.int8(rows.timestamp[i]);
  }
  if (out.pos > 0) yield out.take();
}
