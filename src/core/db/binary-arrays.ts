/**
 * Arrays read in PostgreSQL's binary form (`array_send(x)`, a bytea) instead of its text form (`{1,2,3}`).
 *
 * A known user's history write answers with the user's whole history (docs/benchmarks/feedback.md, "Single
 * writes"): a few hundred movie ids and ratings, which the database printed as text and node-postgres parsed back
 * one element at a time (postgres-array, then Number) — about a quarter of the server's time per history write,
 * and float4out's printing a share of the database's. Here the database sends the 4-byte values as they are and
 * they are read straight into typed arrays. binary-arrays.test.ts holds both readers to the driver's text parsing.
 *
 * The format (PostgreSQL's array_send): ndim, has-nulls flag, element type oid; per dimension its length and lower
 * bound; then per element its byte length (-1 for NULL) and its bytes, big-endian. Only one-dimensional arrays
 * without NULLs of int4 or float4 are read; anything else is an error, never a wrong value.
 */
const INT4_OID = 23;
const FLOAT4_OID = 700;

/** int4[] from array_send; NULL (no rows) reads as an empty array. */
export function int4ArrayOf(bytes: Uint8Array | null): Int32Array {
  const buf = asBuffer(bytes);
  if (buf === undefined) return new Int32Array(0);
  const n = lengthOf(buf, INT4_OID);
  const out = new Int32Array(n);
  for (let i = 0, at = 24; i < n; i++, at += 8) out[i] = buf.readInt32BE(at);
  return out;
}

/** float4[] from array_send; NULL (no rows) reads as an empty array. */
export function float4ArrayOf(bytes: Uint8Array | null): Float32Array {
  const buf = asBuffer(bytes);
  if (buf === undefined) return new Float32Array(0);
  const n = lengthOf(buf, FLOAT4_OID);
  const out = new Float32Array(n);
  for (let i = 0, at = 24; i < n; i++, at += 8) out[i] = buf.readFloatBE(at);
  return out;
}

function asBuffer(bytes: Uint8Array | null): Buffer | undefined {
  if (bytes === null || bytes === undefined) return undefined;
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The element count after checking the header and that every element is 4 bytes (so none is NULL). */
function lengthOf(buf: Buffer, oid: number): number {
  const ndim = buf.readInt32BE(0);
  if (buf.readUInt32BE(8) !== oid) throw new Error(`binary array: element type ${buf.readUInt32BE(8)}, not ${oid}`);
  if (ndim === 0) return 0;
  if (ndim !== 1 || buf.readInt32BE(4) !== 0) throw new Error('binary array: only one dimension without NULLs');
  const n = buf.readInt32BE(12);
  if (buf.length !== 20 + 8 * n) throw new Error(`binary array: ${buf.length} bytes for ${n} elements`);
  for (let i = 0, at = 20; i < n; i++, at += 8) {
    if (buf.readInt32BE(at) !== 4) throw new Error('binary array: an element is not 4 bytes');
  }
  return n;
}
