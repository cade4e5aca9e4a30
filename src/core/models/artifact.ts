/**
 * The byte format of every model artifact: "RECOMDL1", a little-endian u32 length, a JSON header (algorithm,
 * params, named array descriptors), then the typed arrays, each 8-byte aligned. Compact (no JSON numbers for
 * big arrays), loads without copying where alignment allows, and one format for every algorithm.
 */
const MAGIC = 'RECOMDL1';

type ArrayKind = 'f32' | 'f64' | 'i32' | 'u32' | 'i16' | 'u8';
export type PackedArray = Float32Array | Float64Array | Int32Array | Uint32Array | Int16Array | Uint8Array;

interface Descriptor {
  name: string;
  kind: ArrayKind;
  offset: number;
  length: number;
}

interface Header {
  algorithm: string;
  meta: Record<string, unknown>;
  arrays: Descriptor[];
}

function kindOf(a: PackedArray): ArrayKind {
  if (a instanceof Float32Array) return 'f32';
  if (a instanceof Float64Array) return 'f64';
  if (a instanceof Int32Array) return 'i32';
  if (a instanceof Uint32Array) return 'u32';
  if (a instanceof Int16Array) return 'i16';
  return 'u8';
}

const CTORS = { f32: Float32Array, f64: Float64Array, i32: Int32Array, u32: Uint32Array, i16: Int16Array, u8: Uint8Array } as const;

export function packArtifact(algorithm: string, meta: Record<string, unknown>, arrays: Record<string, PackedArray>): Uint8Array {
  const descriptors: Descriptor[] = [];
  let offset = 0;
  for (const [name, arr] of Object.entries(arrays)) {
    descriptors.push({ name, kind: kindOf(arr), offset, length: arr.length });
    offset += Math.ceil(arr.byteLength / 8) * 8;
  }
  const header = new TextEncoder().encode(JSON.stringify({ algorithm, meta, arrays: descriptors } satisfies Header));
  const headerEnd = Math.ceil((MAGIC.length + 4 + header.length) / 8) * 8;
  const out = new Uint8Array(headerEnd + offset);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(MAGIC.length, header.length, true);
  out.set(header, MAGIC.length + 4);
  descriptors.forEach((d, i) => {
    const arr = Object.values(arrays)[i];
    out.set(new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength), headerEnd + d.offset);
  });
  return out;
}

export interface UnpackedArtifact {
  algorithm: string;
  meta: Record<string, any>;
  arrays: Record<string, PackedArray>;
}

export function unpackArtifact(bytes: Uint8Array, expectedAlgorithm?: string): UnpackedArtifact {
  if (bytes.length < MAGIC.length + 4 || new TextDecoder().decode(bytes.subarray(0, MAGIC.length)) !== MAGIC) {
    throw new Error('not a reco model artifact (bad magic bytes)');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(MAGIC.length, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(MAGIC.length + 4, MAGIC.length + 4 + headerLength))) as Header;
  if (expectedAlgorithm && header.algorithm !== expectedAlgorithm) {
    throw new Error(`artifact is a ${header.algorithm} model, not ${expectedAlgorithm}`);
  }
  const headerEnd = Math.ceil((MAGIC.length + 4 + headerLength) / 8) * 8;
  const arrays: Record<string, PackedArray> = {};
  for (const d of header.arrays) {
    const Ctor = CTORS[d.kind];
    const start = headerEnd + d.offset;
    const byteLength = d.length * Ctor.BYTES_PER_ELEMENT;
    if (start + byteLength > bytes.length) throw new Error(`artifact truncated (array ${d.name})`);
    // Copy into a fresh buffer: aligned, and independent of the input (a Node Buffer may be a view into a
    // shared pool, and Buffer#slice does not copy).
    const copy = new Uint8Array(byteLength);
    copy.set(bytes.subarray(start, start + byteLength));
    arrays[d.name] = new Ctor(copy.buffer, 0, d.length);
  }
  return { algorithm: header.algorithm, meta: header.meta, arrays };
}
