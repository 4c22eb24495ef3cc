/**
 * Frame tasks: the exported functions workers run for Frame operations. Each takes partitions
 * (the values of other tasks) and plain data; user functions arrive as FnRefs and are loaded
 * the way any task function is.
 */
import { SkeinError } from "../errors.js";
import { loadFunction } from "../functions/load.js";
import type { FnRef } from "../graph/spec.js";
import { matrix, type Matrix } from "./matrix.js";
import { toMatrix } from "./parquet/to-matrix.js";
import { checkPartition, concatPartitions, maskPartition, selectPartition, slicePartition, toF64 } from "./partition.js";
import type { FramePartition, Schema, XYPartition } from "./types.js";

type AnyFn = (...args: unknown[]) => unknown;

export async function mapPartitionTask(p: FramePartition, fn: FnRef, args: readonly unknown[], schema: Schema, index: number): Promise<FramePartition> {
  const f = (await loadFunction(fn)) as AnyFn;
  const out = await f(p, ...args);
  return checkPartition(out, schema, `mapPartitions(${fn.name}) output of partition ${index}`);
}

export function selectTask(p: FramePartition, names: readonly string[]): FramePartition {
  return selectPartition(p, names);
}

export async function filterTask(p: FramePartition, fn: FnRef, args: readonly unknown[], index: number): Promise<FramePartition> {
  const f = (await loadFunction(fn)) as AnyFn;
  const mask = await f(p, ...args);
  if (mask === null || typeof mask !== "object" || typeof (mask as ArrayLike<unknown>).length !== "number") {
    throw new SkeinError(`skein data: filter predicate ${fn.name} returned ${typeof mask} for partition ${index}; it must return one boolean (or 0/1) per row`);
  }
  return maskPartition(p, mask as ArrayLike<number | boolean>);
}

/** Rows of a partition of any collection: a FramePartition or Matrix, an XYPartition, a Bag's records. */
export function rowsOf(p: { rows: number } | XYPartition | readonly unknown[]): number {
  if (Array.isArray(p)) return p.length;
  if ("X" in (p as XYPartition)) return (p as XYPartition).X.rows;
  return (p as { rows: number }).rows;
}

/** Concatenate rows [start, end) of each piece: the output partition of a repartition. */
export function sliceConcatTask(schema: Schema, ranges: readonly (readonly [number, number])[], ...parts: FramePartition[]): FramePartition {
  const pieces = parts.map((p, i) => slicePartition(p, Math.min(ranges[i][0], p.rows), Math.min(ranges[i][1], p.rows)));
  return concatPartitions(pieces, schema);
}

/** Piece `i` of `k` near-equal pieces of a partition whose length is only known here. */
export function splitPieceTask(p: FramePartition, i: number, k: number): FramePartition {
  return slicePartition(p, Math.floor((i * p.rows) / k), Math.floor(((i + 1) * p.rows) / k));
}

export function concatTask(schema: Schema, ...parts: FramePartition[]): FramePartition {
  return concatPartitions(parts, schema);
}

export function headTask(p: FramePartition, n: number): FramePartition {
  return slicePartition(p, 0, Math.min(n, p.rows));
}

export function toMatrixTask(p: FramePartition, columns: readonly string[]): Matrix {
  if (columns.length === 0) return matrix(p.rows, 0, new Float64Array(0), []);
  return toMatrix(p, columns);
}

export function splitXYTask(p: FramePartition, features: readonly string[], target: string): XYPartition {
  const y = p.columns.get(target);
  if (y === undefined) throw new SkeinError(`skein data: no target column "${target}" (columns: ${[...p.columns.keys()].join(", ")})`);
  const yf = toF64(y, target);
  return { X: toMatrixTask(p, features), y: yf };
}

export function concatMatricesTask(...ms: Matrix[]): Matrix {
  const cols = ms[0]?.cols ?? 0;
  let rows = 0;
  for (const m of ms) rows += m.rows;
  const data = new Float64Array(rows * cols);
  let at = 0;
  for (const m of ms) {
    data.set(m.data.subarray(0, m.rows * cols), at);
    at += m.rows * cols;
  }
  return matrix(rows, cols, data, ms[0]?.columns);
}
