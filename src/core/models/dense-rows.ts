import { DENSE_ROWS_WASM } from './wasm/dense-rows-wasm.js';

/**
 * A dense matrix of int16 rows, each with a float scale (EASE's B: row a = q[a·m … a·m+m) · scale[a]), and the one
 * operation that scores a history with it: the sum of the history's rows. The plain loop (sumRowsPlain) is the
 * reference; the kernel (dense-rows.wat, WebAssembly SIMD, two float64 lanes) does each element's operations in
 * the same order, so both give the same sums to the bit (test/models/dense-rows.test.ts), about five times faster
 * (bench:dense-rows; docs/benchmarks/serve.md). Hand-written because no library sums int16 rows into float64 with
 * SIMD in Node: ml-matrix is plain JavaScript on float64.
 */
export interface DenseRows {
  /** The values, m × m (a view into the kernel's memory when it runs). */
  readonly q: Int16Array;
  readonly m: number;
  /** Whether the WebAssembly kernel sums (else the plain loop). */
  readonly kernel: boolean;
  /** acc[b] += scale[a] · q[a·m + b] for each row a of `rows` in order (−1: skipped), b in [0, m). */
  sumRows(rows: ArrayLike<number>, scale: Float32Array, acc: Float64Array): void;
}

/** The reference: the plain loop. */
export function sumRowsPlain(
  q: Int16Array,
  m: number,
  rows: ArrayLike<number>,
  scale: Float32Array,
  acc: Float64Array,
): void {
  for (let i = 0; i < rows.length; i++) {
    const a = rows[i];
    if (a < 0) continue;
    const sc = scale[a];
    const ra = a * m;
    for (let b = 0; b < m; b++) acc[b] += sc * q[ra + b];
  }
}

/** The parts of the WebAssembly API used here (TypeScript declares it with the DOM library only). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number; maximum: number }) => { buffer: ArrayBuffer };
}
const wasm = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

let compiled: object | null | undefined;
/** The kernel's module, compiled once; null where WebAssembly SIMD is not available. */
function kernelModule(): object | null {
  if (compiled === undefined) {
    try {
      compiled = wasm ? new wasm.Module(Buffer.from(DENSE_ROWS_WASM, 'base64')) : null;
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

const PAGE = 65536;
/** WebAssembly memory holds at most 65,536 pages (4 GiB). */
const MAX_PAGES = 65536;

/**
 * The rows `q` (m × m) for summing: copied into a WebAssembly memory of their own (sized once, never grown, so the
 * view stays valid) with room for one accumulator, or kept as they are with the plain loop when the kernel is not
 * available or `plain` is asked.
 */
export function denseRows(q: Int16Array, m: number, options: { plain?: boolean } = {}): DenseRows {
  const module = options.plain ? null : kernelModule();
  const accAt = Math.ceil(q.byteLength / 16) * 16;
  const pages = Math.ceil((accAt + m * 8) / PAGE) || 1;
  if (module === null || !wasm || pages > MAX_PAGES) return plainRows(q, m);
  let memory: { buffer: ArrayBuffer };
  let addRow: (q: number, acc: number, m: number, sc: number) => void;
  try {
    memory = new wasm.Memory({ initial: pages, maximum: pages });
    const instance = new wasm.Instance(module, { env: { memory } });
    addRow = instance.exports.addRow as typeof addRow;
  } catch {
    return plainRows(q, m); // no memory of that size to be had: the plain loop needs none
  }
  const view = new Int16Array(memory.buffer, 0, q.length);
  view.set(q);
  const acc = new Float64Array(memory.buffer, accAt, m);
  return {
    q: view,
    m,
    kernel: true,
    sumRows(rows, scale, out) {
      acc.set(out);
      for (let i = 0; i < rows.length; i++) {
        const a = rows[i];
        if (a >= 0) addRow(a * m * 2, accAt, m, scale[a]);
      }
      out.set(acc);
    },
  };
}

function plainRows(q: Int16Array, m: number): DenseRows {
  return { q, m, kernel: false, sumRows: (rows, scale, acc) => sumRowsPlain(q, m, rows, scale, acc) };
}
