/**
 * One training step's pieces, shared by the single-process loop, the workers' replicas and the
 * client's replica: copy a batch into Float32 buffers, the gradient of the summed loss (flattened
 * into one Float32Array: what travels), and applying a mean gradient through the optimizer.
 * Everyone applies an update through `applyMeanGradient` with the same inputs, so replicas stay
 * bit-identical.
 */
import type { Matrix } from "../../src/data/matrix.js";
import { TF_PREFIX, tf } from "./backend.js";

/** How the model's output is scored: softmax probabilities, one sigmoid column, or regression. */
export type LossKind = "categoricalCrossentropy" | "binaryCrossentropy" | "mse" | "mae";

export const LOSSES: readonly LossKind[] = ["categoricalCrossentropy", "binaryCrossentropy", "mse", "mae"];

/** Keras' epsilon: probabilities are clipped to [eps, 1 - eps] before the log. */
const EPS = 1e-7;

/** A batch assembled in reusable buffers: rows x cols features and one target per row. */
export class BatchBuffer {
  x: Float32Array;
  t: Float32Array;
  rows = 0;
  constructor(readonly cols: number, capacity: number) {
    this.x = new Float32Array(capacity * cols);
    this.t = new Float32Array(capacity);
  }
  reset(): void {
    this.rows = 0;
  }
  private reserve(extra: number): void {
    const need = this.rows + extra;
    if (need * this.cols <= this.x.length && need <= this.t.length) return;
    const cap = Math.max(need, this.t.length * 2);
    const x = new Float32Array(cap * this.cols);
    x.set(this.x.subarray(0, this.rows * this.cols));
    const t = new Float32Array(cap);
    t.set(this.t.subarray(0, this.rows));
    this.x = x;
    this.t = t;
  }
  /** Appends rows order[lo..hi) of (X, targets). */
  append(X: Matrix, targets: Float32Array, order: Int32Array, lo: number, hi: number): void {
    const c = this.cols;
    if (X.cols !== c) throw new RangeError(`${TF_PREFIX} a partition has ${X.cols} columns, expected ${c}`);
    this.reserve(hi - lo);
    const x = this.x;
    const src = X.data;
    let at = this.rows * c;
    for (let k = lo; k < hi; k++) {
      const r = order[k];
      const base = r * c;
      for (let j = 0; j < c; j++) x[at + j] = src[base + j];
      at += c;
      this.t[this.rows++] = targets[r];
    }
  }
}

/** Summed (not mean) loss of a batch: the tensors are built from the first `rows` rows of buf. */
function lossSum(model: tf.LayersModel, kind: LossKind, xs: tf.Tensor2D, ts: tf.Tensor1D, nOut: number): tf.Scalar {
  const p = model.apply(xs, { training: true }) as tf.Tensor2D;
  switch (kind) {
    case "categoricalCrossentropy": {
      const onehot = tf.oneHot(tf.cast(ts, "int32"), nOut);
      return tf.neg(tf.sum(tf.mul(onehot, tf.log(tf.clipByValue(p, EPS, 1 - EPS))))) as tf.Scalar;
    }
    case "binaryCrossentropy": {
      const q = tf.clipByValue(tf.reshape(p, [-1]), EPS, 1 - EPS);
      return tf.neg(tf.sum(tf.add(tf.mul(ts, tf.log(q)), tf.mul(tf.sub(1, ts), tf.log(tf.sub(1, q)))))) as tf.Scalar;
    }
    case "mse":
      return tf.sum(tf.mean(tf.square(tf.sub(p, tf.reshape(ts, [-1, 1]))), 1)) as tf.Scalar;
    case "mae":
      return tf.sum(tf.mean(tf.abs(tf.sub(p, tf.reshape(ts, [-1, 1]))), 1)) as tf.Scalar;
  }
}

export interface GradSum {
  /** Gradient of the summed loss, every trainable variable flattened in order. */
  grad: Float32Array;
  /** Summed loss. */
  loss: number;
  rows: number;
}

/** Total number of trainable values. */
export function gradLength(vars: readonly tf.Variable[]): number {
  let n = 0;
  for (const v of vars) n += v.size;
  return n;
}

/** Gradient of the summed loss over the batch in `buf` (zeros for an empty batch). */
export function gradientSum(model: tf.LayersModel, vars: tf.Variable[], kind: LossKind, nOut: number, buf: BatchBuffer): GradSum {
  const grad = new Float32Array(gradLength(vars));
  if (buf.rows === 0) return { grad, loss: 0, rows: 0 };
  let loss = 0;
  tf.tidy(() => {
    const xs = tf.tensor2d(buf.x.subarray(0, buf.rows * buf.cols), [buf.rows, buf.cols], "float32");
    const ts = tf.tensor1d(buf.t.subarray(0, buf.rows), "float32");
    const { value, grads } = tf.variableGrads(() => lossSum(model, kind, xs, ts, nOut), vars);
    loss = value.dataSync()[0];
    let at = 0;
    for (const v of vars) {
      const g = grads[v.name];
      if (g) grad.set(g.dataSync(), at);
      at += v.size;
    }
  });
  return { grad, loss, rows: buf.rows };
}

/** sum / rows, rounded to float32 once (every replica computes the same values). */
export function meanGradient(sum: Float64Array | Float32Array, rows: number): Float32Array {
  const out = new Float32Array(sum.length);
  if (rows === 0) return out;
  for (let i = 0; i < sum.length; i++) out[i] = sum[i] / rows;
  return out;
}

/** One optimizer update with the flattened mean gradient. */
export function applyMeanGradient(opt: tf.Optimizer, vars: tf.Variable[], mean: Float32Array): void {
  if (mean.length !== gradLength(vars)) throw new RangeError(`${TF_PREFIX} a gradient of ${mean.length} values for ${gradLength(vars)} trainable values`);
  tf.tidy(() => {
    const named: { name: string; tensor: tf.Tensor }[] = [];
    let at = 0;
    for (const v of vars) {
      named.push({ name: v.name, tensor: tf.tensor(mean.subarray(at, at + v.size), v.shape, "float32") });
      at += v.size;
    }
    opt.applyGradients(named);
  });
}
