/**
 * Optimizers by name (Keras' set) and their state as plain data, so training can continue
 * (partialFit) and a worker replica can be re-seeded with exactly the client's state.
 */
import { TF_PREFIX, tf } from "./backend.js";

export type OptimizerName = "sgd" | "momentum" | "adam" | "rmsprop" | "adagrad";

export const OPTIMIZERS: readonly OptimizerName[] = ["sgd", "momentum", "adam", "rmsprop", "adagrad"];

export interface OptimizerSpec {
  name: OptimizerName;
  learningRate: number;
  /** Momentum of "momentum" (and of "rmsprop"). */
  momentum: number;
}

/** Optimizer slots (iterations first, then the optimizer's variables in its own order). */
export interface OptimizerStateData {
  values: Float32Array[];
  shapes: number[][];
}

export function makeOptimizer(s: OptimizerSpec): tf.Optimizer {
  switch (s.name) {
    case "sgd":
      return tf.train.sgd(s.learningRate);
    case "momentum":
      return tf.train.momentum(s.learningRate, s.momentum);
    case "adam":
      return tf.train.adam(s.learningRate);
    case "rmsprop":
      return tf.train.rmsprop(s.learningRate, 0.9, s.momentum);
    case "adagrad":
      return tf.train.adagrad(s.learningRate);
    default:
      throw new RangeError(`${TF_PREFIX} unknown optimizer "${String(s.name)}"; known: ${OPTIMIZERS.join(", ")}`);
  }
}

export async function optimizerState(opt: tf.Optimizer): Promise<OptimizerStateData> {
  const ws = await opt.getWeights();
  return {
    values: ws.map((w) => Float32Array.from(w.tensor.dataSync())),
    shapes: ws.map((w) => w.tensor.shape.slice()),
  };
}

/** Installs saved slots; `names` are the model's trainable variable names, for slot names. */
export async function setOptimizerState(opt: tf.Optimizer, s: OptimizerStateData, names: readonly string[]): Promise<void> {
  if (s.values.length === 0) return;
  const tensors: { name: string; tensor: tf.Tensor }[] = s.values.map((v, i) => ({
    name: i === 0 ? "iter" : `${names[(i - 1) % Math.max(1, names.length)] ?? "w"}/slot${i}`,
    tensor: tf.tensor(v, s.shapes[i], "float32"),
  }));
  try {
    await opt.setWeights(tensors);
  } finally {
    // setWeights copies into new variables (tensor.variable()): the inputs can go.
    tf.dispose(tensors.map((t) => t.tensor));
  }
}
