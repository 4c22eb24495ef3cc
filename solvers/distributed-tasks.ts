/**
 * The task functions DistributedProblem runs on the workers, besides the kernels of kernels.ts
 * (partitionLoss / partitionLossGrad / partitionLossGradHess, used as they are). Kept apart from
 * distributed.ts so a worker importing them does not load the client.
 */
import { validatePartition } from "./kernels.js";
import { localProxSolve } from "./local-solve.js";
import type { KernelSpec, LocalProxArgs, Partition, PartitionStats } from "./types.js";

export interface PartitionInfo extends PartitionStats {
  cols: number;
}

/** validatePartition as a task: errors name the partition; also returns the column count. */
export function validatePartitionTask(part: Partition, index: number, spec: KernelSpec): PartitionInfo {
  const s = validatePartition(part, index, spec);
  return { rows: s.rows, sumWeights: s.sumWeights, cols: part.X.cols };
}

/** ADMM's local solve as a task: only the new x (d values) travels back. */
export function localProxTask(part: Partition, spec: KernelSpec, args: LocalProxArgs): Float64Array {
  return localProxSolve(part, spec, args).x;
}
