/**
 * LocalProblem: the PartitionedProblem over in-memory partitions. Every method is a sum of the
 * per-partition kernels, exactly what a distributed implementation computes with one task per
 * partition.
 */
import { GlmError } from "./errors.js";
import { lossGradHessInto, lossGradInto, partitionLoss, thetaLength, validatePartition } from "./kernels.js";
import { localProxSolve } from "./local-solve.js";
import { subsamplePartition } from "./subsample.js";
import type {
  DenseMatrix,
  KernelSpec,
  LocalProxArgs,
  LossGrad,
  LossGradHess,
  Partition,
  PartitionedProblem,
  SampledProblem,
} from "./types.js";

export class LocalProblem implements PartitionedProblem {
  readonly nPartitions: number;
  readonly p: number;
  readonly nRows: number;
  readonly sumWeights: number;
  /** Passes over the data so far (one per partition kernel call / partitions). */
  passes = 0;

  /** Validates every partition (shapes, finite X, y in the family's domain, weights >= 0). */
  constructor(
    readonly partitions: readonly Partition[],
    readonly spec: KernelSpec,
  ) {
    if (partitions.length === 0) throw new GlmError("glm: a problem needs at least one partition");
    this.nPartitions = partitions.length;
    this.p = partitions[0].X.cols;
    let rows = 0;
    let sw = 0;
    partitions.forEach((part, i) => {
      const s = validatePartition(part, i, spec, this.p);
      rows += s.rows;
      sw += s.sumWeights;
    });
    if (rows === 0) throw new GlmError("glm: the problem has no rows");
    this.nRows = rows;
    this.sumWeights = sw;
  }

  private dim(): number {
    return thetaLength(this.p, this.spec);
  }

  async loss(theta: Float64Array): Promise<number> {
    this.passes++;
    let loss = 0;
    for (const part of this.partitions) loss += partitionLoss(part, this.spec, theta);
    return loss;
  }

  async lossGrad(theta: Float64Array): Promise<LossGrad> {
    this.passes++;
    const grad = new Float64Array(this.dim());
    let loss = 0;
    for (const part of this.partitions) loss += lossGradInto(part, this.spec, theta, grad);
    return { loss, grad };
  }

  async lossGradHess(theta: Float64Array): Promise<LossGradHess> {
    this.passes++;
    const d = this.dim();
    const grad = new Float64Array(d);
    const hess = new Float64Array(d * d);
    let loss = 0;
    for (const part of this.partitions) loss += lossGradHessInto(part, this.spec, theta, grad, hess);
    return { loss, grad, hess };
  }

  async localProx(i: number, args: LocalProxArgs): Promise<Float64Array> {
    const part = this.partitions[i];
    if (part === undefined) throw new GlmError(`glm: no partition ${i} (the problem has ${this.nPartitions})`);
    return localProxSolve(part, this.spec, args).x;
  }

  async subsample(stride: number): Promise<SampledProblem> {
    return new LocalProblem(
      this.partitions.map((part) => subsamplePartition(part, stride)),
      this.spec,
    );
  }

  /** Nothing to free: in-memory partitions go with the object. */
  release(): void {}
}

/**
 * Splits one matrix into nPartitions row blocks of near-equal size, as views (no copies):
 * handy for tests and for small in-process fits.
 */
export function splitRows(X: DenseMatrix, y: Float64Array, w: Float64Array | undefined, nPartitions: number): Partition[] {
  if (!(Number.isInteger(nPartitions) && nPartitions >= 1)) {
    throw new GlmError(`glm: nPartitions must be an integer >= 1, got ${nPartitions}`);
  }
  const n = X.rows;
  const p = X.cols;
  const out: Partition[] = [];
  for (let k = 0; k < nPartitions; k++) {
    const a = Math.floor((k * n) / nPartitions);
    const b = Math.floor(((k + 1) * n) / nPartitions);
    out.push({
      X: { rows: b - a, cols: p, data: X.data.subarray(a * p, b * p) },
      y: y.subarray(a, b),
      ...(w !== undefined ? { w: w.subarray(a, b) } : {}),
    });
  }
  return out;
}
