/**
 * Targets as the loss functions read them: a classifier's labels become class indices (float32),
 * a regressor's values float32. Labels not among the fitted classes fail with the value.
 */
import { classIndex } from "../glm-tasks.js";
import { TF_PREFIX } from "./backend.js";

export function uniqueSorted(y: Float64Array): Float64Array {
  return Float64Array.from(new Set(y)).sort();
}

export function encodeTargets(y: Float64Array, classes: Float64Array | null, where: string): Float32Array {
  const out = new Float32Array(y.length);
  for (let i = 0; i < y.length; i++) {
    if (!Number.isFinite(y[i])) throw new RangeError(`${TF_PREFIX} ${where}: y has a non-finite value (${y[i]}) at row ${i}`);
  }
  if (classes === null) {
    out.set(y);
    return out;
  }
  for (let i = 0; i < y.length; i++) {
    const k = classIndex(classes, y[i]);
    if (k < 0) throw new RangeError(`${TF_PREFIX} ${where}: label ${y[i]} at row ${i} is not one of the classes [${Array.from(classes).join(", ")}]`);
    out[i] = k;
  }
  return out;
}
