/**
 * XGBClassifier and XGBRegressor: XGBoost's scikit-learn wrapper (1.7) on skein's estimator
 * contract. Params use XGBoost's names in camelCase (snake_case is accepted too); fitting runs
 * the same training loop as Python's `xgboost.train`; the fitted state is plain data — the model
 * as UBJ bytes — so a fitted estimator travels to workers and saves with `toJSON`.
 */
import type { Client } from "../../src/client/client.js";
import type { Matrix } from "../../src/data/matrix.js";
import { BaseEstimator, PREFIX, registerEstimator, validateParams } from "../base.js";
import type { ConstraintTable, EstimatorTags, FitOptions, Params } from "../base.js";
import { Booster } from "./booster.js";
import type { ImportanceType } from "./booster.js";
import { DMatrix } from "./dmatrix.js";
import type { DMatrixOptions } from "./dmatrix.js";
import { distributedClasses, trainOnCluster } from "./dist.js";
import type { DistributedInput, DistributedTrainOptions, ParticipantReport } from "./dist.js";
import { XGB_CONSTRAINTS, boosterParams, normalizeKeys } from "./params.js";
import { train } from "./train.js";
import type { EvalsResult } from "./train.js";

export type { EvalsResult } from "./train.js";

/** XGBoost params in camelCase (`maxDepth`, `learningRate`, `regLambda`, ...) plus the wrapper's. */
export interface XGBParams extends Record<string, unknown> {
  /** Boosting rounds. Default 100. */
  nEstimators: number;
  objective: string;
  earlyStoppingRounds?: number;
  importanceType?: ImportanceType;
  /** Value treated as missing besides NaN. */
  missing?: number;
  maxDepth?: number;
  learningRate?: number;
  treeMethod?: "auto" | "exact" | "approx" | "hist";
  evalMetric?: string | string[];
  subsample?: number;
  colsampleBytree?: number;
  regAlpha?: number;
  regLambda?: number;
  minChildWeight?: number;
  randomState?: number;
  nJobs?: number;
}

export interface XGBFitOptions extends FitOptions {
  /** Eval sets `[X, y]`, named `validation_0`, `validation_1`, ... in `evalsResult()`. */
  evalSet?: readonly (readonly [Matrix, Float64Array])[];
  /** Continue from this fitted estimator's model (Python's xgb_model). */
  xgbModel?: XGBModelState;
  /** XGBRanker: query id per row (rows of a query contiguous, ids non-decreasing). */
  qid?: ArrayLike<number>;
  /** XGBRanker: query sizes in row order (instead of qid). */
  group?: ArrayLike<number>;
  /** XGBRanker: qid (or group sizes) of each eval set. */
  evalQid?: readonly ArrayLike<number>[];
  evalGroup?: readonly ArrayLike<number>[];
  /**
   * Distributed fit (X is a collection on the cluster): eval sets on the cluster, named
   * `validation_0`, ... as `evalSet` would be.
   */
  evalCollections?: readonly DistributedInput[];
  /** Distributed fit: the client (default: the most recently connected one). */
  client?: Client;
  /** Distributed fit: tracker and participant settings (join timeout, tracker host, ...). */
  distributed?: Pick<DistributedTrainOptions, "joinTimeoutMs" | "trackerHost" | "trackerPort" | "connectRetry" | "tcpNoDelay" | "log">;
}

function isMatrix(v: unknown): v is Matrix {
  return typeof v === "object" && v !== null && !Array.isArray(v) && (v as Matrix).data instanceof Float64Array && typeof (v as Matrix).rows === "number";
}

/** Fitted state: plain data only. */
export interface XGBModelState {
  /** The booster saved as UBJ. */
  model: Uint8Array;
  nFeatures: number;
  featureNames: string[] | null;
  /** Class labels, sorted (classifiers). */
  classes: Float64Array | null;
  evalsResult: EvalsResult;
  bestIteration: number | null;
  bestScore: number | null;
  /** Normalised importances per feature by `importanceType` (gain for trees, weight for gblinear). */
  featureImportances: Float64Array;
  /** Distributed fits: who trained on how many rows (absent for local fits). */
  participants?: ParticipantReport[];
}

abstract class XGBModel extends BaseEstimator<XGBParams, XGBModelState> {
  /** The loaded booster for the current state (not part of the plain state; rebuilt on demand). */
  private live: { state: XGBModelState; booster: Booster } | null = null;

  constructor(params: Partial<XGBParams> & Params = {}) {
    super(normalizeKeys(params) as Partial<XGBParams>);
  }

  constraints(): ConstraintTable {
    return XGB_CONSTRAINTS;
  }

  override setParams(params: Params): this {
    return super.setParams(normalizeKeys(params));
  }

  /**
   * Local (`X` a Matrix, `y` its labels) or distributed: `X` a collection held by the workers (an
   * XYCollection, a MatrixCollection with `{ data, label }`, or Futures of `{ X, y }`), no `y`.
   * Distributed training runs one participant per worker process holding rows (see dist.ts).
   */
  override async fit(X: Matrix | DistributedInput, y?: Float64Array, opts: XGBFitOptions = {}): Promise<this> {
    if (isMatrix(X)) return super.fit(X, y, opts);
    validateParams(this.estimatorType, this.constraints(), this.params);
    const name = `${PREFIX} ${this.estimatorType}.fit`;
    if (y !== undefined) throw new TypeError(`${name}: with a partitioned collection, y is part of each partition; pass no y`);
    if (opts.sampleWeight !== undefined) throw new TypeError(`${name}: with a partitioned collection, weights come from a weight column ({ data, label, weight })`);
    if (opts.evalSet !== undefined) throw new TypeError(`${name}: with a partitioned collection, give eval sets as evalCollections`);
    if (opts.qid !== undefined || opts.group !== undefined) throw new TypeError(`${name}: query ids are not supported for distributed fits`);
    const missing = this.params.missing;
    if (missing !== undefined && typeof missing !== "number") {
      throw new RangeError(`${PREFIX} ${this.estimatorType}: parameter "missing" must be a number (NaN allowed), got ${typeof missing}`);
    }
    const evals = opts.evalCollections ?? [];
    if (this.params.earlyStoppingRounds !== undefined && evals.length === 0) throw new Error(`${name}: earlyStoppingRounds needs evalCollections`);
    this.state = null;
    const classes = this.usesClasses() ? await distributedClasses(opts.client, X) : null;
    const extra = classes ? this.classParams(classes) : {};
    const res = await trainOnCluster(opts.client, { ...boosterParams(this.params), ...boosterParams(extra) }, X, {
      ...opts.distributed,
      numBoostRound: this.params.nEstimators,
      evals: evals.map((e, i) => [e, `validation_${i}`] as const),
      earlyStoppingRounds: this.params.earlyStoppingRounds,
      xgbModel: opts.xgbModel?.model,
      missing,
      classes: classes ? Array.from(classes) : undefined,
    });
    try {
      const nFeatures = res.booster.numFeatures();
      const names = featureNamesOf(X);
      const state: XGBModelState = {
        model: res.model,
        nFeatures,
        featureNames: names,
        classes,
        evalsResult: res.evalsResult,
        bestIteration: res.bestIteration ?? null,
        bestScore: res.bestScore ?? null,
        featureImportances: new Float64Array(0),
        participants: res.participants,
      };
      state.featureImportances = importances(res.booster, state, this.defaultImportance());
      this.live?.booster.free();
      this.live = null;
      this.state = state;
    } finally {
      res.booster.free();
    }
    return this;
  }

  /** Classifiers: labels are encoded by their sorted classes. */
  protected usesClasses(): boolean {
    return false;
  }

  /** Booster params implied by the classes (classifiers: multiclass objective, num_class). */
  protected classParams(_classes: Float64Array): Params {
    return {};
  }

  /** Encodes labels for XGBoost (classifiers map classes to 0..k-1). */
  protected abstract prepareLabels(y: Float64Array, evalSets: readonly (readonly [Matrix, Float64Array])[]): {
    label: Float32Array | Float64Array;
    evalLabels: (Float32Array | Float64Array)[];
    classes: Float64Array | null;
    extra: Params;
  };

  /** Extra DMatrix info for the training matrix and each eval set (the ranker's queries). */
  protected matrixInfo(_X: Matrix, _opts: XGBFitOptions): { train: DMatrixOptions; evals: DMatrixOptions[] } {
    return { train: {}, evals: [] };
  }

  protected fitState(X: Matrix, y: Float64Array | undefined, options: FitOptions): XGBModelState {
    const opts = options as XGBFitOptions;
    const missing = this.params.missing;
    if (missing !== undefined && typeof missing !== "number") {
      throw new RangeError(`${PREFIX} ${this.estimatorType}: parameter "missing" must be a number (NaN allowed), got ${typeof missing}`);
    }
    const evalSets = opts.evalSet ?? [];
    evalSets.forEach(([ex, ey], i) => {
      if (ex.cols !== X.cols) throw new RangeError(`${PREFIX} ${this.estimatorType}.fit: evalSet[${i}] has ${ex.cols} columns, X has ${X.cols}`);
      if (ey.length !== ex.rows) throw new RangeError(`${PREFIX} ${this.estimatorType}.fit: evalSet[${i}] has ${ey.length} labels for ${ex.rows} rows`);
    });
    if (this.params.earlyStoppingRounds !== undefined && evalSets.length === 0) {
      throw new Error(`${PREFIX} ${this.estimatorType}.fit: earlyStoppingRounds needs an evalSet`);
    }
    const { label, evalLabels, classes, extra } = this.prepareLabels(y!, evalSets);
    const params = { ...boosterParams(this.params), ...boosterParams(extra) };
    const names = X.columns ?? null;
    const mats: DMatrix[] = [];
    let booster: Booster | undefined;
    try {
      const info = this.matrixInfo(X, opts);
      const dtrain = DMatrix.create(X, { ...info.train, label, weight: opts.sampleWeight, missing });
      mats.push(dtrain);
      const evals: [DMatrix, string][] = evalSets.map(([ex, ey], i) => {
        // As Python's wrapper: the training data given again as an eval set reuses its matrix.
        if (ex === X && ey === y) return [dtrain, `validation_${i}`];
        const d = DMatrix.create({ rows: ex.rows, cols: ex.cols, data: ex.data, columns: names ?? undefined }, { ...info.evals[i], label: evalLabels[i], missing });
        mats.push(d);
        return [d, `validation_${i}`];
      });
      const res = train(params, dtrain, {
        numBoostRound: this.params.nEstimators,
        evals,
        earlyStoppingRounds: this.params.earlyStoppingRounds,
        xgbModel: opts.xgbModel?.model,
      });
      booster = res.booster;
      const model = booster.save("ubj");
      const state: XGBModelState = {
        model,
        nFeatures: X.cols,
        featureNames: names,
        classes,
        evalsResult: res.evalsResult,
        bestIteration: res.bestIteration ?? null,
        bestScore: res.bestScore ?? null,
        featureImportances: new Float64Array(0),
      };
      state.featureImportances = importances(booster, state, this.defaultImportance());
      // The training booster keeps training caches alive (Python returns bst.copy() for this
      // reason): prediction loads a fresh booster from the saved bytes on first use.
      this.live?.booster.free();
      this.live = null;
      return state;
    } finally {
      booster?.free();
      for (const m of mats) m.free();
    }
  }

  private defaultImportance(): ImportanceType {
    return this.params.importanceType ?? (this.params.booster === "gblinear" ? "weight" : "gain");
  }

  /** The native booster for the fitted state (loaded from the UBJ bytes once per state). */
  getBooster(): Booster {
    const s = this.fittedState("getBooster");
    if (this.live?.state !== s) {
      this.live?.booster.free();
      this.live = { state: s, booster: Booster.load(s.model) };
    }
    return this.live.booster;
  }

  /** Raw predictions (float32 from XGBoost) and their shape, honouring early stopping's best round. */
  protected rawPredict(method: string, X: Matrix, outputMargin = false): { values: Float32Array; shape: number[] } {
    const s = this.fittedState(method);
    this.checkPredictInput(method, X, s.nFeatures);
    const booster = this.getBooster();
    const d = DMatrix.create(X, { missing: this.params.missing, featureNames: s.featureNames ?? undefined });
    try {
      return booster.predict(d, { outputMargin, iterationEnd: s.bestIteration === null ? 0 : s.bestIteration + 1 });
    } finally {
      d.free();
    }
  }

  /** Margins (untransformed scores): n values, or n x groups row-major for multiclass. */
  predictMargin(X: Matrix): Float64Array {
    return Float64Array.from(this.rawPredict("predictMargin", X, true).values);
  }

  /** Per eval set (`validation_0`, ...) and metric, one value per round. */
  evalsResult(): EvalsResult {
    return this.fittedState("evalsResult").evalsResult;
  }

  get bestIteration(): number | null {
    return this.fittedState("bestIteration").bestIteration;
  }

  get bestScore(): number | null {
    return this.fittedState("bestScore").bestScore;
  }

  /** Distributed fits: each participant's worker, rank and rows; undefined after a local fit. */
  get participants(): ParticipantReport[] | undefined {
    return this.fittedState("participants").participants;
  }

  /** Normalised importances (sum 1, or all 0), one per feature, by `importanceType`. */
  get featureImportances(): Float64Array {
    return this.fittedState("featureImportances").featureImportances;
  }

  /** Python's `Booster.get_score`: importance by feature name, features used in a split only. */
  getScore(importanceType: ImportanceType = "weight"): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, v] of this.getBooster().featureScore(importanceType)) out[k] = typeof v === "number" ? v : v.reduce((a, b) => a + b, 0);
    return out;
  }
}

/** Feature names of a distributed input: the collection's (minus label / weight columns), else null. */
function featureNamesOf(X: DistributedInput): string[] | null {
  const src = "data" in X && !Array.isArray(X) ? (X as { data: unknown; label?: string; weight?: string }) : { data: X };
  const d = src.data as { features?: readonly string[]; columns?: readonly string[] };
  if (d.features) return [...d.features];
  if (d.columns) return d.columns.filter((c) => c !== (src as { label?: string }).label && c !== (src as { weight?: string }).weight);
  return null;
}

function importances(booster: Booster, s: XGBModelState, type: ImportanceType): Float64Array {
  const scores = booster.featureScore(type);
  const out = new Float64Array(s.nFeatures);
  let total = 0;
  for (let j = 0; j < s.nFeatures; j++) {
    const v = scores.get(s.featureNames ? s.featureNames[j] : `f${j}`);
    const x = v === undefined ? 0 : typeof v === "number" ? v : v.reduce((a, b) => a + b, 0);
    out[j] = x;
    total += x;
  }
  if (total > 0) for (let j = 0; j < out.length; j++) out[j] /= total;
  return out;
}

/** Gradient-boosted trees for classification: binary (`binary:logistic`) or multiclass (`multi:softprob`). */
export class XGBClassifier extends XGBModel {
  static override readonly estimatorName = "XGBClassifier";
  readonly tags: EstimatorTags = { classifier: true, sampleWeight: true, allowNaN: true };

  defaults(): XGBParams {
    return { nEstimators: 100, objective: "binary:logistic" };
  }

  protected prepareLabels(y: Float64Array, evalSets: readonly (readonly [Matrix, Float64Array])[]) {
    const classes = Float64Array.from(new Set(y)).sort();
    const extra = this.classParams(classes);
    const index = new Map<number, number>();
    classes.forEach((c, i) => index.set(c, i));
    const encode = (v: Float64Array, what: string): Float32Array => {
      const out = new Float32Array(v.length);
      for (let i = 0; i < v.length; i++) {
        const k = index.get(v[i]);
        if (k === undefined) throw new RangeError(`${PREFIX} XGBClassifier.fit: ${what} has label ${v[i]} at row ${i}, not among the classes of y (${classes.join(", ")})`);
        out[i] = k;
      }
      return out;
    };
    return {
      label: encode(y, "y"),
      evalLabels: evalSets.map(([, ey], i) => encode(ey, `evalSet[${i}] y`)),
      classes,
      extra,
    };
  }

  protected override usesClasses(): boolean {
    return true;
  }

  protected override classParams(classes: Float64Array): Params {
    if (classes.length < 2) {
      throw new RangeError(`${PREFIX} XGBClassifier.fit: y has ${classes.length} class (${classes.join(", ")}); at least 2 are needed`);
    }
    const extra: Params = {};
    if (classes.length > 2) {
      // Python's wrapper: multiclass switches to softprob (softmax is kept) and sets num_class.
      if (this.params.objective !== "multi:softmax") extra.objective = "multi:softprob";
      extra.numClass = classes.length;
    }
    return extra;
  }

  classes(): Float64Array {
    return this.fittedState("classes").classes!;
  }

  /** Class probabilities: rows x nClasses (binary: [1 - p, p]). */
  predictProba(X: Matrix): Matrix {
    const s = this.fittedState("predictProba");
    const { values } = this.rawPredict("predictProba", X);
    const k = s.classes!.length;
    const n = X.rows;
    const data = new Float64Array(n * k);
    if (k === 2 && values.length === n) {
      for (let i = 0; i < n; i++) {
        data[2 * i] = 1 - values[i];
        data[2 * i + 1] = values[i];
      }
    } else if (values.length === n * k) {
      for (let i = 0; i < data.length; i++) data[i] = values[i];
    } else {
      throw new Error(`${PREFIX} XGBClassifier.predictProba: objective "${this.params.objective}" gives ${values.length / n} value(s) per row, not probabilities for ${k} classes`);
    }
    return { rows: n, cols: k, data };
  }

  predict(X: Matrix): Float64Array {
    const s = this.fittedState("predict");
    const classes = s.classes!;
    const { values } = this.rawPredict("predict", X);
    const n = X.rows;
    const k = classes.length;
    const out = new Float64Array(n);
    if (values.length === n) {
      // binary: probability > 0.5; multi:softmax: the class index itself.
      for (let i = 0; i < n; i++) out[i] = k === 2 ? classes[values[i] > 0.5 ? 1 : 0] : classes[values[i]];
      return out;
    }
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let c = 1; c < k; c++) if (values[i * k + c] > values[i * k + best]) best = c;
      out[i] = classes[best];
    }
    return out;
  }
}

/** Gradient-boosted trees for regression (`reg:squarederror` by default; `count:poisson`, `reg:tweedie`, ...). */
export class XGBRegressor extends XGBModel {
  static override readonly estimatorName = "XGBRegressor";
  readonly tags: EstimatorTags = { regressor: true, sampleWeight: true, allowNaN: true };

  defaults(): XGBParams {
    return { nEstimators: 100, objective: "reg:squarederror" };
  }

  protected prepareLabels(y: Float64Array, evalSets: readonly (readonly [Matrix, Float64Array])[]) {
    return { label: y, evalLabels: evalSets.map(([, ey]) => ey), classes: null, extra: {} };
  }

  predict(X: Matrix): Float64Array {
    return Float64Array.from(this.rawPredict("predict", X).values);
  }
}

/** Query ids / sizes as a Uint32Array, checked: non-negative integers below 2^32. */
function toU32(what: string, v: ArrayLike<number>): Uint32Array {
  if (v instanceof Uint32Array) return v;
  const out = new Uint32Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (!Number.isInteger(x) || x < 0 || x > 0xffffffff) throw new RangeError(`${PREFIX} XGBRanker.fit: ${what} has ${x} at ${i}; expected a non-negative integer`);
    out[i] = x;
  }
  return out;
}

/**
 * Learning to rank (`rank:pairwise` by default; `rank:ndcg`, `rank:map`). Queries come from
 * `fit`'s `qid` (per row) or `group` (sizes); without either, all rows are one query. `predict`
 * gives ranking scores; `score` is the mean NDCG over queries (all rows one query).
 */
export class XGBRanker extends XGBModel {
  static override readonly estimatorName = "XGBRanker";
  readonly tags: EstimatorTags = { requiresY: true, allowNaN: true };

  defaults(): XGBParams {
    return { nEstimators: 100, objective: "rank:pairwise" };
  }

  override fit(X: Matrix, y?: Float64Array, opts: XGBFitOptions = {}): Promise<this> {
    if (typeof this.params.objective !== "string" || !this.params.objective.startsWith("rank:")) {
      return Promise.reject(new RangeError(`${PREFIX} XGBRanker: objective must be a ranking objective (rank:pairwise, rank:ndcg, rank:map), got ${JSON.stringify(this.params.objective)}`));
    }
    if (opts.sampleWeight) return Promise.reject(new TypeError(`${PREFIX} XGBRanker.fit: sampleWeight is not supported (XGBoost weighs ranking per query)`));
    return super.fit(X, y, opts);
  }

  protected prepareLabels(y: Float64Array, evalSets: readonly (readonly [Matrix, Float64Array])[]) {
    return { label: y, evalLabels: evalSets.map(([, ey]) => ey), classes: null, extra: {} };
  }

  protected override matrixInfo(X: Matrix, opts: XGBFitOptions): { train: DMatrixOptions; evals: DMatrixOptions[] } {
    const one = (rows: number, qid?: ArrayLike<number>, group?: ArrayLike<number>, what = ""): DMatrixOptions => {
      if (qid && group) throw new TypeError(`${PREFIX} XGBRanker.fit: give ${what}qid or ${what}group, not both`);
      if (qid) return { qid: toU32(`${what}qid`, qid) };
      return { group: group ? toU32(`${what}group`, group) : Uint32Array.of(rows) };
    };
    const sets = opts.evalSet ?? [];
    return {
      train: one(X.rows, opts.qid, opts.group),
      evals: sets.map(([ex], i) => one(ex.rows, opts.evalQid?.[i], opts.evalGroup?.[i], `evalQid/evalGroup[${i}]: `)),
    };
  }

  /** Ranking scores (higher ranks first within a query). */
  predict(X: Matrix): Float64Array {
    return Float64Array.from(this.rawPredict("predict", X).values);
  }

  /** Mean NDCG (gain 2^rel - 1, log2 discount) over the queries given by `qid`; all rows one query without it. */
  override score(X: Matrix, y?: Float64Array, qid?: ArrayLike<number>): number {
    if (!y) throw new TypeError(`${PREFIX} XGBRanker.score: y is required`);
    return meanNdcg(this.predict(X), y, qid);
  }
}

/** Mean NDCG over contiguous queries; a query with no relevant item counts as 1 (as XGBoost's ndcg). */
export function meanNdcg(scores: ArrayLike<number>, rel: ArrayLike<number>, qid?: ArrayLike<number>): number {
  const n = scores.length;
  let total = 0;
  let queries = 0;
  for (let start = 0; start < n; ) {
    let end = start + 1;
    if (qid) while (end < n && qid[end] === qid[start]) end++;
    else end = n;
    const idx = Array.from({ length: end - start }, (_, k) => start + k);
    const dcg = (order: number[]) => order.reduce((s, r, k) => s + (2 ** rel[r] - 1) / Math.log2(k + 2), 0);
    const ideal = dcg([...idx].sort((a, b) => rel[b] - rel[a]));
    total += ideal === 0 ? 1 : dcg([...idx].sort((a, b) => scores[b] - scores[a] || a - b)) / ideal;
    queries++;
    start = end;
  }
  return queries ? total / queries : NaN;
}

registerEstimator(XGBClassifier, import.meta.url);
registerEstimator(XGBRanker, import.meta.url);
registerEstimator(XGBRegressor, import.meta.url);
