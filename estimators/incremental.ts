/**
 * Incremental (dask-ml's): `fit` streams the data through the wrapped estimator's `partialFit`,
 * one block at a time, in a shuffled order; prediction is ParallelPostFit's.
 *
 * - A local Matrix is cut into blocks of `chunkSize` rows, fitted here (this is also what runs
 *   inside GridSearchCV, whose tasks hold local matrices).
 * - A partitioned collection (XYCollection, a Frame with `{ target }`, or Futures of `{ X, y }`)
 *   stays on the workers: the fit is a chain of tasks, each running partialFit on one partition
 *   on the worker that holds it; the model (small) travels, the data does not.
 */
import type { Client } from "../src/client/client.js";
import { Future } from "../src/client/future.js";
import { resolveClient, task, type Part } from "../src/data/collection.js";
import { Frame } from "../src/data/frame.js";
import type { Matrix } from "../src/data/matrix.js";
import { XYCollection } from "../src/data/matrix-collection.js";
import { isNumeric } from "../src/data/partition.js";
import type { FramePartition, XYPartition } from "../src/data/types.js";
import { PREFIX, describeValue, fromJSONAsync, registerEstimator, validateParams, type ConstraintTable, type Estimator, type EstimatorJSON, type EstimatorTags, type FitOptions } from "./base.js";
import { ParallelPostFit, type ParallelPostFitParams } from "./parallel.js";
import { partialFitPartition, type PartialFitSpec } from "./parallel-tasks.js";
import { Rng } from "./split.js";

export interface IncrementalParams extends ParallelPostFitParams {
  /** Visit blocks in a random order (default true). */
  shuffle: boolean;
  /** Seed of the block order; null: a fresh order each fit. */
  randomState: number | null;
  /** Rows per block when fitting a local Matrix. */
  chunkSize: number;
}

export interface IncrementalFitOptions extends FitOptions {
  client?: Client;
  /** Target column when X is a Frame. */
  target?: string;
  /** Feature columns when X is a Frame (default: every numeric column but the target). */
  columns?: readonly string[];
}

/** What Incremental.fit accepts besides a local Matrix. */
export type IncrementalInput = XYCollection | Frame | readonly Future<XYPartition>[];

function isMatrix(v: unknown): v is Matrix {
  return typeof v === "object" && v !== null && (v as Matrix).data instanceof Float64Array && typeof (v as Matrix).rows === "number";
}

export class Incremental extends ParallelPostFit<IncrementalParams> {
  static override readonly estimatorName: string = "Incremental";

  constructor(estimator?: Estimator | Partial<IncrementalParams>, opts?: Partial<IncrementalParams>) {
    super(estimator, opts);
  }

  override defaults(): IncrementalParams {
    return { ...super.defaults(), shuffle: true, randomState: null, chunkSize: 1024 };
  }

  override constraints(): ConstraintTable {
    return {
      ...super.constraints(),
      shuffle: { type: "boolean" },
      randomState: [{ type: "null" }, { type: "number", integer: true }],
      chunkSize: { type: "number", min: 1, integer: true },
    };
  }

  override get tags(): EstimatorTags {
    return { ...super.tags, partialFit: true };
  }

  /** The order blocks are visited in. */
  blockOrder(n: number): Int32Array {
    const order = Int32Array.from({ length: n }, (_, i) => i);
    if (!this.params.shuffle) return order;
    const seed = this.params.randomState ?? Math.floor(Math.random() * 2 ** 32);
    return new Rng(seed).shuffle(order);
  }

  override async fit(X: Matrix | IncrementalInput, y?: Float64Array, opts: IncrementalFitOptions = {}): Promise<this> {
    validateParams(this.estimatorType, this.constraints(), this.params);
    const est = this.innerOrThrow().clone();
    if (!est.partialFit) throw new TypeError(`${PREFIX} Incremental: ${est.estimatorType} has no partialFit()`);
    this.state = null;
    this.resetModel();
    const fitted = isMatrix(X) ? await this.fitLocal(est, X, y, opts) : await this.fitPartitioned(est, X, y, opts);
    this.state = { estimator: fitted.toJSON() };
    return this;
  }

  private async fitLocal(est: Estimator, X: Matrix, y: Float64Array | undefined, opts: FitOptions): Promise<Estimator> {
    if (X.rows === 0) throw new RangeError(`${PREFIX} Incremental.fit: X has 0 rows`);
    const size = this.params.chunkSize;
    const nBlocks = Math.ceil(X.rows / size);
    const c = X.cols;
    for (const b of this.blockOrder(nBlocks)) {
      const lo = b * size;
      const hi = Math.min(X.rows, lo + size);
      const Xb: Matrix = { rows: hi - lo, cols: c, data: X.data.subarray(lo * c, hi * c) };
      const o: FitOptions = opts.sampleWeight ? { sampleWeight: opts.sampleWeight.subarray(lo, hi) } : {};
      await est.partialFit!(Xb, y?.subarray(lo, hi), o);
    }
    return est;
  }

  private async fitPartitioned(est: Estimator, X: IncrementalInput, y: Float64Array | undefined, opts: IncrementalFitOptions): Promise<Estimator> {
    if (y !== undefined) throw new TypeError(`${PREFIX} Incremental.fit: with a partitioned collection, y is part of each partition; pass no y`);
    let parts: readonly Part<FramePartition | XYPartition>[];
    let target: string | null = null;
    let features: string[] | null = null;
    if (X instanceof Frame) {
      if (!opts.target) throw new TypeError(`${PREFIX} Incremental.fit: a Frame needs { target }`);
      const t = opts.target;
      X.dtype(t);
      target = t;
      features = opts.columns ? [...opts.columns] : X.schema.filter((f) => isNumeric(f.dtype) && f.name !== t).map((f) => f.name);
      parts = X.parts;
    } else if (X instanceof XYCollection) {
      parts = X.parts;
    } else if (Array.isArray(X) && X.every((f) => f instanceof Future)) {
      parts = X as readonly Future<XYPartition>[];
    } else {
      throw new TypeError(`${PREFIX} Incremental.fit: X must be a Matrix, an XYCollection, a Frame or Futures of { X, y }, got ${describeValue(X)}`);
    }
    if (parts.length === 0) throw new RangeError(`${PREFIX} Incremental.fit: the collection has no partitions`);
    const client = resolveClient(opts.client);
    // A chain of tasks: model_{k+1} = partialFit(model_k, partition order[k]).
    let model: EstimatorJSON | Part<EstimatorJSON> = est.toJSON();
    for (const i of this.blockOrder(parts.length)) {
      const spec: PartialFitSpec = { target, features, index: i };
      model = task(partialFitPartition, model, parts[i], spec);
    }
    const [fut] = client.compute([model as Exclude<typeof model, EstimatorJSON>] as never[]) as Future<EstimatorJSON>[];
    try {
      return await fromJSONAsync(await fut.result());
    } finally {
      fut.release();
    }
  }

  /** One more block through the model fitted so far (a fresh clone of the estimator at first), here. */
  async partialFit(X: Matrix, y?: Float64Array, opts: FitOptions = {}): Promise<this> {
    validateParams(this.estimatorType, this.constraints(), this.params);
    const est = this.state !== null ? this.model("partialFit") : this.innerOrThrow().clone();
    if (!est.partialFit) throw new TypeError(`${PREFIX} Incremental: ${est.estimatorType} has no partialFit()`);
    await est.partialFit(X, y, opts);
    this.resetModel();
    this.state = { estimator: est.toJSON() };
    this.live = est;
    return this;
  }
}

registerEstimator(Incremental as unknown as Parameters<typeof registerEstimator>[0], import.meta.url);
