/**
 * writeParquetFile: a batch (or a named Matrix) to one Parquet file, atomically: the bytes go
 * to a temporary file in the same directory, which is renamed over `path` only once complete
 * and synced. A failure removes the temporary file, so no reader ever sees half a file.
 * Encoding is hyparquet-writer's (data page v2, dictionary where it pays, statistics on).
 */
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { randomBytes } from "node:crypto";
import { ByteWriter, parquetWrite } from "hyparquet-writer";
import type { ColumnSource } from "hyparquet-writer";
import type { SchemaElement } from "hyparquet";
import type { Matrix } from "../matrix.js";
import { codecFor, defaultCompression, prepareCodec, writableCompressions } from "./compress.js";
import { ParquetError, messageOf } from "./errors.js";
import type { ColumnArray, ColumnBatch, WriteCompression } from "./types.js";

export interface WriteParquetOptions {
  /** Page compression (default "snappy"). */
  compression?: WriteCompression;
  /** Rows per row group (default 131072; the last group holds the rest). */
  rowGroupSize?: number;
  /** Column names for a Matrix without `columns`. */
  columns?: string[];
  /** Extra key/value metadata stored in the footer. */
  metadata?: Record<string, string>;
}

export const DEFAULT_ROW_GROUP_SIZE = 131072;

/** Flushes to a file descriptor every MiB instead of growing one buffer for the whole file. */
class FdWriter extends ByteWriter {
  constructor(private readonly fd: number) {
    super(1 << 20);
  }
  override ensure(size: number): void {
    if (this.index > 1 << 20) this.flush();
    super.ensure(size);
  }
  flush(): void {
    let done = 0;
    while (done < this.index) done += writeSync(this.fd, new Uint8Array(this.buffer, done, this.index - done));
    this.index = 0;
  }
  override finish(): void {
    this.flush();
  }
}

/**
 * Write `data` to `path`. A Matrix needs column names (`matrix.columns` or `options.columns`).
 * Column types: Float64Array -> DOUBLE, Float32Array -> FLOAT, Int32Array -> INT32,
 * BigInt64Array -> INT64, BigUint64Array -> INT64 (unsigned), Uint8Array -> BOOLEAN,
 * (string | null)[] -> UTF-8 strings (nullable when a null is present). A floating-point column
 * whose `batch.nullCounts` entry is positive is written nullable, NaN -> null, so a read batch
 * writes back with its nulls.
 */
export async function writeParquetFile(path: string, data: ColumnBatch | Matrix, options: WriteParquetOptions = {}): Promise<void> {
  const compression = options.compression ?? defaultCompression;
  await prepareCodec(compression);
  const choice = codecFor(compression);
  if (!choice) {
    throw new ParquetError(path, `unknown compression "${String(compression)}" (use one of ${writableCompressions.join(", ")})`);
  }
  const rowGroupSize = options.rowGroupSize ?? DEFAULT_ROW_GROUP_SIZE;
  if (!Number.isInteger(rowGroupSize) || rowGroupSize < 1) {
    throw new ParquetError(path, `rowGroupSize must be a positive integer, got ${rowGroupSize}`);
  }
  const batch = isMatrix(data) ? matrixToBatch(path, data, options.columns) : data;
  const { schema, columnData } = describe(path, batch);

  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  let fd: number;
  try {
    fd = openSync(tmp, "wx");
  } catch (err) {
    throw new ParquetError(path, `cannot create a temporary file in ${dir} (${messageOf(err)})`, { cause: err });
  }
  let closed = false;
  try {
    const writer = new FdWriter(fd);
    const kv = Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value }));
    await parquetWrite({
      writer,
      schema,
      columnData,
      codec: choice.codec,
      ...(choice.compressor ? { compressors: { [choice.codec]: choice.compressor } } : {}),
      rowGroupSize,
      createdBy: "skein (hyparquet-writer)",
      ...(kv.length ? { kvMetadata: kv } : {}),
    });
    fsyncSync(fd);
    closeSync(fd);
    closed = true;
    renameSync(tmp, path);
  } catch (err) {
    if (!closed) {
      try {
        closeSync(fd);
      } catch {
        // already failing; the original error is the one to report
      }
    }
    try {
      unlinkSync(tmp);
    } catch {
      // gone already
    }
    if (err instanceof ParquetError) throw err;
    throw new ParquetError(path, `write failed, nothing written (${messageOf(err)})`, { cause: err });
  }
}

function isMatrix(d: ColumnBatch | Matrix): d is Matrix {
  return (d as Matrix).data instanceof Float64Array && typeof (d as Matrix).cols === "number";
}

function matrixToBatch(path: string, m: Matrix, names: string[] | undefined): ColumnBatch {
  const cols = names ?? m.columns;
  if (!cols) throw new ParquetError(path, "a Matrix needs column names (matrix.columns or options.columns)");
  if (cols.length !== m.cols) throw new ParquetError(path, `${cols.length} column names for a matrix of ${m.cols} columns`);
  if (m.data.length !== m.rows * m.cols) {
    throw new ParquetError(path, `matrix data has ${m.data.length} elements, ${m.rows} x ${m.cols} needs ${m.rows * m.cols}`);
  }
  const columns = new Map<string, ColumnArray>();
  for (let j = 0; j < m.cols; j++) {
    const c = new Float64Array(m.rows);
    for (let i = 0; i < m.rows; i++) c[i] = m.data[i * m.cols + j];
    columns.set(cols[j], c);
  }
  return { rows: m.rows, columns };
}

/** The Parquet schema and hyparquet-writer's column sources for a batch. */
function describe(path: string, batch: ColumnBatch): { schema: SchemaElement[]; columnData: ColumnSource[] } {
  const schema: SchemaElement[] = [{ name: "root", num_children: batch.columns.size }];
  const columnData: ColumnSource[] = [];
  if (batch.columns.size === 0) throw new ParquetError(path, "a parquet file needs at least one column");
  for (const [name, a] of batch.columns) {
    if (a.length !== batch.rows) {
      throw new ParquetError(path, `column "${name}" has ${a.length} values, the batch ${batch.rows} rows`);
    }
    const nulls = batch.nullCounts?.get(name) ?? 0;
    if (a instanceof Float64Array || a instanceof Float32Array) {
      const type = a instanceof Float64Array ? "DOUBLE" : "FLOAT";
      if (nulls > 0) {
        // hyparquet-writer marks nulls by null/undefined entries of a plain array.
        const values: (number | null)[] = new Array(a.length);
        for (let i = 0; i < a.length; i++) values[i] = a[i] !== a[i] ? null : a[i];
        schema.push({ name, type, repetition_type: "OPTIONAL" });
        columnData.push({ name, data: values });
      } else {
        schema.push({ name, type, repetition_type: "REQUIRED" });
        columnData.push({ name, data: a });
      }
    } else if (a instanceof Int32Array) {
      schema.push({ name, type: "INT32", repetition_type: "REQUIRED" });
      columnData.push({ name, data: a });
    } else if (a instanceof BigInt64Array) {
      schema.push({ name, type: "INT64", repetition_type: "REQUIRED" });
      columnData.push({ name, data: a });
    } else if (a instanceof BigUint64Array) {
      schema.push({
        name,
        type: "INT64",
        repetition_type: "REQUIRED",
        converted_type: "UINT_64",
        logical_type: { type: "INTEGER", bitWidth: 64, isSigned: false },
      });
      columnData.push({ name, data: Array.from(a) });
    } else if (a instanceof Uint8Array) {
      const values: boolean[] = new Array(a.length);
      for (let i = 0; i < a.length; i++) values[i] = a[i] !== 0;
      schema.push({ name, type: "BOOLEAN", repetition_type: "REQUIRED" });
      columnData.push({ name, data: values });
    } else if (Array.isArray(a)) {
      const nullable = a.includes(null);
      schema.push({
        name,
        type: "BYTE_ARRAY",
        repetition_type: nullable ? "OPTIONAL" : "REQUIRED",
        converted_type: "UTF8",
        logical_type: { type: "STRING" },
      });
      columnData.push({ name, data: a });
    } else {
      throw new ParquetError(path, `column "${name}": cannot write a ${(a as object).constructor.name}`);
    }
  }
  return { schema, columnData };
}
