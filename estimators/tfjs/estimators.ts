/**
 * KerasClassifier / KerasRegressor: scikit-learn estimators around a TensorFlow.js model built
 * by a factory (scikeras' design). `fit` takes a local Matrix + y (trained in this process) or a
 * partitioned collection on the cluster (an XYCollection, or Futures of { X, y } partitions),
 * trained by synchronous data-parallel SGD (distributed.ts) with the data left on the workers.
 * Both see the same batches (batches.ts), so they train the same model up to float rounding.
 *
 * Fitted state is plain data: the factory's reference, the architecture config, the weights and
 * the optimizer's slots as Float32Arrays. `partialFit` runs one more epoch from that state
 * (weights and optimizer), so halving searches can use epochs as the resource.
 *
 * This module awaits the wasm backend at the top level: once it is imported (workers import it
 * through the estimator registry), predict is synchronous.
 */
import type { Client } from "../../src/client/client.js";
import type { Matrix } from "../../src/data/matrix.js";
import type { FnRef } from "../../src/graph/spec.js";
import {
  BaseEstimator,
  PREFIX,
  checkXY,
  paramsToJSON,
  registerEstimator,
  registeredModule,
  validateParams,
  type ConstraintTable,
  type EstimatorJSON,
  type EstimatorTags,
  type FitOptions,
  type Params,
} from "../base.js";
import { TF_PREFIX, tf, tfReady } from "./backend.js";
import { trainDataParallel, type DataParallelResult } from "./distributed.js";
import { buildSeeded, isFnRef, loadFactory, modelRef, verifiedModelRef, type ModelFactoryArgs, type ModelSpec } from "./model-ref.js";
import { modelFromTopology, setWeights, topologyOf, trainableVariables, weightsOf, type Topology, type WeightsData } from "./model-state.js";
import { OPTIMIZERS, makeOptimizer, optimizerState, setOptimizerState, type OptimizerName, type OptimizerStateData } from "./optimizer.js";
import { clusterSource, isLocalParts, isMatrix, localPartsSource, matrixSource, type KerasDistributedInput, type Source } from "./sources.js";
import { uniqueSorted } from "./targets.js";
import { LOSSES, type LossKind } from "./train-step.js";
import { trainLocal } from "./trainer.js";

await tfReady();

export interface KerasParams extends Record<string, unknown> {
  /** The model factory: an exported function `(args) => tf.LayersModel`, or its { module, name }. */
  model: ModelSpec | null;
  /** Passed to the factory (with nFeatures, nOutputs, nClasses, randomState); `model__x` sets one. */
  modelParams: Record<string, unknown>;
  epochs: number;
  /** Rows per step over all partitions. */
  batchSize: number;
  optimizer: OptimizerName;
  learningRate: number;
  /** Momentum of the "momentum" and "rmsprop" optimizers. */
  momentum: number;
  /** "auto": categorical (softmax output) or binary (one sigmoid column) cross-entropy; mse for regressors. */
  loss: "auto" | LossKind;
  shuffle: boolean;
  /** Seeds the initial weights and the shuffles. */
  randomState: number;
  /** fit continues from the current weights (and optimizer) instead of starting afresh. */
  warmStart: boolean;
}

export interface KerasState {
  /** The factory the model came from (null when it was a function no worker could load). */
  factory: FnRef | null;
  topology: Topology;
  weights: WeightsData;
  optimizer: OptimizerStateData;
  loss: LossKind;
  nFeatures: number;
  nOutputs: number;
  /** Sorted labels (classifiers), else null. */
  classes: Float64Array | null;
  epochsTrained: number;
  /** Mean training loss of every epoch so far. */
  history: number[];
}

export interface KerasFitOptions extends FitOptions {
  /** Client for a distributed input; default the most recently connected one. */
  client?: Client;
}

// Cached prediction models are freed with their estimator (tfjs memory is not garbage collected).
interface ModelCache {
  model: tf.LayersModel | null;
  state: KerasState | null;
}
const finalizer = new FinalizationRegistry<ModelCache>((box) => box.model?.dispose());

abstract class KerasBase extends BaseEstimator<KerasParams, KerasState> {
  /** Details of the last data-parallel fit (null after a local one). */
  lastDistributed: DataParallelResult | null = null;
  private readonly cache: ModelCache = { model: null, state: null };
  /** The state before the current fit started (warmStart). */
  private previous: KerasState | null = null;

  constructor(params: Partial<KerasParams> = {}) {
    super(params);
    finalizer.register(this, this.cache);
  }

  defaults(): KerasParams {
    return {
      model: null,
      modelParams: {},
      epochs: 10,
      batchSize: 32,
      optimizer: "adam",
      learningRate: 0.001,
      momentum: 0.9,
      loss: "auto",
      shuffle: true,
      randomState: 0,
      warmStart: false,
    };
  }

  constraints(): ConstraintTable {
    return {
      model: { type: "any" },
      modelParams: { type: "any" },
      epochs: { type: "number", integer: true, min: 0 },
      batchSize: { type: "number", integer: true, min: 1 },
      optimizer: { type: "enum", values: OPTIMIZERS },
      learningRate: { type: "number", min: 0, minExclusive: true },
      momentum: { type: "number", min: 0, max: 1 },
      loss: { type: "enum", values: ["auto", ...LOSSES] },
      shuffle: { type: "boolean" },
      randomState: { type: "number", integer: true },
      warmStart: { type: "boolean" },
    };
  }

  protected abstract readonly classifier: boolean;

  // ---------------------------------------------------------------- params

  /** `model__name` keys set entries of modelParams (scikeras' routing). */
  override setParams(params: Params): this {
    const rest: Params = {};
    const routed: [string, unknown][] = [];
    for (const [k, v] of Object.entries(params)) {
      if (k.startsWith("model__")) routed.push([k.slice(7), v]);
      else rest[k] = v;
    }
    super.setParams(rest);
    if (routed.length) {
      const mp = { ...this.params.modelParams };
      for (const [k, v] of routed) mp[k] = v;
      this.params.modelParams = mp;
    }
    return this;
  }

  override getParams(deep = true): Params {
    const out = super.getParams(deep);
    if (deep) for (const [k, v] of Object.entries(this.params.modelParams ?? {})) out[`model__${k}`] = v;
    return out;
  }

  /** The factory travels as its reference (closures cannot travel: locateFunction says why). */
  override toJSON(): EstimatorJSON {
    const m = this.params.model;
    if (typeof m === "function" && this.state !== null && this.state.factory === null) {
      throw new TypeError(
        `${TF_PREFIX} the model factory "${m.name || "(anonymous)"}" is not exported by its module, so this estimator cannot travel to workers or be saved; export the factory from a module the workers can import`,
      );
    }
    const params = { ...this.params, model: this.params.model === null ? null : modelRef(this.params.model) };
    const json: EstimatorJSON = { type: this.estimatorType, params: paramsToJSON(params) as Params, state: this.state };
    const module = registeredModule(this.estimatorType);
    if (module) json.module = module;
    return json;
  }

  private checkParams(): void {
    validateParams(this.estimatorType, this.constraints(), this.params);
    const m = this.params.model;
    if (typeof m !== "function" && !isFnRef(m)) {
      throw new TypeError(`${PREFIX} ${this.estimatorType}: parameter "model" must be an exported factory function (args) => tf.LayersModel or { module, name }, got ${m === null ? "null" : typeof m}`);
    }
    const mp = this.params.modelParams;
    if (mp === null || typeof mp !== "object" || Array.isArray(mp)) throw new TypeError(`${PREFIX} ${this.estimatorType}: parameter "modelParams" must be a plain object`);
  }

  // ---------------------------------------------------------------- fit

  /** Local Matrix + y (in this process), or a partitioned collection on the cluster. */
  override async fit(X: Matrix | KerasDistributedInput, y?: Float64Array, opts: KerasFitOptions = {}): Promise<this> {
    if (isMatrix(X)) {
      this.checkParams();
      this.previous = this.state;
      return super.fit(X, y, opts);
    }
    this.checkParams();
    if (y !== undefined) throw new TypeError(`${PREFIX} ${this.estimatorType}.fit: with a partitioned collection, y is part of each partition; pass no y`);
    if (opts.sampleWeight !== undefined) throw new TypeError(`${PREFIX} ${this.estimatorType}.fit: sampleWeight is not supported`);
    const base = this.params.warmStart ? this.state : null;
    const fixed = base?.classes ?? null;
    const { source, labels } = isLocalParts(X)
      ? localPartsSource(this.estimatorType, X, this.classifier, fixed)
      : await clusterSource(this.estimatorType, X, opts.client, this.classifier, fixed);
    this.state = null;
    this.state = await this.train(source, labels, base, this.params.epochs);
    return this;
  }

  protected async fitState(X: Matrix, y: Float64Array | undefined): Promise<KerasState> {
    const base = this.params.warmStart ? this.previous : null;
    const labels = this.classifier ? (base?.classes ?? uniqueSorted(y!)) : null;
    return this.train(matrixSource(this.estimatorType, X, y!, labels), labels, base, this.params.epochs);
  }

  /** One more epoch on (X, y), continuing from the current weights and optimizer state. */
  async partialFit(X: Matrix, y?: Float64Array, opts: FitOptions = {}): Promise<this> {
    this.checkParams();
    checkXY(this.estimatorType, "fit", X, y, this.tags);
    if (opts.sampleWeight) throw new TypeError(`${PREFIX} ${this.estimatorType}.partialFit: sampleWeight is not supported`);
    const base = this.state;
    if (base && X.cols !== base.nFeatures) throw new RangeError(`${PREFIX} ${this.estimatorType}.partialFit: X has ${X.cols} columns, the estimator was fitted on ${base.nFeatures}`);
    const labels = this.classifier ? (base?.classes ?? uniqueSorted(y!)) : null;
    this.state = await this.train(matrixSource(this.estimatorType, X, y!, labels), labels, base, 1);
    return this;
  }

  private resolveLoss(width: number, nClasses: number): LossKind {
    const l = this.params.loss;
    if (this.classifier) {
      const auto: LossKind = width === 1 ? "binaryCrossentropy" : "categoricalCrossentropy";
      if (l === "auto") return auto;
      if (l !== auto) throw new RangeError(`${PREFIX} ${this.estimatorType}: loss "${l}" does not fit a model with ${width} output column(s) for ${nClasses} classes (use "${auto}" or "auto")`);
      return l;
    }
    if (l === "auto") return "mse";
    if (l !== "mse" && l !== "mae") throw new RangeError(`${PREFIX} ${this.estimatorType}: loss "${l}" is for classifiers; regressors take "mse" or "mae"`);
    return l;
  }

  /** Builds (or restores) the model and optimizer, trains, and returns the new state. */
  private async train(src: Source, classes: Float64Array | null, base: KerasState | null, epochs: number): Promise<KerasState> {
    await tfReady();
    const nClasses = classes ? classes.length : 0;
    if (this.classifier && nClasses < 2) throw new RangeError(`${PREFIX} ${this.estimatorType}.fit: needs at least 2 classes, y has ${nClasses}`);
    if (base && base.nFeatures !== src.nFeatures) throw new RangeError(`${PREFIX} ${this.estimatorType}.fit: X has ${src.nFeatures} columns, the estimator was fitted on ${base.nFeatures}`);
    const nOutputs = this.classifier ? nClasses : 1;
    let model: tf.LayersModel;
    let factory: FnRef | null;
    if (base) {
      model = modelFromTopology(base.topology);
      setWeights(model, base.weights);
      factory = base.factory;
    } else {
      const spec = this.params.model as ModelSpec;
      const args: ModelFactoryArgs = { ...this.params.modelParams, nFeatures: src.nFeatures, nOutputs, nClasses, randomState: this.params.randomState };
      model = buildSeeded(await loadFactory(spec), args);
      factory = await verifiedModelRef(spec);
    }
    const optimizer = makeOptimizer({ name: this.params.optimizer, learningRate: this.params.learningRate, momentum: this.params.momentum });
    try {
      const vars = trainableVariables(model);
      if (base) await setOptimizerState(optimizer, base.optimizer, vars.map((v) => v.name));
      const width = model.outputs[0].shape[1] as number;
      const loss = this.resolveLoss(width, nClasses);
      const plan = { batchSize: this.params.batchSize, shuffle: this.params.shuffle, randomState: this.params.randomState, totalRows: src.rows };
      const firstEpoch = base ? base.epochsTrained : 0;
      let history: number[];
      if (src.kind === "local") {
        this.lastDistributed = null;
        history = await trainLocal({ model, vars, optimizer, loss, nOutputs: width, plan, firstEpoch, epochs }, src.parts);
      } else {
        const r = await trainDataParallel({
          client: src.client,
          parts: src.parts,
          groups: src.groups,
          model,
          vars,
          optimizer,
          optimizerSpec: { name: this.params.optimizer, learningRate: this.params.learningRate, momentum: this.params.momentum },
          loss,
          nOutputs: width,
          classes,
          plan,
          firstEpoch,
          epochs,
        });
        this.lastDistributed = r;
        history = r.history;
      }
      return {
        factory,
        topology: base ? base.topology : topologyOf(model),
        weights: weightsOf(model),
        optimizer: await optimizerState(optimizer),
        loss,
        nFeatures: src.nFeatures,
        nOutputs: width,
        classes,
        epochsTrained: firstEpoch + epochs,
        history: [...(base?.history ?? []), ...history],
      };
    } finally {
      optimizer.dispose();
      model.dispose();
    }
  }

  // ---------------------------------------------------------------- predict

  /** The fitted model, rebuilt once per fitted state and kept for later calls. */
  protected predictModel(method: string): tf.LayersModel {
    const s = this.fittedState(method);
    const c = this.cache;
    if (c.state !== s || c.model === null) {
      c.model?.dispose();
      c.model = null;
      const model = modelFromTopology(s.topology);
      setWeights(model, s.weights);
      c.model = model;
      c.state = s;
    }
    return c.model;
  }

  /** The model's output on X (rows x nOutputs, float64), in chunks of 8192 rows. */
  protected forward(method: string, X: Matrix): Float64Array {
    const s = this.fittedState(method);
    this.checkPredictInput(method, X, s.nFeatures);
    const model = this.predictModel(method);
    const out = new Float64Array(X.rows * s.nOutputs);
    const CHUNK = 8192;
    const buf = new Float32Array(Math.min(CHUNK, Math.max(1, X.rows)) * X.cols);
    for (let lo = 0; lo < X.rows; lo += CHUNK) {
      const hi = Math.min(X.rows, lo + CHUNK);
      const n = hi - lo;
      const src = X.data.subarray(lo * X.cols, hi * X.cols);
      for (let i = 0; i < src.length; i++) buf[i] = src[i];
      const y = tf.tidy(() => (model.apply(tf.tensor2d(buf.subarray(0, n * X.cols), [n, X.cols], "float32")) as tf.Tensor).dataSync());
      out.set(y, lo * s.nOutputs);
    }
    return out;
  }

  /** Mean training loss per epoch. */
  get history(): number[] {
    return this.fittedState("history").history.slice();
  }

  get epochsTrained(): number {
    return this.fittedState("epochsTrained").epochsTrained;
  }
}

/** A TensorFlow.js classifier: the model ends in softmax over the classes (or one sigmoid column for two). */
export class KerasClassifier extends KerasBase {
  static override readonly estimatorName: string = "KerasClassifier";
  readonly tags: EstimatorTags = { classifier: true, partialFit: true };
  protected readonly classifier = true;

  classes(): Float64Array {
    return this.fittedState("classes").classes!.slice();
  }

  /** Class probabilities (rows x classes), each row summing to 1. */
  predictProba(X: Matrix): Matrix {
    const s = this.fittedState("predictProba");
    const raw = this.forward("predictProba", X);
    const K = s.classes!.length;
    const out = new Float64Array(X.rows * K);
    if (s.nOutputs === 1) {
      for (let i = 0; i < X.rows; i++) {
        out[2 * i + 1] = raw[i];
        out[2 * i] = 1 - raw[i];
      }
      return { rows: X.rows, cols: 2, data: out };
    }
    // float32 softmax rows sum to 1 only to ~1e-7: renormalise in float64.
    for (let i = 0; i < X.rows; i++) {
      let sum = 0;
      for (let k = 0; k < K; k++) sum += raw[i * K + k];
      for (let k = 0; k < K; k++) out[i * K + k] = sum > 0 ? raw[i * K + k] / sum : 1 / K;
    }
    return { rows: X.rows, cols: K, data: out };
  }

  predict(X: Matrix): Float64Array {
    const s = this.fittedState("predict");
    const p = this.predictProba(X);
    const K = p.cols;
    const out = new Float64Array(X.rows);
    for (let i = 0; i < X.rows; i++) {
      let best = 0;
      for (let k = 1; k < K; k++) if (p.data[i * K + k] > p.data[i * K + best]) best = k;
      out[i] = s.classes![best];
    }
    return out;
  }
}

/** A TensorFlow.js regressor: the model has one linear output column. */
export class KerasRegressor extends KerasBase {
  static override readonly estimatorName: string = "KerasRegressor";
  readonly tags: EstimatorTags = { regressor: true, partialFit: true };
  protected readonly classifier = false;

  predict(X: Matrix): Float64Array {
    return this.forward("predict", X);
  }
}

registerEstimator(KerasClassifier, import.meta.url);
registerEstimator(KerasRegressor, import.meta.url);
