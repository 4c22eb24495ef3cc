/**
 * toMatrix: columns of a batch -> one row-major Float64Array. Rows are done in blocks that fit
 * in cache, each column copied by a loop specialised for its array type (one dispatch per
 * column per block, monomorphic element access inside).
 */
import { matrix, type Matrix } from "../matrix.js";
import { words } from "./decode.js";
import type { ColumnArray, ColumnBatch } from "./types.js";

/** Rows per block: 2048 rows x 16 columns x 8 bytes = 256 KiB of output, about an L2. */
const BLOCK = 2048;

/**
 * Build a `rows x columns.length` matrix from the named columns (default: every column of the
 * batch, in its order). Integer and boolean columns convert to doubles; 64-bit integers beyond
 * 2^53 round to the nearest double. Strings are refused.
 */
export function toMatrix(batch: ColumnBatch, columns?: readonly string[]): Matrix {
  const names = columns ? [...columns] : [...batch.columns.keys()];
  const arrays = names.map((name) => {
    const a = batch.columns.get(name);
    if (a === undefined) {
      throw new RangeError(`skein matrix: no column "${name}" in the batch (columns: ${[...batch.columns.keys()].join(", ")})`);
    }
    if (Array.isArray(a)) throw new TypeError(`skein matrix: column "${name}" holds strings, not numbers`);
    if (a.length !== batch.rows) {
      throw new RangeError(`skein matrix: column "${name}" has ${a.length} values, the batch ${batch.rows} rows`);
    }
    return a;
  });
  const rows = batch.rows;
  const cols = names.length;
  const out = new Float64Array(rows * cols);
  // 64-bit integer columns are read as 32-bit word pairs (no BigInt per element).
  const pairs = arrays.map((a) => (a instanceof BigInt64Array || a instanceof BigUint64Array ? words(a) : undefined));
  for (let r0 = 0; r0 < rows; r0 += BLOCK) {
    const r1 = Math.min(rows, r0 + BLOCK);
    for (let j = 0; j < cols; j++) {
      const a = arrays[j] as Exclude<ColumnArray, (string | null)[]>;
      if (a instanceof Float64Array) copyF64(a, out, r0, r1, j, cols);
      else if (a instanceof Int32Array) copyI32(a, out, r0, r1, j, cols);
      else if (a instanceof Uint8Array) copyU8(a, out, r0, r1, j, cols);
      else if (a instanceof Float32Array) copyF32(a, out, r0, r1, j, cols);
      else if (a instanceof BigInt64Array) copyI64(pairs[j] as Int32Array, out, r0, r1, j, cols);
      else copyU64(pairs[j] as Int32Array, out, r0, r1, j, cols);
    }
  }
  return matrix(rows, cols, out, names);
}

function copyF64(a: Float64Array, out: Float64Array, r0: number, r1: number, j: number, cols: number): void {
  for (let i = r0; i < r1; i++) out[i * cols + j] = a[i];
}
function copyF32(a: Float32Array, out: Float64Array, r0: number, r1: number, j: number, cols: number): void {
  for (let i = r0; i < r1; i++) out[i * cols + j] = a[i];
}
function copyI32(a: Int32Array, out: Float64Array, r0: number, r1: number, j: number, cols: number): void {
  for (let i = r0; i < r1; i++) out[i * cols + j] = a[i];
}
function copyU8(a: Uint8Array, out: Float64Array, r0: number, r1: number, j: number, cols: number): void {
  for (let i = r0; i < r1; i++) out[i * cols + j] = a[i];
}
function copyI64(w: Int32Array, out: Float64Array, r0: number, r1: number, j: number, cols: number): void {
  for (let i = r0; i < r1; i++) out[i * cols + j] = w[2 * i + 1] * 4294967296 + (w[2 * i] >>> 0);
}
function copyU64(w: Int32Array, out: Float64Array, r0: number, r1: number, j: number, cols: number): void {
  for (let i = r0; i < r1; i++) out[i * cols + j] = (w[2 * i + 1] >>> 0) * 4294967296 + (w[2 * i] >>> 0);
}
