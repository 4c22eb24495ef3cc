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
import { allocColumn } from "../src/data/partition.js";
import type { Column, FramePartition, Schema } from "../src/data/types.js";
import { PREFIX, fromJSONAsync, type Estimator, type EstimatorJSON } from "./base.js";
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

/** One output column from column j of a row-major block, in the field's dtype. */
function outputColumn(values: Float64Array, rows: number, cols: number, j: number, dtype: string, name: string): Column {
  const out = allocColumn(dtype as never, rows);
  if (Array.isArray(out) || out instanceof BigInt64Array || out instanceof BigUint64Array) {
    throw new TypeError(`${PREFIX} ParallelPostFit: output column "${name}" is declared ${dtype}; model outputs are numbers (float64, float32, int32 or bool)`);
  }
  if (cols === 1) {
    (out as Float64Array).set(values.subarray(0, rows));
    return out;
  }
  for (let i = 0, k = j; i < rows; i++, k += cols) out[i] = values[k];
  return out;
}

/**
 * `spec.method` of the model on one partition (a Frame partition or a Matrix), as a Frame
 * partition of `spec.schema`. Empty partitions give an empty output without calling the model.
 */
export async function postFitPartition(part: FramePartition | Matrix, model: EstimatorJSON, spec: PostFitSpec): Promise<FramePartition> {
  const rows = rowsOfPart(part);
  const columns = new Map<string, Column>();
  const nOut = spec.schema.length - spec.passthrough.length;
  if (spec.passthrough.length) {
    const cols = (part as FramePartition).columns;
    for (const name of spec.passthrough) {
      const c = cols.get(name);
      if (c === undefined) throw new RangeError(`${PREFIX} ParallelPostFit: partition ${spec.index} has no id column "${name}" (columns: ${[...cols.keys()].join(", ")})`);
      columns.set(name, c);
    }
  }
  const outFields = spec.schema.slice(spec.passthrough.length);
  if (rows === 0) {
    for (const f of outFields) columns.set(f.name, allocColumn(f.dtype, 0));
    return { rows: 0, columns };
  }
  const est = await cachedModel(spec.modelKey, model);
  const X = featuresOf(part, spec, spec.index);
  let values: Float64Array;
  let width: number;
  if (spec.method === "predict") {
    if (!est.predict) throw new TypeError(`${PREFIX} ParallelPostFit: ${est.estimatorType} has no predict()`);
    values = est.predict(X);
    width = 1;
    if (values.length !== rows) throw new RangeError(`${PREFIX} ParallelPostFit: ${est.estimatorType}.predict gave ${values.length} values for ${rows} rows (partition ${spec.index})`);
  } else {
    const f = est[spec.method];
    if (!f) throw new TypeError(`${PREFIX} ParallelPostFit: ${est.estimatorType} has no ${spec.method}()`);
    const m = f.call(est, X);
    if (m.rows !== rows) throw new RangeError(`${PREFIX} ParallelPostFit: ${est.estimatorType}.${spec.method} gave ${m.rows} rows for ${rows} (partition ${spec.index})`);
    values = m.data;
    width = m.cols;
  }
  if (width !== nOut) {
    throw new RangeError(
      `${PREFIX} ParallelPostFit: ${spec.method} of partition ${spec.index} gave ${width} column(s), the output schema declares ${nOut} (${outFields.map((f) => f.name).join(", ")})`,
    );
  }
  outFields.forEach((f, j) => columns.set(f.name, outputColumn(values, rows, width, j, f.dtype, f.name)));
  return { rows, columns };
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
