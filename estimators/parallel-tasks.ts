/**
 * What workers run for ParallelPostFit and Incremental: apply a fitted model to one partition
 * (predict / predictProba / transform) into a partition of the declared schema, collect what a
 * scorer needs, and one partialFit step of an incremental fit.
 *
 * The model arrives as EstimatorJSON (the value of the key it was scattered to) together with
 * that key: the rebuilt estimator is cached per task thread by key, so a model with costly
 * set-up (a native booster, an ONNX session) is built once per thread, not once per partition.
 */
import type { Matrix } from "../src/data/matrix.js";
import { toMatrix } from "../src/data/parquet/to-matrix.js";
import { allocColumn, slicePartition } from "../src/data/partition.js";
import { readParquetTask, type ParquetPartSpec } from "../src/data/parquet-tasks.js";
import { releaseColumns } from "../src/data/parquet/read.js";
import type { Column, FramePartition, Schema } from "../src/data/types.js";
import { PREFIX, fromJSONAsync, type Estimator, type EstimatorJSON } from "./base.js";
import { RowBlocks } from "./kernels/to-rows.js";
// Side effects: register skein's estimator classes on the worker (the others carry their module URL).
import "./preprocessing.js";
import "./models.js";
import "./pipeline.js";
import "./compose.js";
import "./glm.js";

export type PostFitMethod = "predict" | "predictProba" | "transform";

export interface PostFitSpec {
  method: PostFitMethod;
  /** Feature columns of a Frame partition, in order; null when the partition is a Matrix. */
  features: readonly string[] | null;
  /** Input columns copied to the output first (row identity), with their own dtypes. */
  passthrough: readonly string[];
  /** The whole output schema: passthrough fields, then one field per model output column. */
  schema: Schema;
  /** Cache key of the model (the key it was scattered under). */
  modelKey: string;
  /** Partition number, for messages. */
  index: number;
}

// ------------------------------------------------------------------ model cache

const CACHE_SIZE = 4;
const cache = new Map<string, Promise<Estimator>>();

/** The estimator for `json`, rebuilt once per thread per key (least recently used of 4 dropped). */
export function cachedModel(key: string, json: EstimatorJSON): Promise<Estimator> {
  let est = cache.get(key);
  if (est) {
    cache.delete(key);
    cache.set(key, est);
    return est;
  }
  est = fromJSONAsync(json);
  est.catch(() => cache.delete(key));
  cache.set(key, est);
  while (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  return est;
}

// ------------------------------------------------------------------ applying a model

function featuresOf(part: FramePartition | Matrix, spec: { features: readonly string[] | null }, index: number): Matrix {
  if (spec.features === null) {
    const m = part as Matrix;
    if (!(m.data instanceof Float64Array)) throw new TypeError(`${PREFIX} ParallelPostFit: partition ${index} is not a Matrix`);
    return m;
  }
  const p = part as FramePartition;
  if (!(p.columns instanceof Map)) throw new TypeError(`${PREFIX} ParallelPostFit: partition ${index} is not a Frame partition`);
  return toMatrix({ rows: p.rows, columns: p.columns as Map<string, never> }, spec.features);
}

function rowsOfPart(part: FramePartition | Matrix): number {
  return (part as { rows: number }).rows;
}

/**
 * Rows per model call: about 1 MiB of features. Native runtimes pay a fixed cost per call
 * (onnxruntime's run went from 43 to 38 ns a row from 2,048- to 8,192-row blocks of 16 features);
 * the block still fits in a core's L2 cache.
 */
const BLOCK_BYTES = 1 << 20;

type NumericColumn = Exclude<Column, (string | null)[] | BigInt64Array | BigUint64Array>;

/**
 * Float64 outputs at least this big start in shared memory: a worker thread moves results of
 * 64 KiB and more there anyway (src/worker/values.ts), and allocating them there saves that copy.
 */
const SHARED_OUTPUT_BYTES = 64 * 1024;

/** Output columns of the declared dtypes, `rows` long. */
function allocOutputs(fields: Schema, rows: number): NumericColumn[] {
  return fields.map((f) => {
    if (f.dtype === "float64" && rows * 8 >= SHARED_OUTPUT_BYTES) return new Float64Array(new SharedArrayBuffer(rows * 8));
    const out = allocColumn(f.dtype, rows);
    if (Array.isArray(out) || out instanceof BigInt64Array || out instanceof BigUint64Array) {
      throw new TypeError(`${PREFIX} ParallelPostFit: output column "${f.name}" is declared ${f.dtype}; model outputs are numbers (float64, float32, int32 or bool)`);
    }
    return out;
  });
}

/** Scatters a row-major block (`rows` x `width`) into the output columns at row `at`. */
function storeBlock(values: Float64Array, rows: number, width: number, outs: NumericColumn[], at: number): void {
  if (width === 1) {
    outs[0].set(values.subarray(0, rows), at);
    return;
  }
  for (let j = 0; j < width; j++) {
    const o = outs[j];
    for (let i = 0, k = j; i < rows; i++, k += width) o[at + i] = values[k];
  }
}

/**
 * Rows [lo, hi) of the features as a row-major matrix: float64 columns by the wasm kernel when
 * they are in the scratch arena (`simd`), else in `buf`; other columns via toMatrix.
 */
function featureBlock(part: FramePartition | Matrix, spec: { features: readonly string[] | null }, f64: Float64Array[] | null, simd: RowBlocks | undefined, buf: Float64Array, lo: number, hi: number, index: number): Matrix {
  const n = hi - lo;
  if (spec.features === null) {
    const m = featuresOf(part, spec, index);
    return { rows: n, cols: m.cols, data: m.data.subarray(lo * m.cols, hi * m.cols) };
  }
  const p = spec.features.length;
  if (f64 === null) return featuresOf(slicePartition(part as FramePartition, lo, hi), spec, index);
  if (simd) return { rows: n, cols: p, data: simd.rows(lo, n) };
  const data = buf.subarray(0, n * p);
  // Four columns per pass over the block: a quarter of the strided passes (22 -> 13 ns a row
  // for 16 columns).
  let j = 0;
  for (; j + 4 <= p; j += 4) {
    const c0 = f64[j];
    const c1 = f64[j + 1];
    const c2 = f64[j + 2];
    const c3 = f64[j + 3];
    for (let i = 0, k = j; i < n; i++, k += p) {
      const r = lo + i;
      data[k] = c0[r];
      data[k + 1] = c1[r];
      data[k + 2] = c2[r];
      data[k + 3] = c3[r];
    }
  }
  for (; j < p; j++) {
    const c = f64[j];
    for (let i = 0, k = j; i < n; i++, k += p) data[k] = c[lo + i];
  }
  return { rows: n, cols: p, data };
}

/** The model's output for one block, row-major, with its width. */
function runBlock(est: Estimator, method: PostFitMethod, X: Matrix, index: number): { values: Float64Array; width: number } {
  if (method === "predict") {
    if (!est.predict) throw new TypeError(`${PREFIX} ParallelPostFit: ${est.estimatorType} has no predict()`);
    const values = est.predict(X);
    if (values.length !== X.rows) throw new RangeError(`${PREFIX} ParallelPostFit: ${est.estimatorType}.predict gave ${values.length} values for ${X.rows} rows (partition ${index})`);
    return { values, width: 1 };
  }
  const f = est[method];
  if (!f) throw new TypeError(`${PREFIX} ParallelPostFit: ${est.estimatorType} has no ${method}()`);
  const m = f.call(est, X);
  if (m.rows !== X.rows) throw new RangeError(`${PREFIX} ParallelPostFit: ${est.estimatorType}.${method} gave ${m.rows} rows for ${X.rows} (partition ${index})`);
  return { values: m.data, width: m.cols };
}

/**
 * `spec.method` of the model on one partition (a Frame partition or a Matrix), as a Frame
 * partition of `spec.schema`. Rows go through the model in blocks of about 256 KiB of features
 * (predictions of a row never depend on the other rows of a call), written straight into the
 * output columns. Empty partitions give an empty output without calling the model.
 */
export async function postFitPartition(part: FramePartition | Matrix, model: EstimatorJSON, spec: PostFitSpec): Promise<FramePartition> {
  const rows = rowsOfPart(part);
  const columns = new Map<string, Column>();
  if (spec.passthrough.length) {
    const cols = (part as FramePartition).columns;
    for (const name of spec.passthrough) {
      const c = cols.get(name);
      if (c === undefined) throw new RangeError(`${PREFIX} ParallelPostFit: partition ${spec.index} has no id column "${name}" (columns: ${[...cols.keys()].join(", ")})`);
      columns.set(name, c);
    }
  }
  const outFields = spec.schema.slice(spec.passthrough.length);
  const outs = allocOutputs(outFields, rows);
  outFields.forEach((f, j) => columns.set(f.name, outs[j]));
  if (rows === 0) return { rows: 0, columns };
  const est = await cachedModel(spec.modelKey, model);
  let f64: Float64Array[] | null = null;
  let p: number;
  if (spec.features !== null) {
    const cols = (part as FramePartition).columns;
    if (!(cols instanceof Map)) throw new TypeError(`${PREFIX} ParallelPostFit: partition ${spec.index} is not a Frame partition`);
    const arrays = spec.features.map((name) => cols.get(name));
    if (arrays.every((a): a is Float64Array => a instanceof Float64Array && a.length === rows)) f64 = arrays;
    p = spec.features.length;
  } else {
    p = featuresOf(part, spec, spec.index).cols;
  }
  // Float64 feature columns and outputs: the model may work on the columns as they are.
  if (f64 !== null && spec.method !== "transform" && est.predictColumns && outs.every((o): o is Float64Array => o instanceof Float64Array)) {
    if (est.predictColumns(spec.method, f64, 0, rows, outs)) return { rows, columns };
  }
  const block = Math.max(1, Math.floor(BLOCK_BYTES / (8 * Math.max(1, p))));
  const simd = f64 === null ? undefined : RowBlocks.open(f64, Math.min(block, rows));
  const buf = new Float64Array(simd ? 0 : Math.min(block, rows) * p);
  try {
    for (let lo = 0; lo < rows; lo += block) {
      const hi = Math.min(rows, lo + block);
      const { values, width } = runBlock(est, spec.method, featureBlock(part, spec, f64, simd, buf, lo, hi, spec.index), spec.index);
      if (width !== outs.length) {
        throw new RangeError(
          `${PREFIX} ParallelPostFit: ${spec.method} of partition ${spec.index} gave ${width} column(s), the output schema declares ${outs.length} (${outFields.map((f) => f.name).join(", ")})`,
        );
      }
      storeBlock(values, hi - lo, width, outs, lo);
    }
  } finally {
    simd?.close();
  }
  return { rows, columns };
}

/**
 * readParquet's partition task fused with postFitPartition: the rows read go straight into the
 * model, so the full-width partition is never stored as a task result (nor copied to shared
 * memory), and only the columns the model and the id columns need are decoded.
 */
export async function readPostFitPartition(read: ParquetPartSpec, model: EstimatorJSON, spec: PostFitSpec): Promise<FramePartition> {
  // The float columns read are scratch memory, given back once the outputs are computed; the
  // id columns the output keeps are copied out of it first.
  const part = await readParquetTask(read, true);
  try {
    for (const name of spec.passthrough) {
      const c = part.columns.get(name);
      if (c instanceof Float64Array) part.columns.set(name, c.slice());
    }
    return await postFitPartition(part, model, spec);
  } finally {
    releaseColumns(part);
  }
}

// ------------------------------------------------------------------ scoring

export interface ScoreSpec {
  features: readonly string[] | null;
  /** Target column of a Frame partition; null: the partition is an XYPartition. */
  target: string | null;
  predict: boolean;
  predictProba: boolean;
  modelKey: string;
  index: number;
}

export interface ScorePiece {
  y: Float64Array;
  predict: Float64Array | null;
  proba: Matrix | null;
}

/** What a scorer reads of one partition: y and the model's predictions / probabilities. */
export async function scorePartition(part: FramePartition | { X: Matrix; y: Float64Array }, model: EstimatorJSON, spec: ScoreSpec): Promise<ScorePiece> {
  let X: Matrix;
  let y: Float64Array;
  if (spec.target === null) {
    ({ X, y } = part as { X: Matrix; y: Float64Array });
  } else {
    const p = part as FramePartition;
    X = featuresOf(p, spec, spec.index);
    y = toMatrix({ rows: p.rows, columns: p.columns as Map<string, never> }, [spec.target]).data;
  }
  if (X.rows === 0) return { y, predict: spec.predict ? new Float64Array(0) : null, proba: null };
  const est = await cachedModel(spec.modelKey, model);
  return {
    y,
    predict: spec.predict ? est.predict!(X) : null,
    proba: spec.predictProba ? est.predictProba!(X) : null,
  };
}

// ------------------------------------------------------------------ incremental fit

export interface PartialFitSpec {
  /** Target column of a Frame partition; null: the partition is an XYPartition. */
  target: string | null;
  features: readonly string[] | null;
  index: number;
}

/** One step of an incremental fit: the model (as JSON) after partialFit on one partition. */
export async function partialFitPartition(model: EstimatorJSON, part: FramePartition | { X: Matrix; y: Float64Array }, spec: PartialFitSpec): Promise<EstimatorJSON> {
  const est = await fromJSONAsync(model);
  if (!est.partialFit) throw new TypeError(`${PREFIX} Incremental: ${est.estimatorType} has no partialFit()`);
  let X: Matrix;
  let y: Float64Array;
  if (spec.target === null) {
    ({ X, y } = part as { X: Matrix; y: Float64Array });
  } else {
    const p = part as FramePartition;
    X = featuresOf(p, spec, spec.index);
    y = toMatrix({ rows: p.rows, columns: p.columns as Map<string, never> }, [spec.target]).data;
  }
  if (X.rows === 0) return model;
  await est.partialFit(X, y);
  return est.toJSON();
}
