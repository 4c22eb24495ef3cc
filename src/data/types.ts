/**
 * Plain-data types of skein/data's partitioned collections. Everything here crosses to workers
 * as is: a partition is a Map of typed arrays (each a raw binary frame on the wire).
 */
import type { ColumnArray } from "./parquet/types.js";
import type { Matrix } from "./matrix.js";

/**
 * Column dtypes and the storage each one has in a partition:
 * float64 -> Float64Array (nulls are NaN), float32 -> Float32Array, int32 -> Int32Array,
 * int64 -> BigInt64Array, uint64 -> BigUint64Array, bool -> Uint8Array (0/1),
 * string -> (string | null)[].
 */
export type Dtype = "float64" | "float32" | "int32" | "int64" | "uint64" | "bool" | "string";

/** One column of a partition; its dtype follows from its class (see `Dtype`). */
export type Column = ColumnArray;

export interface Field {
  readonly name: string;
  readonly dtype: Dtype;
}

/** Column names and dtypes, in order. Plain data, so tasks can carry it. */
export type Schema = readonly Field[];

/**
 * One partition of a Frame: `rows` rows, one column per schema field (same names, same order,
 * each `rows` long). A partition with `rows: 0` is valid everywhere.
 */
export interface FramePartition {
  rows: number;
  columns: Map<string, Column>;
}

/** Features and target of one partition, the shape skein/solvers' `Partition` takes. */
export interface XYPartition {
  X: Matrix;
  y: Float64Array;
}
