/**
 * A model as plain data and back: the architecture as its tfjs config (`getConfig()`, plain
 * JSON), the weights as Float32Arrays with their shapes. Rebuilding is synchronous (the
 * class's `fromConfig` from tfjs' serialization registry), so a fitted estimator rebuilt from
 * JSON on a worker can predict without awaiting anything or importing the factory's module.
 */
import { TF_PREFIX, assertReady, tf } from "./backend.js";

export interface Topology {
  /** "Sequential" or "Model" (tf.model; tfjs' class names). */
  className: string;
  config: Record<string, unknown>;
}

export interface WeightsData {
  values: Float32Array[];
  shapes: number[][];
}

export function topologyOf(model: tf.LayersModel): Topology {
  // A JSON round trip makes it plain data (no prototypes, no undefined) and a private copy.
  return { className: model.getClassName(), config: JSON.parse(JSON.stringify(model.getConfig())) as Record<string, unknown> };
}

/** A new, unfitted model of this architecture (initial weights are then overwritten). */
export function modelFromTopology(t: Topology): tf.LayersModel {
  assertReady();
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[t.className];
  if (!entry) throw new TypeError(`${TF_PREFIX} unknown model class "${t.className}" (custom layers must be registered with tf.serialization.registerClass on every worker)`);
  const [cls, fromConfig] = entry;
  // fromConfig mutates nested configs on some layers: hand it a copy.
  const model = fromConfig(cls, JSON.parse(JSON.stringify(t.config)) as tf.serialization.ConfigDict);
  if (!(model instanceof tf.LayersModel)) throw new TypeError(`${TF_PREFIX} class "${t.className}" did not build a tf.LayersModel`);
  return model;
}

/** Copies of every weight (trainable or not), in `model.getWeights()` order. */
export function weightsOf(model: tf.LayersModel): WeightsData {
  const ws = model.getWeights();
  return { values: ws.map((w) => w.dataSync().slice() as Float32Array), shapes: ws.map((w) => w.shape.slice()) };
}

export function setWeights(model: tf.LayersModel, w: WeightsData): void {
  const current = model.getWeights();
  if (current.length !== w.values.length) {
    throw new RangeError(`${TF_PREFIX} the model has ${current.length} weights, the saved state ${w.values.length}`);
  }
  const tensors = w.values.map((v, i) => {
    const want = current[i].shape;
    const got = w.shapes[i];
    if (want.length !== got.length || want.some((d, k) => d !== got[k])) {
      throw new RangeError(`${TF_PREFIX} weight ${i} has shape [${got.join(", ")}], the model needs [${want.join(", ")}]`);
    }
    return tf.tensor(v, got, "float32");
  });
  try {
    model.setWeights(tensors);
  } finally {
    tf.dispose(tensors);
  }
}

/** The tf.Variables a training step differentiates, in `model.trainableWeights` order. */
export function trainableVariables(model: tf.LayersModel): tf.Variable[] {
  // LayerVariable.read() returns its backing tf.Variable (typed as Tensor).
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

/** Frees a model's variables. */
export function disposeModel(model: tf.LayersModel): void {
  model.dispose();
}
