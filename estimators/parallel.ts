/**
 * ParallelPostFit (dask-ml's): fit as the wrapped estimator does; predict / predictProba /
 * transform / score on a partitioned collection run per partition on the workers.
 *
 * - The fitted model is scattered once per client (broadcast to every worker) and tasks name it
 *   by key; a worker thread rebuilds it once per key (parallel-tasks.ts `cachedModel`).
 * - Outputs are lazy Frames with a declared schema: id columns of the input first (row
 *   identity), then the model's outputs ("prediction"; "proba_<label>" per class;
 *   "t0".. for transform) unless `outputSchema` says otherwise. Empty partitions give empty
 *   outputs. `writeParquet(await ppf.predict(frame), dir)` writes the results from the workers.
 * - A partition that is still readParquet's own task is read inside the prediction task, with
 *   only the columns the model and the id columns need (no full-width partition is stored).
 * - On a local Matrix every method is the wrapped estimator's, so ParallelPostFit passes the
 *   conformance suite and works inside GridSearchCV and Pipeline.
 */
import type { Client } from "../src/client/client.js";
import type { Future } from "../src/client/future.js";
import { resolveClient, task, type Part } from "../src/data/collection.js";
import { Frame, checkSchema } from "../src/data/frame.js";
import { concatRows, type Matrix } from "../src/data/matrix.js";
import { MatrixCollection, XYCollection } from "../src/data/matrix-collection.js";
import { readParquetTask, type ParquetPartSpec } from "../src/data/parquet-tasks.js";
import { isNumeric } from "../src/data/partition.js";
import type { Field, FramePartition, Schema, XYPartition } from "../src/data/types.js";
import { locateFunction } from "../src/functions/locate.js";
import { Delayed } from "../src/graph/delayed.js";
import {
  BaseEstimator,
  NotFittedError,
  PREFIX,
  describeValue,
  fromJSON,
  isEstimator,
  registerEstimator,
  validateParams,
  type ConstraintTable,
  type Estimator,
  type EstimatorJSON,
  type EstimatorTags,
  type FitOptions,
  type Params,
} from "./base.js";
import { getScorer } from "./metrics.js";
import { postFitPartition, readPostFitPartition, scorePartition, type PostFitMethod, type PostFitSpec, type ScorePiece, type ScoreSpec } from "./parallel-tasks.js";

export interface ParallelPostFitParams extends Record<string, unknown> {
  estimator: Estimator | null;
  /** Scorer name (see SCORERS) for `score`; null: the estimator's own score. */
  scoring: string | null;
  /** Output columns of predict / predictProba / transform (id columns not included); null: derived. */
  outputSchema: Field[] | null;
}

/** Options of the collection forms of predict / predictProba / transform. */
export interface PostFitOptions {
  client?: Client;
  /** Feature columns of a Frame, in the order the model was fitted on. Default: every numeric column but the id columns. */
  columns?: readonly string[];
  /** Input column(s) copied to the output first, so rows keep their identity. */
  idColumn?: string | readonly string[];
  /** Output columns (overrides the `outputSchema` param for this call). */
  outputSchema?: Schema;
}

/** Options of the collection form of score. */
export interface PostFitScoreOptions {
  client?: Client;
  /** The target column of a Frame (an XYCollection carries its own y). */
  target?: string;
  /** Feature columns of a Frame. Default: every numeric column but the target. */
  columns?: readonly string[];
}

export type PostFitInput = Frame | MatrixCollection;

interface PostFitState {
  estimator: EstimatorJSON;
}

const OUTPUT_DTYPES: ReadonlySet<string> = new Set(["float64", "float32", "int32", "bool"]);

function isMatrix(v: unknown): v is Matrix {
  return typeof v === "object" && v !== null && (v as Matrix).data instanceof Float64Array && typeof (v as Matrix).rows === "number";
}

function splitArgs(a: Estimator | Partial<ParallelPostFitParams> | undefined, b: Partial<ParallelPostFitParams> | undefined): Partial<ParallelPostFitParams> {
  if (isEstimator(a)) return { ...(b ?? {}), estimator: a };
  return { ...(a ?? {}), ...(b ?? {}) };
}

export class ParallelPostFit<P extends ParallelPostFitParams = ParallelPostFitParams> extends BaseEstimator<P, PostFitState> {
  static override readonly estimatorName: string = "ParallelPostFit";
  /** The fitted estimator rebuilt from the state (or the one just fitted). */
  protected live: Estimator | null = null;
  /** The model scattered to each client's workers, until the model changes. */
  private shipped = new WeakMap<Client, Promise<Future<EstimatorJSON>>>();

  /** `new ParallelPostFit(estimator, { scoring })` or `new ParallelPostFit({ estimator, scoring })`. */
  constructor(estimator?: Estimator | Partial<P>, opts?: Partial<P>) {
    super(splitArgs(estimator as Estimator | Partial<ParallelPostFitParams>, opts) as Partial<P>);
    this.syncMethods();
  }

  /**
   * predict / predictProba / transform exist on this instance only when the wrapped estimator
   * has them, as the contract's optional methods (a wrapped scaler has no predict).
   */
  private syncMethods(): void {
    const e = this.params.estimator;
    for (const m of ["predict", "predictProba", "transform"] as const) {
      if (isEstimator(e) && typeof e[m] !== "function") Object.defineProperty(this, m, { value: undefined, configurable: true, writable: true });
      else delete (this as Record<string, unknown>)[m];
    }
  }

  defaults(): P {
    return { estimator: null, scoring: null, outputSchema: null } as P;
  }

  constraints(): ConstraintTable {
    return {
      estimator: { type: "estimator" },
      scoring: [{ type: "null" }, { type: "string" }],
      outputSchema: [{ type: "null" }, { type: "array" }],
    };
  }

  get tags(): EstimatorTags {
    const e = this.params.estimator;
    return isEstimator(e) ? { ...e.tags } : {};
  }

  override get fitted(): boolean {
    return this.state !== null || (isEstimator(this.params.estimator) && this.params.estimator.fitted);
  }

  protected innerOrThrow(): Estimator {
    const e = this.params.estimator;
    if (!isEstimator(e)) throw new TypeError(`${PREFIX} ${this.estimatorType}: parameter "estimator" must be an estimator, got ${describeValue(e)}`);
    return e;
  }

  protected resetModel(): void {
    this.live = null;
    this.shipped = new WeakMap();
  }

  /** Fits a clone of the wrapped estimator: on a Matrix, or on whatever partitioned input it accepts (GLMs: XYCollection). */
  override async fit(X: Matrix | unknown, y?: Float64Array, opts: FitOptions & { client?: Client } = {}): Promise<this> {
    validateParams(this.estimatorType, this.constraints(), this.params);
    const est = this.innerOrThrow().clone();
    this.state = null;
    this.resetModel();
    await (est.fit as (X: unknown, y?: Float64Array, o?: object) => Promise<Estimator>).call(est, X, y, opts);
    this.state = { estimator: est.toJSON() };
    this.live = est;
    return this;
  }

  protected async fitState(X: Matrix, y: Float64Array | undefined, opts: FitOptions): Promise<PostFitState> {
    const est = this.innerOrThrow().clone();
    await est.fit(X, y, opts);
    this.live = est;
    return { estimator: est.toJSON() };
  }

  override loadState(state: unknown): void {
    super.loadState(state);
    this.resetModel();
  }

  override setParams(params: Params): this {
    super.setParams(params);
    this.resetModel();
    this.syncMethods();
    return this;
  }

  /** The fitted estimator: the one fitted here, else the wrapped one when it was given fitted. */
  model(method = "model"): Estimator {
    if (this.state !== null) return (this.live ??= fromJSON(this.state.estimator));
    const e = this.params.estimator;
    if (isEstimator(e) && e.fitted) return e;
    throw new NotFittedError(`${PREFIX} ${this.estimatorType} is not fitted yet: call fit before ${method}() (or wrap a fitted estimator)`);
  }

  classes(): Float64Array {
    const m = this.model("classes");
    if (!m.classes) throw new TypeError(`${PREFIX} ${this.estimatorType}: ${m.estimatorType} has no classes()`);
    return m.classes();
  }

  // ---------------------------------------------------------------- local or partitioned

  predict(X: Matrix): Float64Array;
  predict(X: PostFitInput, opts?: PostFitOptions): Promise<Frame>;
  predict(X: Matrix | PostFitInput, opts: PostFitOptions = {}): Float64Array | Promise<Frame> {
    return this.apply("predict", X, opts) as Float64Array | Promise<Frame>;
  }

  predictProba(X: Matrix): Matrix;
  predictProba(X: PostFitInput, opts?: PostFitOptions): Promise<Frame>;
  predictProba(X: Matrix | PostFitInput, opts: PostFitOptions = {}): Matrix | Promise<Frame> {
    return this.apply("predictProba", X, opts) as Matrix | Promise<Frame>;
  }

  transform(X: Matrix): Matrix;
  transform(X: PostFitInput, opts?: PostFitOptions): Promise<Frame>;
  transform(X: Matrix | PostFitInput, opts: PostFitOptions = {}): Matrix | Promise<Frame> {
    return this.apply("transform", X, opts) as Matrix | Promise<Frame>;
  }

  private apply(method: PostFitMethod, X: Matrix | PostFitInput, opts: PostFitOptions): Float64Array | Matrix | Promise<Frame> {
    const m = this.model(method);
    const f = m[method];
    if (!f) throw new TypeError(`${PREFIX} ${this.estimatorType}: ${m.estimatorType} has no ${method}()`);
    if (isMatrix(X)) return (f as (X: Matrix) => Float64Array | Matrix).call(m, X);
    return this.applyPartitioned(method, X, opts);
  }

  override score(X: Matrix, y?: Float64Array): number;
  override score(X: Frame | XYCollection, opts?: PostFitScoreOptions): Promise<number>;
  override score(X: Matrix | Frame | XYCollection, y?: Float64Array | PostFitScoreOptions): number | Promise<number> {
    const m = this.model("score");
    if (isMatrix(X)) {
      const yy = y as Float64Array | undefined;
      if (this.params.scoring === null) return m.score(X, yy);
      if (!yy) throw new TypeError(`${PREFIX} ${this.estimatorType}.score: y is required`);
      return getScorer(this.params.scoring)(m, X, yy);
    }
    return this.scorePartitioned(m, X, (y ?? {}) as PostFitScoreOptions);
  }

  // ---------------------------------------------------------------- on the cluster

  /** The fitted model's Future on `client` (scattered to every worker on first use). */
  async scatterModel(client?: Client): Promise<Future<EstimatorJSON>> {
    const c = resolveClient(client);
    let f = this.shipped.get(c);
    if (!f) {
      f = c.scatter(this.model("scatterModel").toJSON(), { broadcast: true });
      f.catch(() => this.shipped.delete(c));
      this.shipped.set(c, f);
    }
    return f;
  }

  /** The output schema of `method` for `nFeatures` inputs (id columns not included). */
  outputSchemaFor(method: PostFitMethod, nFeatures: number, override?: Schema): Schema {
    const given = override ?? this.params.outputSchema;
    if (given) {
      checkSchema(given);
      for (const f of given) {
        if (!OUTPUT_DTYPES.has(f.dtype)) {
          throw new TypeError(`${PREFIX} ${this.estimatorType}.${method}: output column "${f.name}" is declared ${f.dtype}; model outputs are numbers (float64, float32, int32 or bool)`);
        }
      }
      return given;
    }
    const m = this.model(method);
    if (method === "predict") return [{ name: "prediction", dtype: "float64" }];
    if (method === "predictProba" && m.classes) {
      let classes: Float64Array | null = null;
      try {
        classes = m.classes();
      } catch {
        // No labels known (an ONNX model without metadata, say): fall through to the probe.
      }
      if (classes) return Array.from(classes, (c) => ({ name: `proba_${c}`, dtype: "float64" as const }));
    }
    // No declared width: ask the model on one row of zeros (transformers, models without classes()).
    let width: number;
    try {
      const probe = (m[method] as (X: Matrix) => Matrix).call(m, { rows: 1, cols: nFeatures, data: new Float64Array(nFeatures) });
      width = probe.cols;
    } catch (err) {
      throw new TypeError(
        `${PREFIX} ${this.estimatorType}.${method}: cannot tell how many columns ${m.estimatorType}.${method} gives (${err instanceof Error ? err.message : String(err)}); pass outputSchema`,
      );
    }
    const prefix = method === "predictProba" ? "proba_" : "t";
    return Array.from({ length: width }, (_, j) => ({ name: `${prefix}${j}`, dtype: "float64" as const }));
  }

  private async applyPartitioned(method: PostFitMethod, X: PostFitInput, opts: PostFitOptions): Promise<Frame> {
    const ids = opts.idColumn === undefined ? [] : typeof opts.idColumn === "string" ? [opts.idColumn] : [...opts.idColumn];
    let features: string[] | null;
    let passthrough: Field[] = [];
    if (X instanceof Frame) {
      for (const id of ids) X.dtype(id);
      passthrough = ids.map((name) => ({ name, dtype: X.dtype(name) }));
      features = opts.columns ? [...opts.columns] : X.schema.filter((f) => isNumeric(f.dtype) && !ids.includes(f.name)).map((f) => f.name);
      for (const c of features) if (!isNumeric(X.dtype(c))) throw new TypeError(`${PREFIX} ${this.estimatorType}.${method}: feature column "${c}" holds strings, not numbers`);
    } else if (X instanceof MatrixCollection) {
      if (ids.length) throw new TypeError(`${PREFIX} ${this.estimatorType}.${method}: idColumn needs a Frame input; a MatrixCollection has no columns to pass through`);
      if (opts.columns) throw new TypeError(`${PREFIX} ${this.estimatorType}.${method}: columns needs a Frame input`);
      features = null;
    } else {
      throw new TypeError(`${PREFIX} ${this.estimatorType}.${method}: X must be a Matrix, a Frame or a MatrixCollection, got ${describeValue(X)}`);
    }
    const nFeatures = features === null ? (X as MatrixCollection).columns.length : features.length;
    const out = this.outputSchemaFor(method, nFeatures, opts.outputSchema);
    const schema: Schema = [...passthrough, ...out];
    checkSchema(schema);
    const client = resolveClient(opts.client);
    const model = await this.scatterModel(client);
    const base = { method, features, passthrough: ids, schema, modelKey: model.key };
    const needed = features === null ? null : new Set([...ids, ...features]);
    const parts: Part<FramePartition>[] = X.parts.map((p, index) => {
      const spec: PostFitSpec = { ...base, index };
      const read = needed === null ? null : readSpecOf(p, needed);
      return read ? task(readPostFitPartition, read, model, spec) : task(postFitPartition, p, model, spec);
    });
    return new Frame(parts, X.rows, schema);
  }

  private async scorePartitioned(m: Estimator, X: Frame | XYCollection, opts: PostFitScoreOptions): Promise<number> {
    const scoring = this.params.scoring;
    let target: string | null = null;
    let features: string[] | null = null;
    if (X instanceof Frame) {
      if (!opts.target) throw new TypeError(`${PREFIX} ${this.estimatorType}.score: a Frame needs { target }`);
      target = opts.target;
      X.dtype(target);
      features = opts.columns ? [...opts.columns] : X.schema.filter((f) => isNumeric(f.dtype) && f.name !== target).map((f) => f.name);
    } else if (!(X instanceof XYCollection)) {
      throw new TypeError(`${PREFIX} ${this.estimatorType}.score: X must be a Matrix, a Frame or an XYCollection, got ${describeValue(X)}`);
    }
    // Which outputs the scorer reads: proba for roc_auc / neg_log_loss, predictions otherwise.
    const wantsProba = scoring === "roc_auc" || scoring === "neg_log_loss";
    const client = resolveClient(opts.client);
    if (scoring === null) {
      // The estimator's own score is not decomposable in general: bring X and y here (as dask-ml).
      const xy = X instanceof Frame ? await X.splitXY(target!, features!).compute({ client }) : await (X as XYCollection).compute({ client });
      return m.score(xy.X, xy.y);
    }
    const scorer = getScorer(scoring);
    const model = await this.scatterModel(client);
    const parts = (X.parts as readonly Part<FramePartition | XYPartition>[]).map((p, index) =>
      task(scorePartition, p, model, { features, target, predict: !wantsProba, predictProba: wantsProba, modelKey: model.key, index } satisfies ScoreSpec),
    );
    const futures = parts.length ? client.compute(parts) : [];
    let pieces: ScorePiece[];
    try {
      pieces = await client.gather(futures);
    } finally {
      for (const f of futures) f.release();
    }
    return scorer(recorded(m, pieces), { rows: 0, cols: 0, data: new Float64Array(0) }, concatVectors(pieces.map((p) => p.y)));
  }
}

let readRef: { module: string; name: string } | undefined;

/**
 * The read spec of a partition that is still readParquet's own task (not run, no inputs), with
 * the columns narrowed to `needed` (plus those its row filter reads): such a partition is read
 * inside the prediction task. Anything else (persisted, filtered, mapped) gives null.
 */
function readSpecOf(p: Part<FramePartition | Matrix>, needed: ReadonlySet<string>): ParquetPartSpec | null {
  if (!(p instanceof Delayed) || p.dependencies.length !== 0 || p.external.size !== 0) return null;
  readRef ??= locateFunction(readParquetTask);
  const fn = p.task.fn;
  if (!fn || fn.module !== readRef.module || fn.name !== readRef.name || p.task.args.length !== 1) return null;
  const spec = p.task.args[0] as ParquetPartSpec;
  if (spec === null || typeof spec !== "object" || !Array.isArray(spec.read) || !Array.isArray(spec.schema)) return null;
  const filtered = new Set(spec.clauses.flatMap((c) => c.map((t) => t[0])));
  return {
    ...spec,
    read: spec.read.filter((c) => needed.has(c) || filtered.has(c)),
    schema: spec.schema.filter((f) => needed.has(f.name)),
  };
}

function concatVectors(vs: readonly Float64Array[]): Float64Array {
  let n = 0;
  for (const v of vs) n += v.length;
  const out = new Float64Array(n);
  let at = 0;
  for (const v of vs) {
    out.set(v, at);
    at += v.length;
  }
  return out;
}

/**
 * A stand-in for the model whose predict / predictProba return what the workers computed, so
 * that a scorer (which calls them on X) runs unchanged on the gathered outputs.
 */
function recorded(m: Estimator, pieces: readonly ScorePiece[]): Estimator {
  const pred = pieces.every((p) => p.predict !== null) ? concatVectors(pieces.map((p) => p.predict!)) : null;
  const probaParts = pieces.map((p) => p.proba).filter((p): p is Matrix => p !== null && p.rows > 0);
  const proba = probaParts.length ? concatRows(probaParts) : null;
  const stub = Object.create(m) as Estimator;
  Object.defineProperties(stub, {
    predict: { value: () => pred ?? new Float64Array(0) },
    predictProba: { value: () => proba ?? { rows: 0, cols: m.classes ? m.classes().length : 0, data: new Float64Array(0) } },
  });
  return stub;
}

registerEstimator(ParallelPostFit as unknown as Parameters<typeof registerEstimator>[0], import.meta.url);
