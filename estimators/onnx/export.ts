/**
 * toOnnx: a fitted skein model as ONNX ModelProto bytes, so it runs anywhere ONNX runs.
 * Supported: LogisticRegression (binary, multinomial, one-vs-rest), LinearRegression,
 * PoissonRegression, RidgeRegression, StandardScaler, MinMaxScaler, and Pipelines of them
 * (nested too); a ParallelPostFit exports the fitted model it wraps.
 *
 * Everything is float64 (input "X" of shape [N, nFeatures]; double initializers stored as raw
 * bytes), and each op mirrors the order of skein's own arithmetic, so onnxruntime's predictions
 * agree with skein's to rounding (tests hold them to 1e-9). Outputs follow scikit-learn-onnx's
 * names: classifiers "label" [N] and "probabilities" [N, nClasses]; regressors "variable" [N, 1];
 * transformers "variable" [N, nOut]. Opset 13, standard ops only (Gemm, Sigmoid, Softmax, Exp,
 * Sub, Div, Mul, Add, Clip, Concat, ReduceSum, ArgMax, Greater, Cast, Reshape, Gather).
 * Classifiers carry their labels in the model metadata ("skein.classes"), which OnnxModel reads.
 */
import { PREFIX, isEstimator, type Estimator } from "../base.js";
import { Pipeline } from "../pipeline.js";
import { GraphBuilder, type TensorSpec } from "./graph.js";

/** A tensor flowing through the graph: its name and column count. */
interface Flow {
  name: string;
  cols: number;
}

/** What a converter adds: the next Flow (transformers) or the graph's final outputs (last step). */
type Converted = { kind: "transform"; flow: Flow } | { kind: "final"; outputs: TensorSpec[]; classes?: Float64Array };

type Converter = (b: GraphBuilder, est: Estimator, x: Flow, last: boolean) => Converted;

export const SUPPORTED: readonly string[] = ["LogisticRegression", "LinearRegression", "PoissonRegression", "RidgeRegression", "StandardScaler", "MinMaxScaler", "Pipeline"];

/** The plain fitted state (the estimator contract's toJSON), typed as the converter expects. */
function stateOf<S>(est: Estimator): S {
  return est.toJSON().state as S;
}

function checkWidth(est: Estimator, x: Flow, nFeatures: number): void {
  if (nFeatures !== x.cols) throw new RangeError(`${PREFIX} toOnnx: ${est.estimatorType} was fitted on ${nFeatures} features but receives ${x.cols}`);
}

/** A transformer's result: the last step names its output "variable". */
function transformed(b: GraphBuilder, op: string, inputs: string[], cols: number, last: boolean): Converted {
  if (!last) return { kind: "transform", flow: { name: b.node(op, inputs), cols } };
  b.node(op, inputs, {}, b.reserve("variable"));
  return { kind: "final", outputs: [{ name: "variable", dims: ["N", cols] }] };
}

const standardScaler: Converter = (b, est, x, last) => {
  const s = stateOf<{ nFeatures: number; mean: Float64Array; scale: Float64Array }>(est);
  checkWidth(est, x, s.nFeatures);
  // skein: (x - mean) / scale, elementwise in that order.
  const centered = b.node("Sub", [x.name, b.doubles("mean", s.mean, [s.nFeatures])]);
  return transformed(b, "Div", [centered, b.doubles("scale", s.scale, [s.nFeatures])], s.nFeatures, last);
};

const minMaxScaler: Converter = (b, est, x, last) => {
  const json = est.toJSON();
  const s = json.state as { nFeatures: number; scale: Float64Array; min: Float64Array };
  const { featureRange, clip } = json.params as { featureRange: [number, number]; clip: boolean };
  checkWidth(est, x, s.nFeatures);
  // skein: x * scale + min, then optionally clipped to featureRange.
  const scaled = b.node("Mul", [x.name, b.doubles("scale", s.scale, [s.nFeatures])]);
  if (!clip) return transformed(b, "Add", [scaled, b.doubles("min", s.min, [s.nFeatures])], s.nFeatures, last);
  const shifted = b.node("Add", [scaled, b.doubles("min", s.min, [s.nFeatures])]);
  return transformed(b, "Clip", [shifted, b.doubles("lo", [featureRange[0]], []), b.doubles("hi", [featureRange[1]], [])], s.nFeatures, last);
};

/** eta = X coef^T + intercept: [N, rows]. */
function linear(b: GraphBuilder, x: Flow, coef: Float64Array, intercept: ArrayLike<number>, rows: number): string {
  return b.node("Gemm", [x.name, b.doubles("coef", coef, [rows, x.cols]), b.doubles("intercept", intercept, [rows])], { transB: 1 });
}

function regressor(exp: boolean): Converter {
  return (b, est, x) => {
    const s = stateOf<{ coef: Float64Array; intercept: number }>(est);
    const p = s.coef.length;
    checkWidth(est, x, p);
    const eta = b.node("Gemm", [x.name, b.doubles("coef", s.coef, [1, p]), b.doubles("intercept", [s.intercept], [1])], { transB: 1 }, exp ? undefined : b.reserve("variable"));
    if (exp) b.node("Exp", [eta], {}, b.reserve("variable"));
    return { kind: "final", outputs: [{ name: "variable", dims: ["N", 1] }] };
  };
}

const logisticRegression: Converter = (b, est, x) => {
  const s = stateOf<{ nFeatures: number; classes: Float64Array; coef: Float64Array; intercept: Float64Array; mode: "binary" | "multinomial" | "ovr" }>(est);
  checkWidth(est, x, s.nFeatures);
  const K = s.classes.length;
  const rows = s.intercept.length;
  const eta = linear(b, x, s.coef, s.intercept, rows);
  const classes = b.doubles("classes", s.classes, [K]);
  let index: string;
  const proba = b.reserve("probabilities");
  if (s.mode === "binary") {
    // skein: p1 = sigmoid(eta), p0 = 1 - p1; label = classes[eta > 0].
    const p1 = b.node("Sigmoid", [eta]);
    const p0 = b.node("Sub", [b.doubles("one", [1], []), p1]);
    b.node("Concat", [p0, p1], { axis: 1 }, proba);
    const positive = b.node("Cast", [b.node("Greater", [eta, b.doubles("zero", [0], [])])], { to: 7 });
    index = b.node("Reshape", [positive, b.int64s("flat", [-1], [1])]);
  } else {
    if (s.mode === "ovr") {
      // skein: per-class sigmoids normalised to sum 1.
      const sig = b.node("Sigmoid", [eta]);
      b.node("Div", [sig, b.node("ReduceSum", [sig, b.int64s("axes", [1], [1])], { keepdims: 1 })], {}, proba);
    } else {
      b.node("Softmax", [eta], { axis: 1 }, proba);
    }
    // skein: the first class with the largest score.
    index = b.node("ArgMax", [eta], { axis: 1, keepdims: 0, select_last_index: 0 });
  }
  b.node("Gather", [classes, index], { axis: 0 }, b.reserve("label"));
  return {
    kind: "final",
    outputs: [
      { name: "label", dims: ["N"] },
      { name: "probabilities", dims: ["N", K] },
    ],
    classes: s.classes,
  };
};

const CONVERTERS: Record<string, Converter> = {
  StandardScaler: standardScaler,
  MinMaxScaler: minMaxScaler,
  LinearRegression: regressor(false),
  PoissonRegression: regressor(true),
  RidgeRegression: regressor(false),
  LogisticRegression: logisticRegression,
};

/** The fitted estimator inside a ParallelPostFit wrapper (its predictions are the inner model's). */
function unwrap(est: Estimator): Estimator {
  const inner = (est as { model?: unknown }).model;
  return est.estimatorType === "ParallelPostFit" && typeof inner === "function" ? unwrap((inner as () => Estimator).call(est)) : est;
}

/** The steps of `est` in order, pipelines flattened (nested pipelines too), with a display path. */
function flatten(est: Estimator, path: string): { est: Estimator; path: string }[] {
  est = unwrap(est);
  if (!(est instanceof Pipeline)) return [{ est, path }];
  return est.fittedSteps("toOnnx").flatMap((step, i) => flatten(step, `${path} step "${est.steps[i][0]}"`));
}

function nFeaturesOf(est: Estimator): number {
  const s = est.toJSON().state as { nFeatures?: unknown; coef?: Float64Array } | null;
  const n = s?.nFeatures ?? s?.coef?.length;
  if (typeof n !== "number") throw new TypeError(`${PREFIX} toOnnx: cannot tell how many features ${est.estimatorType} takes`);
  return n;
}

export interface ToOnnxOptions {
  /** Graph name. Default: the estimator's type. */
  name?: string;
  /** Extra metadata_props to store in the model. */
  metadata?: Record<string, string>;
}

/**
 * ONNX ModelProto bytes of a fitted estimator (see the module comment for what is supported).
 * Throws naming the class (and the pipeline step) that cannot be exported, or that is not fitted.
 */
export function toOnnx(estimator: Estimator, opts: ToOnnxOptions = {}): Uint8Array {
  if (!isEstimator(estimator)) throw new TypeError(`${PREFIX} toOnnx: not an estimator: ${typeof estimator}`);
  if (!estimator.fitted) throw new TypeError(`${PREFIX} toOnnx: ${estimator.estimatorType} is not fitted yet: call fit before exporting`);
  const est = unwrap(estimator);
  const steps = flatten(est, est.estimatorType);
  for (const { est: s, path } of steps) {
    if (!CONVERTERS[s.estimatorType]) {
      const where = path === est.estimatorType ? "" : ` (${path})`;
      throw new TypeError(`${PREFIX} toOnnx cannot export ${s.estimatorType}${where}; supported: ${SUPPORTED.join(", ")}`);
    }
  }
  const b = new GraphBuilder();
  const p = nFeaturesOf(steps[0].est);
  let flow: Flow = { name: b.reserve("X"), cols: p };
  let final: Extract<Converted, { kind: "final" }> | null = null;
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i];
    const last = i === steps.length - 1;
    if (final !== null) throw new TypeError(`${PREFIX} toOnnx: ${s.path} follows a final step; only transformers can precede another step`);
    const r = CONVERTERS[s.est.estimatorType](b, s.est, flow, last);
    if (r.kind === "transform") flow = r.flow;
    else final = r;
  }
  const metadata: Record<string, string> = { "skein.estimator": est.estimatorType, ...(opts.metadata ?? {}) };
  if (final!.classes) metadata["skein.classes"] = JSON.stringify(Array.from(final!.classes));
  return b.model({
    name: opts.name ?? est.estimatorType,
    inputs: [{ name: "X", dims: ["N", p] }],
    outputs: final!.outputs,
    metadata,
    doc: `${est.estimatorType} exported by skein`,
  });
}
