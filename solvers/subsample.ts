/**
 * Row subsamples for a warm start: a solver first minimises the objective on every stride-th
 * row (weights multiplied by stride, so the loss sum and hence C's weight against the penalty
 * match the full problem's), then continues on all rows from that point. On a large problem
 * the sample's optimum is within sampling error of the full one, so the full-data iterations
 * that remain are the last, quadratically converging ones of Newton.
 */
import { GlmError } from "./errors.js";
import type { Partition } from "./types.js";

/** Below this many rows no solver samples by default: every pass is cheap anyway. */
export const SAMPLE_MIN_ROWS = 200_000;
/** Rows the default sample aims at, over all partitions. */
export const SAMPLE_TARGET_ROWS = 50_000;

/** The default stride for a problem of nRows rows, or 0 when it is too small to sample. */
export function defaultSampleStride(nRows: number): number {
  return nRows < SAMPLE_MIN_ROWS ? 0 : Math.floor(nRows / SAMPLE_TARGET_ROWS);
}

/** Rows 0, stride, 2 stride, ... of a partition, weights x stride (a plain function: runs as a task). */
export function subsamplePartition(part: Partition, stride: number): Partition {
  if (!Number.isInteger(stride) || stride < 1) throw new GlmError(`glm: sample stride must be a positive integer, got ${stride}`);
  const { X, y, w } = part;
  const p = X.cols;
  const m = Math.ceil(X.rows / stride);
  const data = new Float64Array(m * p);
  const ys = new Float64Array(m);
  const ws = new Float64Array(m);
  for (let i = 0, r = 0; i < m; i++, r += stride) {
    data.set(X.data.subarray(r * p, r * p + p), i * p);
    ys[i] = y[r];
    ws[i] = w === undefined ? stride : w[r] * stride;
  }
  return { X: { rows: m, cols: p, data }, y: ys, w: ws };
}
