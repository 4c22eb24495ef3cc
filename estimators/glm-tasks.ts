/**
 * Per-partition tasks of the GLM estimators' distributed path: the labels a partition holds,
 * its class counts, and the partition re-encoded for one fit (labels -> class indices or a 0/1
 * target, class weights folded into the sample weights). Plain functions of plain data.
 */
import type { Partition } from "../solvers/types.js";

/** The distinct values of y, sorted. */
export function partitionLabels(part: { y: Float64Array }): Float64Array {
  return Float64Array.from(new Set(part.y)).sort();
}

/** Rows per class (classes sorted; labels outside them are ignored here, refused by encode). */
export function partitionClassCounts(part: { y: Float64Array }, classes: Float64Array): Float64Array {
  const counts = new Float64Array(classes.length);
  const y = part.y;
  for (let i = 0; i < y.length; i++) {
    const k = classIndex(classes, y[i]);
    if (k >= 0) counts[k]++;
  }
  return counts;
}

/** Index of v in sorted classes, or -1 (binary search; class counts are small). */
export function classIndex(classes: Float64Array, v: number): number {
  let lo = 0;
  let hi = classes.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const c = classes[mid];
    if (c === v) return mid;
    if (c < v) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/**
 * y -> class index (positive < 0: multinomial) or 1 for class `positive` and 0 otherwise;
 * w -> w * classWeights[class] when class weights are given. X is passed through (no copy).
 */
export function encodePartition(
  part: Partition,
  classes: Float64Array,
  positive: number,
  classWeights: Float64Array | null,
  index: number,
): Partition {
  const n = part.y.length;
  const y = new Float64Array(n);
  const w = classWeights !== null || part.w !== undefined ? new Float64Array(n) : undefined;
  for (let i = 0; i < n; i++) {
    const k = classIndex(classes, part.y[i]);
    if (k < 0) throw new RangeError(`skein estimators: label ${part.y[i]} in partition ${index} row ${i} is not one of the classes seen`);
    y[i] = positive < 0 ? k : k === positive ? 1 : 0;
    if (w !== undefined) w[i] = (part.w === undefined ? 1 : part.w[i]) * (classWeights === null ? 1 : classWeights[k]);
  }
  return w === undefined ? { X: part.X, y } : { X: part.X, y, w };
}

/** encodePartition with its settings in one plain object (client.map zips up to three lists). */
export function encodePartitionTask(
  part: Partition,
  e: { classes: Float64Array; positive: number; classWeights: Float64Array | null; index: number },
): Partition {
  return encodePartition(part, e.classes, e.positive, e.classWeights, e.index);
}
