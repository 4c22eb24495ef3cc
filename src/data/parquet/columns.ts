/**
 * Which storage a column decodes into, and how a filled sink becomes the column the caller
 * gets. The rules (`readRowGroups` returns columns by them):
 * - DOUBLE -> Float64Array; FLOAT -> Float64Array (widened); nulls -> NaN.
 * - INT32 -> Int32Array when the rows read hold no null, else Float64Array with NaN for nulls.
 *   Unsigned 32-bit -> Float64Array (values above 2^31 do not fit an Int32Array).
 * - INT64 -> Float64Array when every value is within +-2^53 (exact), nulls -> NaN; otherwise
 *   BigInt64Array (BigUint64Array for unsigned) when there is no null, else an error.
 * - DECIMAL (INT32, INT64 or FIXED_LEN_BYTE_ARRAY) -> Float64Array of value / 10^scale.
 * - BOOLEAN -> Uint8Array of 0/1 without nulls, Float64Array of 0/1/NaN with nulls.
 * - BYTE_ARRAY -> (string | null)[] (UTF-8).
 * Dates, times and timestamps keep their physical integers (days, or units since the epoch).
 */
import { ParquetUnsupportedError } from "./errors.js";
import { words, type Kind, type Sink } from "./decode.js";
import type { ColumnArray, ParquetColumnInfo } from "./types.js";

export function kindOf(file: string, col: ParquetColumnInfo): Kind {
  if (col.nested) {
    throw new ParquetUnsupportedError(file, `column "${col.name}" is nested (${col.logicalType?.type ?? "group or repeated field"}); skein reads flat columns only`);
  }
  switch (col.physicalType) {
    case "DOUBLE":
      return "f64";
    case "FLOAT":
      return "f32";
    case "INT32":
      return "i32";
    case "INT64":
      return "i64";
    case "BOOLEAN":
      return "bool";
    case "BYTE_ARRAY":
      return "str";
    case "FIXED_LEN_BYTE_ARRAY":
      if (col.logicalType?.type === "DECIMAL") return "dec";
      throw new ParquetUnsupportedError(file, `column "${col.name}" is FIXED_LEN_BYTE_ARRAY${col.logicalType ? ` (${col.logicalType.type})` : ""}, which skein does not read`);
    default:
      throw new ParquetUnsupportedError(file, `column "${col.name}" has physical type ${col.physicalType}, which skein does not read`);
  }
}

function isUnsignedCol(col: ParquetColumnInfo): boolean {
  return col.logicalType?.type === "INTEGER" && col.logicalType.isSigned === false;
}

/** Turn a filled sink into the caller's column; throws a plain Error for the 2^53+nulls case. */
export function finalize(col: ParquetColumnInfo, sink: Sink): ColumnArray {
  const lt = col.logicalType;
  switch (sink.kind) {
    case "f64":
    case "str":
      return sink.values as Float64Array | (string | null)[];
    case "dec": {
      const v = sink.values as Float64Array;
      const div = 10 ** (lt?.scale ?? 0);
      // NaN (null) / div stays NaN.
      if (div !== 1) for (let i = 0; i < v.length; i++) v[i] /= div;
      return v;
    }
    case "f32":
      return Float64Array.from(sink.values as Float32Array);
    case "i32": {
      const v = sink.values as Int32Array;
      if (lt?.type === "DECIMAL") return scaleInt32(v, sink.valid, 10 ** (lt.scale ?? 0));
      if (isUnsignedCol(col) && lt?.bitWidth === 32) return uint32ToF64(v, sink.valid);
      return sink.valid ? int32ToF64(v, sink.valid) : v;
    }
    case "i64": {
      const v = sink.values as BigInt64Array;
      const unsigned = isUnsignedCol(col);
      const w = words(v);
      if (lt?.type === "DECIMAL") return pairsToF64(w, sink.valid, unsigned, 10 ** (lt.scale ?? 0));
      if (allSafe(w, unsigned)) return pairsToF64(w, sink.valid, unsigned, 1);
      if (sink.valid) {
        throw new Error(
          `64-bit integers beyond +-2^53 together with nulls: no typed array holds both (read the rows without nulls, or store the column as DOUBLE)`,
        );
      }
      return unsigned ? new BigUint64Array(v.buffer, v.byteOffset, v.length) : v;
    }
    case "bool": {
      const v = sink.values as Uint8Array;
      if (!sink.valid) return v;
      const out = new Float64Array(v.length);
      const valid = sink.valid;
      for (let i = 0; i < v.length; i++) out[i] = valid[i] ? v[i] : NaN;
      return out;
    }
  }
}

function int32ToF64(v: Int32Array, valid: Uint8Array): Float64Array {
  const out = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = valid[i] ? v[i] : NaN;
  return out;
}

function uint32ToF64(v: Int32Array, valid: Uint8Array | undefined): Float64Array {
  const out = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i] >>> 0;
  if (valid) for (let i = 0; i < v.length; i++) if (!valid[i]) out[i] = NaN;
  return out;
}

function scaleInt32(v: Int32Array, valid: Uint8Array | undefined, div: number): Float64Array {
  const out = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i] / div;
  if (valid) for (let i = 0; i < v.length; i++) if (!valid[i]) out[i] = NaN;
  return out;
}

/** True when every value (low word, high word pairs) is an integer of magnitude <= 2^53. */
function allSafe(w: Int32Array, unsigned: boolean): boolean {
  const n = w.length;
  if (unsigned) {
    for (let i = 1; i < n; i += 2) if (w[i] >>> 0 >= 0x200000) return false;
  } else {
    for (let i = 1; i < n; i += 2) {
      const hi = w[i];
      if (hi < -0x200000 || hi >= 0x200000) return false;
    }
  }
  return true;
}

function pairsToF64(w: Int32Array, valid: Uint8Array | undefined, unsigned: boolean, div: number): Float64Array {
  const n = w.length >>> 1;
  const out = new Float64Array(n);
  // hi * 2^32 is exact; adding the unsigned low word rounds once (exact within +-2^53).
  if (unsigned) for (let i = 0; i < n; i++) out[i] = (w[2 * i + 1] >>> 0) * 4294967296 + (w[2 * i] >>> 0);
  else for (let i = 0; i < n; i++) out[i] = w[2 * i + 1] * 4294967296 + (w[2 * i] >>> 0);
  if (div !== 1) for (let i = 0; i < n; i++) out[i] /= div;
  if (valid) for (let i = 0; i < n; i++) if (!valid[i]) out[i] = NaN;
  return out;
}

/** An empty column of the type `finalize` gives a column of this kind without nulls. */
export function emptyColumn(col: ParquetColumnInfo, kind: Kind): ColumnArray {
  const lt = col.logicalType;
  switch (kind) {
    case "f64":
    case "f32":
    case "dec":
      return new Float64Array(0);
    case "i32":
      return lt?.type === "DECIMAL" || (isUnsignedCol(col) && lt?.bitWidth === 32) ? new Float64Array(0) : new Int32Array(0);
    case "i64":
      return new Float64Array(0);
    case "bool":
      return new Uint8Array(0);
    case "str":
      return [];
  }
}
