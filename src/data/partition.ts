/**
 * Partition helpers shared by the client and the tasks: dtype of a column, empty partitions,
 * concatenation, slices, projections, masks, and the check that a partition fits a schema.
 * Slices of typed arrays are views (no copy); concatenation copies once per column.
 */
import { SkeinError } from "../errors.js";
import type { Column, Dtype, FramePartition, Schema } from "./types.js";

const PREFIX = "skein data:";

export function dtypeOf(col: Column): Dtype {
  if (Array.isArray(col)) return "string";
  if (col instanceof Float64Array) return "float64";
  if (col instanceof Int32Array) return "int32";
  if (col instanceof Uint8Array) return "bool";
  if (col instanceof Float32Array) return "float32";
  if (col instanceof BigInt64Array) return "int64";
  if (col instanceof BigUint64Array) return "uint64";
  throw new SkeinError(`${PREFIX} a column cannot be a ${(col as object)?.constructor?.name ?? typeof col}`);
}

/** A zero-filled (empty-string-free: null-filled) column of `n` values. */
export function allocColumn(dtype: Dtype, n: number): Column {
  switch (dtype) {
    case "float64":
      return new Float64Array(n);
    case "float32":
      return new Float32Array(n);
    case "int32":
      return new Int32Array(n);
    case "int64":
      return new BigInt64Array(n);
    case "uint64":
      return new BigUint64Array(n);
    case "bool":
      return new Uint8Array(n);
    case "string":
      return new Array<string | null>(n).fill(null);
  }
}

export function emptyPartition(schema: Schema): FramePartition {
  const columns = new Map<string, Column>();
  for (const f of schema) columns.set(f.name, allocColumn(f.dtype, 0));
  return { rows: 0, columns };
}

export function schemaOf(p: FramePartition): Schema {
  return [...p.columns].map(([name, col]) => ({ name, dtype: dtypeOf(col) }));
}

export function describeSchema(schema: Schema): string {
  return schema.map((f) => `${f.name}: ${f.dtype}`).join(", ");
}

/**
 * Throws unless `p` has exactly the schema's columns, in order, with its dtypes and `p.rows`
 * values each. `where` names the partition in the message.
 */
export function checkPartition(p: unknown, schema: Schema, where: string): FramePartition {
  if (p === null || typeof p !== "object" || !((p as FramePartition).columns instanceof Map) || typeof (p as FramePartition).rows !== "number") {
    throw new SkeinError(`${PREFIX} ${where} is not a partition ({ rows, columns: Map }), got ${describeValue(p)}`);
  }
  const part = p as FramePartition;
  const names = [...part.columns.keys()];
  if (names.length !== schema.length || schema.some((f, i) => f.name !== names[i])) {
    throw new SkeinError(`${PREFIX} ${where} has columns [${names.join(", ")}], the schema says [${schema.map((f) => f.name).join(", ")}]`);
  }
  for (const f of schema) {
    const col = part.columns.get(f.name) as Column;
    const dt = dtypeOf(col);
    if (dt !== f.dtype) throw new SkeinError(`${PREFIX} ${where}: column "${f.name}" is ${dt}, the schema says ${f.dtype}`);
    if (col.length !== part.rows) throw new SkeinError(`${PREFIX} ${where}: column "${f.name}" has ${col.length} values for ${part.rows} rows`);
  }
  return part;
}

function describeValue(v: unknown): string {
  if (v === null) return "null";
  if (typeof v !== "object") return typeof v;
  return (v as object).constructor?.name ?? "object";
}

/** Concatenate partitions of one schema (zero partitions give the schema's empty partition). */
export function concatPartitions(parts: readonly FramePartition[], schema: Schema): FramePartition {
  if (parts.length === 1) return parts[0];
  let rows = 0;
  for (const p of parts) rows += p.rows;
  const columns = new Map<string, Column>();
  for (const f of schema) columns.set(f.name, concatColumns(parts.map((p) => p.columns.get(f.name) as Column), f.dtype, rows));
  return { rows, columns };
}

export function concatColumns(cols: readonly Column[], dtype: Dtype, rows: number): Column {
  if (dtype === "string") {
    const out: (string | null)[] = new Array(rows);
    let at = 0;
    for (const c of cols) {
      const s = c as (string | null)[];
      for (let i = 0; i < s.length; i++) out[at++] = s[i];
    }
    return out;
  }
  const out = allocColumn(dtype, rows) as Exclude<Column, (string | null)[]>;
  let at = 0;
  for (const c of cols) {
    (out as Float64Array).set(c as Float64Array, at);
    at += c.length;
  }
  return out;
}

/** Rows [start, end) as views on the typed arrays (strings are copied). */
export function slicePartition(p: FramePartition, start: number, end: number): FramePartition {
  if (start === 0 && end === p.rows) return p;
  const columns = new Map<string, Column>();
  for (const [name, col] of p.columns) columns.set(name, Array.isArray(col) ? col.slice(start, end) : col.subarray(start, end));
  return { rows: end - start, columns };
}

export function selectPartition(p: FramePartition, names: readonly string[]): FramePartition {
  const columns = new Map<string, Column>();
  for (const n of names) {
    const col = p.columns.get(n);
    if (col === undefined) throw new SkeinError(`${PREFIX} no column "${n}" (columns: ${[...p.columns.keys()].join(", ")})`);
    columns.set(n, col);
  }
  return { rows: p.rows, columns };
}

/** The rows where `mask` is truthy, in order. */
export function maskPartition(p: FramePartition, mask: ArrayLike<number | boolean>): FramePartition {
  if (mask.length !== p.rows) throw new SkeinError(`${PREFIX} filter mask has ${mask.length} values for ${p.rows} rows`);
  const idx = new Int32Array(p.rows);
  let n = 0;
  for (let i = 0; i < p.rows; i++) if (mask[i]) idx[n++] = i;
  if (n === p.rows) return p;
  return takeRows(p, idx.subarray(0, n));
}

/** Rows at `idx` (any order), copied. */
export function takeRows(p: FramePartition, idx: Int32Array): FramePartition {
  const n = idx.length;
  const columns = new Map<string, Column>();
  for (const [name, col] of p.columns) {
    if (Array.isArray(col)) {
      const out: (string | null)[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = col[idx[i]];
      columns.set(name, out);
    } else {
      const out = allocColumn(dtypeOf(col), n) as Float64Array;
      const src = col as Float64Array;
      for (let i = 0; i < n; i++) out[i] = src[idx[i]];
      columns.set(name, out);
    }
  }
  return { rows: n, columns };
}

/** Same-length numeric column as Float64Array (the column itself when it already is one). */
export function toF64(col: Column, name: string): Float64Array {
  if (col instanceof Float64Array) return col;
  if (Array.isArray(col)) throw new SkeinError(`${PREFIX} column "${name}" holds strings, not numbers`);
  const out = new Float64Array(col.length);
  if (col instanceof BigInt64Array || col instanceof BigUint64Array) for (let i = 0; i < col.length; i++) out[i] = Number(col[i]);
  else out.set(col as Float32Array);
  return out;
}

/** Numeric dtypes (everything but string). */
export function isNumeric(dtype: Dtype): boolean {
  return dtype !== "string";
}
