/**
 * Single-process training over partitions held in this process: for each step, the batch of
 * batches.ts (every partition's chunk, in partition order), the gradient of its summed loss,
 * one update with the mean. The data-parallel loop (distributed.ts) runs the same steps with
 * the partitions spread over workers; `trainLocal` on the same partitions is its reference.
 */
import type { Matrix } from "../../src/data/matrix.js";
import type { tf } from "./backend.js";
import { chunkBounds, rowOrder, stepsPerEpoch, type BatchPlan } from "./batches.js";
import { BatchBuffer, applyMeanGradient, gradientSum, meanGradient, type LossKind } from "./train-step.js";

/** A partition ready for training: features and one encoded target per row. */
export interface TrainPart {
  X: Matrix;
  /** Class index (classifiers) or target value, as float32. */
  targets: Float32Array;
}

export interface TrainRun {
  model: tf.LayersModel;
  vars: tf.Variable[];
  optimizer: tf.Optimizer;
  loss: LossKind;
  nOutputs: number;
  plan: BatchPlan;
  /** Epoch numbers to run: [firstEpoch, firstEpoch + epochs). They seed the shuffles. */
  firstEpoch: number;
  epochs: number;
}

/** Longest stretch of training without letting the event loop run (a LocalCluster's scheduler may share it). */
const YIELD_MS = 50;

/** Runs the epochs; returns the mean training loss of each. */
export async function trainLocal(run: TrainRun, parts: readonly TrainPart[]): Promise<number[]> {
  let lastYield = performance.now();
  const S = stepsPerEpoch(run.plan);
  const cols = parts[0].X.cols;
  const buf = new BatchBuffer(cols, Math.ceil(run.plan.totalRows / S) + parts.length);
  const history: number[] = [];
  for (let e = run.firstEpoch; e < run.firstEpoch + run.epochs; e++) {
    const orders = parts.map((p, i) => rowOrder(run.plan, e, i, p.X.rows));
    let lossSum = 0;
    let rows = 0;
    for (let s = 0; s < S; s++) {
      buf.reset();
      parts.forEach((p, i) => {
        const [lo, hi] = chunkBounds(p.X.rows, s, S);
        buf.append(p.X, p.targets, orders[i], lo, hi);
      });
      if (buf.rows === 0) continue;
      const g = gradientSum(run.model, run.vars, run.loss, run.nOutputs, buf);
      applyMeanGradient(run.optimizer, run.vars, meanGradient(g.grad, g.rows));
      lossSum += g.loss;
      rows += g.rows;
      if (performance.now() - lastYield > YIELD_MS) {
        await new Promise<void>((r) => setImmediate(r));
        lastYield = performance.now();
      }
    }
    history.push(rows ? lossSum / rows : NaN);
  }
  return history;
}
