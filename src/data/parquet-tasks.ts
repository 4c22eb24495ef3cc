/**
 * What workers run for readParquet / writeParquet: read one partition's row groups (with the
 * footer the client already read), conform it to the Frame's schema, add hive columns, filter
 * rows; write one partition to one file, atomically.
 */
import { filterMask } from "./filter-rows.js";
import { maskPartition, selectPartition, toF64 } from "./partition.js";
import { readRowGroups } from "./parquet/read.js";
import { writeParquetFile, type WriteParquetOptions } from "./parquet/write.js";
import type { FilterTriple, ParquetFileInfo } from "./parquet/types.js";
import type { Column, FramePartition, Schema } from "./types.js";

export interface ParquetPartSpec {
  path: string;
  /** The file's footer trimmed to `rowGroups` (footerForRowGroups). */
  info: ParquetFileInfo;
  rowGroups: number[];
  /** Columns read from the file: the output's file columns plus those only filters use. */
  read: string[];
  /** Hive columns: name and this file's value. */
  hive: [string, string | number][];
  /** Row filter (OR of ANDs); empty: keep every row. */
  clauses: FilterTriple[][];
  schema: Schema;
}

/**
 * One partition of readParquet. `scratchColumns`: float64 columns in pooled scratch memory, for
 * a caller that consumes the partition at once and then calls `releaseColumns` on it.
 */
export async function readParquetTask(spec: ParquetPartSpec, scratchColumns = false): Promise<FramePartition> {
  const batch = await readRowGroups(spec.path, { rowGroups: spec.rowGroups, columns: spec.read, info: spec.info, scratchColumns });
  const rows = batch.rows;
  const columns = new Map<string, Column>(batch.columns);
  for (const [name, value] of spec.hive) {
    columns.set(name, typeof value === "number" ? new Float64Array(rows).fill(value) : new Array<string | null>(rows).fill(value));
  }
  let part: FramePartition = { rows, columns };
  if (spec.clauses.length) part = maskPartition(part, filterMask(rows, spec.clauses, (n) => columns.get(n) as Column));
  part = selectPartition(part, spec.schema.map((f) => f.name));
  // Conform to the schema: nullable ints and 64-bit ints are float64 in the Frame.
  for (const f of spec.schema) {
    const col = part.columns.get(f.name) as Column;
    if (f.dtype === "float64" && !(col instanceof Float64Array)) part.columns.set(f.name, toF64(col, f.name));
  }
  return part;
}

export interface WrittenFile {
  path: string;
  rows: number;
}

export async function writeParquetTask(part: FramePartition, path: string, options: WriteParquetOptions): Promise<WrittenFile> {
  // NaN in float columns is written as null, so a frame read with nulls writes them back.
  const nullCounts = new Map<string, number>();
  for (const [name, col] of part.columns) {
    if (col instanceof Float64Array || col instanceof Float32Array) {
      let n = 0;
      for (let i = 0; i < col.length; i++) if (col[i] !== col[i]) n++;
      if (n) nullCounts.set(name, n);
    }
  }
  await writeParquetFile(path, { rows: part.rows, columns: part.columns, nullCounts }, options);
  return { path, rows: part.rows };
}
