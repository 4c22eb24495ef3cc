/**
 * GLM estimators with scikit-learn's conventions: LogisticRegression (binary, multinomial,
 * one-vs-rest), LinearRegression (none / Ridge / Lasso / ElasticNet through `penalty` + `alpha`)
 * and PoissonRegression, fitted by skein/solvers.
 *
 * `fit` takes a local Matrix + Float64Array (in-process: LocalProblem, no cluster involved) or a
 * partitioned collection that stays on the workers: an XYCollection (`frame.splitXY(target)`),
 * or Futures of `{ X, y, w? }` partitions (`client.scatterMany(parts)`); those run through
 * DistributedProblem on `{ client }` or the default client. Sample weights of a distributed fit
 * travel inside the partitions (`w`).
 *
 * Objectives (skein's F = C * sum_i w_i loss_i + R(B), intercepts unpenalised; see
 * solvers/types.ts and solvers/sklearn.ts `fromSklearn`):
 *   LogisticRegression(C, penalty, l1Ratio): exactly scikit-learn's (C scales the data term).
 *   LinearRegression(penalty, alpha, l1Ratio): "none" = sklearn LinearRegression; "l2" = Ridge(alpha)
 *     (C = 1/alpha); "l1" = Lasso(alpha) (C = 1/(n alpha)); "elasticnet" = ElasticNet(alpha, l1Ratio).
 *   PoissonRegression(alpha, penalty): "l2" = sklearn PoissonRegressor(alpha) (C = 1/(n alpha));
 *     alpha = 0 or penalty "none": unpenalised; "l1" / "elasticnet": alpha * R with the same 1/n.
 * `tol` is the solvers' measure: max-norm of the (sub)gradient of F / max(C * sum(w), 1), the
 * measure scikit-learn's lbfgs applies to its mean-scaled objective.
 */
import { Client } from "../src/client/client.js";
import type { Future } from "../src/client/future.js";
import type { Matrix } from "../src/data/matrix.js";
import { getDefaultComputer } from "../src/graph/delayed.js";
import { DistributedProblem, type PartitionSource } from "../solvers/distributed.js";
import { LocalProblem } from "../solvers/problem.js";
import { fromSklearn } from "../solvers/sklearn.js";
import { solve } from "../solvers/solve.js";
import type { FamilyName, KernelSpec, Partition, PartitionedProblem, PenaltyName, SolverName, SolverResult } from "../solvers/types.js";
import { BaseEstimator, PREFIX, registerEstimator, validateParams, type ConstraintTable, type EstimatorTags, type FitOptions } from "./base.js";
import { logisticColumns, regressorColumns } from "./glm-columns.js";
import { classIndex, encodePartition, encodePartitionTask, partitionClassCounts, partitionLabels } from "./glm-tasks.js";

export type GlmSolverName = "auto" | SolverName;

/** What `fit` accepts besides a local Matrix. */
export type DistributedInput = readonly Future<Partition>[] | PartitionSource;

export interface GlmFitOptions extends FitOptions {
  /** Client for a distributed input; default the most recently connected one. */
  client?: Client;
}

interface CommonParams extends Record<string, unknown> {
  penalty: PenaltyName;
  l1Ratio: number | null;
  fitIntercept: boolean;
  solver: GlmSolverName;
  tol: number;
  maxIter: number;
  warmStart: boolean;
}

export interface LogisticRegressionParams extends CommonParams {
  C: number;
  /** "balanced" (n / (K * count_k)), a map label -> weight, or null. */
  classWeight: "balanced" | Record<string, number> | null;
  /** "auto": binary for 2 classes, multinomial for more. */
  multiClass: "auto" | "multinomial" | "ovr";
}

export interface LinearRegressionParams extends CommonParams {
  alpha: number;
}

export interface PoissonRegressionParams extends CommonParams {
  alpha: number;
}

const SOLVERS: readonly GlmSolverName[] = ["auto", "lbfgs", "newton", "admm", "admmAsync", "proximalGradient", "gradientDescent"];

function commonConstraints(): ConstraintTable {
  return {
    penalty: { type: "enum", values: ["l2", "l1", "elasticnet", "none"] },
    l1Ratio: [{ type: "null" }, { type: "number", min: 0, max: 1 }],
    fitIntercept: { type: "boolean" },
    solver: { type: "enum", values: SOLVERS },
    tol: { type: "number", min: 0, minExclusive: true },
    maxIter: { type: "number", min: 1, integer: true },
    warmStart: { type: "boolean" },
  };
}

function commonDefaults(): CommonParams {
  return { penalty: "l2", l1Ratio: null, fitIntercept: true, solver: "auto", tol: 1e-4, maxIter: 100, warmStart: false };
}

function isMatrix(v: unknown): v is Matrix {
  return typeof v === "object" && v !== null && !Array.isArray(v) && (v as Matrix).data instanceof Float64Array;
}

// ------------------------------------------------------------------ data sources

/** One row-partitioned data set, local or on the cluster, seen the way the estimators need. */
interface Source {
  labels(): Promise<Float64Array>;
  classCounts(classes: Float64Array): Promise<Float64Array>;
  /** A problem over the data re-encoded for one fit (encode null: y and w as they are). */
  problem(spec: KernelSpec, encode: Encoding | null): Promise<{ problem: PartitionedProblem; dispose: () => void }>;
}

interface Encoding {
  classes: Float64Array;
  /** Class index of the positive class, or -1 for class indices (multinomial). */
  positive: number;
  classWeights: Float64Array | null;
}

class LocalSource implements Source {
  constructor(
    private readonly X: Matrix,
    private readonly y: Float64Array,
    private readonly w: Float64Array | undefined,
  ) {}
  async labels(): Promise<Float64Array> {
    return partitionLabels({ y: this.y });
  }
  async classCounts(classes: Float64Array): Promise<Float64Array> {
    return partitionClassCounts({ y: this.y }, classes);
  }
  async problem(spec: KernelSpec, encode: Encoding | null): Promise<{ problem: PartitionedProblem; dispose: () => void }> {
    let part: Partition = this.w === undefined ? { X: this.X, y: this.y } : { X: this.X, y: this.y, w: this.w };
    if (encode !== null) part = encodePartition(part, encode.classes, encode.positive, encode.classWeights, 0);
    return { problem: new LocalProblem([part], spec), dispose: () => {} };
  }
}

class ClusterSource implements Source {
  constructor(
    private readonly client: Client,
    private readonly parts: readonly Future<Partition>[],
  ) {}
  async labels(): Promise<Float64Array> {
    const fs = this.client.map(partitionLabels, this.parts);
    try {
      const all = await this.client.gather(fs);
      const set = new Set<number>();
      for (const a of all) for (const v of a) set.add(v);
      return Float64Array.from(set).sort();
    } finally {
      for (const f of fs) f.release();
    }
  }
  async classCounts(classes: Float64Array): Promise<Float64Array> {
    const fs = this.client.map(partitionClassCounts, this.parts, this.parts.map(() => classes));
    try {
      const out = new Float64Array(classes.length);
      for (const c of await this.client.gather(fs)) for (let k = 0; k < c.length; k++) out[k] += c[k];
      return out;
    } finally {
      for (const f of fs) f.release();
    }
  }
  async problem(spec: KernelSpec, encode: Encoding | null): Promise<{ problem: PartitionedProblem; dispose: () => void }> {
    if (encode === null) return { problem: await DistributedProblem.create(this.parts, spec, { client: this.client }), dispose: () => {} };
    const n = this.parts.length;
    const encoded = this.client.map(
      encodePartitionTask,
      this.parts,
      Array.from({ length: n }, (_, i) => ({ classes: encode.classes, positive: encode.positive, classWeights: encode.classWeights, index: i })),
    );
    const dispose = (): void => {
      for (const f of encoded) f.release();
    };
    try {
      return { problem: await DistributedProblem.create(encoded, spec, { client: this.client }), dispose };
    } catch (err) {
      dispose();
      throw err;
    }
  }
}

function clusterSource(input: DistributedInput, client: Client | undefined): ClusterSource {
  const c = client ?? getDefaultComputer();
  if (!(c instanceof Client) || c.closed) {
    throw new TypeError(`${PREFIX} fitting on a partitioned collection needs a connected client: call Client.connect() first or pass { client }`);
  }
  const parts = Array.isArray(input) ? (input as readonly Future<Partition>[]) : (input as PartitionSource).toFutures({ client: c });
  return new ClusterSource(c, parts);
}

// ------------------------------------------------------------------ shared base

interface SolveSettings {
  penalty: PenaltyName;
  C: number;
  l1Ratio?: number;
}

/** Fitted state common to the GLMs (plain data: it travels and saves as JSON). */
interface GlmState {
  nFeatures: number;
  nIter: number;
  /** F at the solution (per fit; summed over one-vs-rest fits). */
  objective: number;
  converged: boolean;
  /** theta of each fit, for warm starts (one for OvR per class). */
  thetas: Float64Array[];
}

abstract class GlmBase<P extends CommonParams, S extends GlmState> extends BaseEstimator<P, S> {
  /** The state before the current fit started (warm starts). */
  private previous: S | null = null;

  /** Local Matrix + y (in process), or a partitioned collection on the cluster. */
  override async fit(X: Matrix | DistributedInput, y?: Float64Array, opts: GlmFitOptions = {}): Promise<this> {
    this.previous = this.state;
    if (isMatrix(X)) {
      await super.fit(X, y, opts);
      return this;
    }
    validateParams(this.estimatorType, this.constraints(), this.params);
    if (y !== undefined) throw new TypeError(`${PREFIX} ${this.estimatorType}.fit: with a partitioned collection, y is part of each partition; pass no y`);
    if (opts.sampleWeight !== undefined) {
      throw new TypeError(`${PREFIX} ${this.estimatorType}.fit: with a partitioned collection, sample weights go in each partition's w`);
    }
    this.state = null;
    this.state = await this.fitSource(clusterSource(X, opts.client));
    return this;
  }

  protected fitState(X: Matrix, y: Float64Array | undefined, opts: FitOptions): Promise<S> {
    return this.fitSource(new LocalSource(X, y!, opts.sampleWeight));
  }

  protected abstract fitSource(src: Source): Promise<S>;

  /** The warm start for fit number `i` when warmStart is on and the shapes agree. */
  protected warmTheta(i: number, d: number): Float64Array | undefined {
    if (!this.params.warmStart || this.previous === null) return undefined;
    const t = this.previous.thetas[i];
    return t !== undefined && t.length === d ? t : undefined;
  }

  protected async runSolver(problem: PartitionedProblem, s: SolveSettings, x0: Float64Array | undefined): Promise<SolverResult> {
    const opts = {
      solver: this.params.solver,
      penalty: s.penalty,
      C: s.C,
      tol: this.params.tol,
      maxIter: this.params.maxIter,
      ...(s.l1Ratio !== undefined ? { l1Ratio: s.l1Ratio } : {}),
      ...(x0 !== undefined ? { x0 } : {}),
    };
    return solve(problem, opts);
  }

  protected l1RatioOf(): number {
    return this.params.l1Ratio ?? 0.5;
  }

  get nIter(): number {
    return this.fittedState("nIter").nIter;
  }

  /** F at the solution (skein's objective; see the module comment). */
  get objective(): number {
    return this.fittedState("objective").objective;
  }

  get converged(): boolean {
    return this.fittedState("converged").converged;
  }
}


/** eta = X coef^T + intercept for `rows` output rows of coef (rows x p, row-major). */
function linearPredictor(X: Matrix, coef: Float64Array, intercept: Float64Array, rows: number): Float64Array {
  const n = X.rows;
  const p = X.cols;
  const x = X.data;
  const out = new Float64Array(n * rows);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < rows; k++) {
      let s = intercept[k];
      const o = k * p;
      for (let j = 0; j < p; j++) s += x[i * p + j] * coef[o + j];
      out[i * rows + k] = s;
    }
  }
  return out;
}

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

// ------------------------------------------------------------------ LogisticRegression

interface LogisticState extends GlmState {
  classes: Float64Array;
  /** rows x nFeatures, row-major: 1 row for binary, one per class otherwise (scikit-learn's coef_). */
  coef: Float64Array;
  intercept: Float64Array;
  mode: "binary" | "multinomial" | "ovr";
}

/**
 * scikit-learn's LogisticRegression: minimises C * sum_i w_i logloss_i + R(coef), intercept
 * unpenalised. Two classes: one coefficient row for classes()[1]. More: multinomial (softmax,
 * one row per class) unless multiClass is "ovr" (one binary fit per class; probabilities are the
 * per-class sigmoids normalised to sum 1, as scikit-learn's OvR).
 */
export class LogisticRegression extends GlmBase<LogisticRegressionParams, LogisticState> {
  static override readonly estimatorName: string = "LogisticRegression";
  readonly tags: EstimatorTags = { classifier: true, sampleWeight: true };

  defaults(): LogisticRegressionParams {
    return { ...commonDefaults(), C: 1, classWeight: null, multiClass: "auto" };
  }

  constraints(): ConstraintTable {
    return {
      ...commonConstraints(),
      C: { type: "number", min: 0, minExclusive: true },
      classWeight: [{ type: "null" }, { type: "enum", values: ["balanced"] }, { type: "any" }],
      multiClass: { type: "enum", values: ["auto", "multinomial", "ovr"] },
    };
  }

  private settings(): SolveSettings {
    const penalty = this.params.penalty;
    return { penalty, C: penalty === "none" ? 1 : this.params.C, ...(penalty === "elasticnet" ? { l1Ratio: this.l1RatioOf() } : {}) };
  }

  private async classWeights(src: Source, classes: Float64Array): Promise<Float64Array | null> {
    const cw = this.params.classWeight;
    if (cw === null) return null;
    const K = classes.length;
    if (cw === "balanced") {
      const counts = await src.classCounts(classes);
      let n = 0;
      for (const c of counts) n += c;
      return counts.map((c) => n / (K * c));
    }
    if (typeof cw !== "object") throw new RangeError(`${PREFIX} LogisticRegression: classWeight must be null, "balanced" or a map label -> weight`);
    const out = new Float64Array(K).fill(1);
    for (const [label, weight] of Object.entries(cw)) {
      const k = classIndex(classes, Number(label));
      if (k < 0) throw new RangeError(`${PREFIX} LogisticRegression: classWeight names label ${label}, not among the classes ${Array.from(classes).join(", ")}`);
      if (!(typeof weight === "number" && weight >= 0 && weight < Infinity)) {
        throw new RangeError(`${PREFIX} LogisticRegression: classWeight for label ${label} must be a finite number >= 0, got ${String(weight)}`);
      }
      out[k] = weight;
    }
    return out;
  }

  protected async fitSource(src: Source): Promise<LogisticState> {
    const classes = await src.labels();
    const K = classes.length;
    if (K < 2) throw new RangeError(`${PREFIX} LogisticRegression.fit: y has ${K} class; at least 2 are needed`);
    const classWeights = await this.classWeights(src, classes);
    const mode = K === 2 ? "binary" : this.params.multiClass === "ovr" ? "ovr" : "multinomial";
    const fi = this.params.fitIntercept;
    const s = this.settings();
    const fits: { res: SolverResult; p: number }[] = [];
    const targets = mode === "binary" ? [1] : mode === "ovr" ? Array.from({ length: K }, (_, k) => k) : [-1];
    for (let t = 0; t < targets.length; t++) {
      const spec: KernelSpec = targets[t] < 0 ? { family: "multinomial", fitIntercept: fi, nClasses: K } : { family: "logistic", fitIntercept: fi };
      const { problem, dispose } = await src.problem(spec, { classes, positive: targets[t], classWeights });
      try {
        const d = (problem.p + (fi ? 1 : 0)) * (targets[t] < 0 ? K : 1);
        fits.push({ res: await this.runSolver(problem, s, this.warmTheta(t, d)), p: problem.p });
      } finally {
        dispose();
      }
    }
    const p = fits[0].p;
    const rows = mode === "binary" ? 1 : K;
    const coef = new Float64Array(rows * p);
    const intercept = new Float64Array(rows);
    if (mode === "multinomial") {
      // beta is p x K row-major; scikit-learn's coef_ is K x p.
      const { beta, intercept: b } = fits[0].res;
      for (let k = 0; k < K; k++) {
        for (let j = 0; j < p; j++) coef[k * p + j] = beta[j * K + k];
        intercept[k] = b[k];
      }
    } else {
      fits.forEach(({ res }, r) => {
        coef.set(res.beta.subarray(0, p), r * p);
        intercept[r] = res.intercept[0];
      });
    }
    return {
      classes,
      coef,
      intercept,
      mode,
      nFeatures: p,
      nIter: Math.max(...fits.map((f) => f.res.nIter)),
      objective: fits.reduce((a, f) => a + f.res.objective, 0),
      converged: fits.every((f) => f.res.converged),
      thetas: fits.map((f) => f.res.theta),
    };
  }

  classes(): Float64Array {
    return this.fittedState("classes").classes;
  }

  /** scikit-learn's coef_: (1 or nClasses) x nFeatures, row-major. */
  get coef(): Float64Array {
    return this.fittedState("coef").coef;
  }

  /** scikit-learn's intercept_: 1 or nClasses values. */
  get intercept(): Float64Array {
    return this.fittedState("intercept").intercept;
  }

  /** Rows of coef (1 for binary). */
  get nCoefRows(): number {
    return this.fittedState("nCoefRows").intercept.length;
  }

  /** Scores: n values (binary, for classes()[1]) or n x nClasses row-major. */
  decisionFunction(X: Matrix): Float64Array {
    const s = this.fittedState("decisionFunction");
    this.checkPredictInput("decisionFunction", X, s.nFeatures);
    return linearPredictor(X, s.coef, s.intercept, s.intercept.length);
  }

  /** n x nClasses probabilities, columns in classes() order. */
  predictProba(X: Matrix): Matrix {
    const s = this.fittedState("predictProba");
    this.checkPredictInput("predictProba", X, s.nFeatures);
    const K = s.classes.length;
    const n = X.rows;
    const rows = s.intercept.length;
    const eta = linearPredictor(X, s.coef, s.intercept, rows);
    const out = new Float64Array(n * K);
    for (let i = 0; i < n; i++) {
      const o = i * K;
      if (s.mode === "binary") {
        const p1 = sigmoid(eta[i]);
        out[o] = 1 - p1;
        out[o + 1] = p1;
      } else if (s.mode === "ovr") {
        let sum = 0;
        for (let k = 0; k < K; k++) sum += out[o + k] = sigmoid(eta[o + k]);
        for (let k = 0; k < K; k++) out[o + k] /= sum;
      } else {
        let m = -Infinity;
        for (let k = 0; k < K; k++) m = Math.max(m, eta[o + k]);
        let sum = 0;
        for (let k = 0; k < K; k++) sum += out[o + k] = Math.exp(eta[o + k] - m);
        for (let k = 0; k < K; k++) out[o + k] /= sum;
      }
    }
    return { rows: n, cols: K, data: out };
  }

  predictColumns(method: "predict" | "predictProba", features: readonly Float64Array[], lo: number, hi: number, outs: readonly Float64Array[]): boolean {
    return logisticColumns(this.estimatorType, this.fittedState(method), method, features, lo, hi, outs);
  }

  predict(X: Matrix): Float64Array {
    const s = this.fittedState("predict");
    this.checkPredictInput("predict", X, s.nFeatures);
    const rows = s.intercept.length;
    const eta = linearPredictor(X, s.coef, s.intercept, rows);
    const out = new Float64Array(X.rows);
    for (let i = 0; i < X.rows; i++) {
      if (rows === 1) {
        out[i] = s.classes[eta[i] > 0 ? 1 : 0];
        continue;
      }
      let best = 0;
      for (let k = 1; k < rows; k++) if (eta[i * rows + k] > eta[i * rows + best]) best = k;
      out[i] = s.classes[best];
    }
    return out;
  }
}

// ------------------------------------------------------------------ regressors

interface RegressorState extends GlmState {
  coef: Float64Array;
  intercept: number;
}

abstract class GlmRegressor<P extends CommonParams & { alpha: number }> extends GlmBase<P, RegressorState> {
  readonly tags: EstimatorTags = { regressor: true, sampleWeight: true };
  protected abstract readonly family: FamilyName;
  protected abstract settings(sumWeights: number): SolveSettings;

  protected async fitSource(src: Source): Promise<RegressorState> {
    const fi = this.params.fitIntercept;
    const { problem, dispose } = await src.problem({ family: this.family, fitIntercept: fi }, null);
    try {
      const d = problem.p + (fi ? 1 : 0);
      const res = await this.runSolver(problem, this.settings(problem.sumWeights), this.warmTheta(0, d));
      return {
        coef: res.beta.slice(0, problem.p),
        intercept: fi ? res.intercept[0] : 0,
        nFeatures: problem.p,
        nIter: res.nIter,
        objective: res.objective,
        converged: res.converged,
        thetas: [res.theta],
      };
    } finally {
      dispose();
    }
  }

  /** scikit-learn's coef_ (nFeatures values). */
  get coef(): Float64Array {
    return this.fittedState("coef").coef;
  }

  get intercept(): number {
    return this.fittedState("intercept").intercept;
  }

  /** The linear predictor X coef + intercept. */
  decisionFunction(X: Matrix): Float64Array {
    const s = this.fittedState("decisionFunction");
    this.checkPredictInput("decisionFunction", X, s.nFeatures);
    return linearPredictor(X, s.coef, Float64Array.of(s.intercept), 1);
  }

  predictColumns(method: "predict" | "predictProba", features: readonly Float64Array[], lo: number, hi: number, outs: readonly Float64Array[]): boolean {
    if (method !== "predict" || outs.length !== 1) return false;
    const s = this.fittedState(method);
    regressorColumns(this.estimatorType, s.coef, s.intercept, this.family === "poisson" ? "exp" : "identity", features, lo, hi, outs[0]);
    return true;
  }
}

/**
 * Least squares: penalty "none" (default) is scikit-learn's LinearRegression; "l2" Ridge(alpha),
 * "l1" Lasso(alpha), "elasticnet" ElasticNet(alpha, l1Ratio), with their scalings (fromSklearn).
 */
export class LinearRegression extends GlmRegressor<LinearRegressionParams> {
  static override readonly estimatorName: string = "LinearRegression";
  protected readonly family: FamilyName = "normal";

  defaults(): LinearRegressionParams {
    return { ...commonDefaults(), penalty: "none", alpha: 1 };
  }

  constraints(): ConstraintTable {
    return { ...commonConstraints(), alpha: { type: "number", min: 0 } };
  }

  protected settings(sumWeights: number): SolveSettings {
    const { penalty, alpha } = this.params;
    if (penalty === "none" || alpha === 0) return { penalty: "none", C: 1 };
    const m =
      penalty === "l2"
        ? fromSklearn({ model: "Ridge", alpha }, sumWeights)
        : penalty === "l1"
          ? fromSklearn({ model: "Lasso", alpha }, sumWeights)
          : fromSklearn({ model: "ElasticNet", alpha, l1Ratio: this.l1RatioOf() }, sumWeights);
    return { penalty: m.penalty, C: m.C, ...(m.l1Ratio !== undefined ? { l1Ratio: m.l1Ratio } : {}) };
  }

  predict(X: Matrix): Float64Array {
    return this.decisionFunction(X);
  }
}

/**
 * Poisson regression with a log link: scikit-learn's PoissonRegressor(alpha) for penalty "l2"
 * (default); predict gives exp(X coef + intercept); score is D^2, the fraction of Poisson
 * deviance explained (as scikit-learn's).
 */
export class PoissonRegression extends GlmRegressor<PoissonRegressionParams> {
  static override readonly estimatorName: string = "PoissonRegression";
  protected readonly family: FamilyName = "poisson";

  defaults(): PoissonRegressionParams {
    return { ...commonDefaults(), alpha: 1 };
  }

  constraints(): ConstraintTable {
    return { ...commonConstraints(), alpha: { type: "number", min: 0 } };
  }

  protected settings(sumWeights: number): SolveSettings {
    const { penalty, alpha } = this.params;
    if (penalty === "none" || alpha === 0) return { penalty: "none", C: 1 };
    if (penalty === "l2") {
      const m = fromSklearn({ model: "PoissonRegressor", alpha }, sumWeights);
      return { penalty: m.penalty, C: m.C };
    }
    // Same scaling as the l2 case: 1/n sum loss + alpha R  ->  C = 1 / (n alpha).
    return { penalty, C: 1 / (sumWeights * alpha), ...(penalty === "elasticnet" ? { l1Ratio: this.l1RatioOf() } : {}) };
  }

  predict(X: Matrix): Float64Array {
    const eta = this.decisionFunction(X);
    for (let i = 0; i < eta.length; i++) eta[i] = Math.exp(eta[i]);
    return eta;
  }

  /** D^2: 1 - deviance(y, predict(X)) / deviance(y, mean(y)). */
  override score(X: Matrix, y?: Float64Array): number {
    if (!y) throw new TypeError(`${PREFIX} PoissonRegression.score: y is required`);
    const mu = this.predict(X);
    let mean = 0;
    for (let i = 0; i < y.length; i++) mean += y[i];
    mean /= y.length;
    let dev = 0;
    let dev0 = 0;
    for (let i = 0; i < y.length; i++) {
      const yi = y[i];
      const t = yi > 0 ? yi * Math.log(yi) : 0;
      dev += t - yi * Math.log(mu[i]) - yi + mu[i];
      dev0 += t - yi * Math.log(mean) - yi + mean;
    }
    return dev0 === 0 ? (dev === 0 ? 1 : 0) : 1 - dev / dev0;
  }
}

for (const cls of [LogisticRegression, LinearRegression, PoissonRegression]) registerEstimator(cls, import.meta.url);
