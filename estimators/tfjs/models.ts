/**
 * Ready-made model factories (exported, so workers can load them by reference): `mlp`, a
 * multilayer perceptron in the spirit of scikit-learn's MLPClassifier / MLPRegressor.
 */
import { TF_PREFIX, tf } from "./backend.js";
import type { ModelFactoryArgs } from "./model-ref.js";

/**
 * Dense layers of `hiddenLayerSizes` units (default [32]) with `activation` (default "relu"),
 * then `nOutputs` units with `outputActivation` (default: softmax for classifiers, linear for
 * regressors). Set these through the estimator's `modelParams` (or `model__hiddenLayerSizes`).
 */
export function mlp(args: ModelFactoryArgs): tf.LayersModel {
  const hidden = (args.hiddenLayerSizes ?? [32]) as unknown;
  if (!Array.isArray(hidden) || hidden.some((u) => !Number.isInteger(u) || (u as number) < 1)) {
    throw new RangeError(`${TF_PREFIX} mlp: hiddenLayerSizes must be an array of positive integers, got ${JSON.stringify(hidden)}`);
  }
  const activation = (args.activation ?? "relu") as string;
  const output = (args.outputActivation ?? (args.nClasses > 0 ? "softmax" : "linear")) as string;
  const model = tf.sequential();
  const sizes = hidden as number[];
  sizes.forEach((units, i) => {
    model.add(tf.layers.dense({ units, activation: activation as "relu", ...(i === 0 ? { inputShape: [args.nFeatures] } : {}) }));
  });
  model.add(tf.layers.dense({ units: args.nOutputs, activation: output as "linear", ...(sizes.length === 0 ? { inputShape: [args.nFeatures] } : {}) }));
  return model;
}
