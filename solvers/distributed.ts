/**
 * DistributedProblem: the PartitionedProblem over row partitions that stay on the workers.
 * Every evaluation is one task per partition running a kernel of kernels.ts (or ADMM's local
 * solve) where the partition lives; the client sums the d-sized results. Only theta (d values),
 * gradients (d), Hessians (d x d) and ADMM's local arguments (d, or d x d for the metric) travel.
 *
 * theta travels as a task argument by default (`thetaTransport: "argument"`): for GLM sizes it
 * is a few hundred bytes inside the task message. "broadcast" scatters it to every worker first
 * (one extra round trip per evaluation) and passes the Future; it only pays off when d is large
 * (d x 8 bytes x partitions per worker above the scatter's cost). bench/glm.ts measures both.
 */
import { Client } from "../src/client/client.js";
import { Future } from "../src/client/future.js";
import { getDefaultComputer } from "../src/graph/delayed.js";
import { localProxTask, validatePartitionTask, type PartitionInfo } from "./distributed-tasks.js";
import { subsamplePartition } from "./subsample.js";
import { GlmError } from "./errors.js";
import { partitionLoss, partitionLossGrad, partitionLossGradHess, sumLossGradHesses, sumLossGrads, thetaLength } from "./kernels.js";
import type { KernelSpec, LocalProxArgs, LossGrad, LossGradHess, Partition, PartitionedProblem, SampledProblem } from "./types.js";

/** Something that yields one Future per partition (an XYCollection, say). */
export interface PartitionSource {
  toFutures(opts: { client?: Client }): readonly Future<Partition>[];
}

export interface DistributedProblemOptions {
  /** Default: the most recently connected client. */
  client?: Client;
  /** How theta reaches the tasks; default "argument" (see the module comment). */
  thetaTransport?: "argument" | "broadcast";
}

function resolveClient(client?: Client): Client {
  const c = client ?? getDefaultComputer();
  if (!(c instanceof Client) || c.closed) {
    throw new GlmError("glm: no connected client for a distributed problem; call Client.connect() first or pass { client }");
  }
  return c;
}

/** Gathers futures, then releases them (also on failure) so their results leave the workers. */
async function gatherAndRelease<T>(client: Client, futures: readonly Future<T>[]): Promise<T[]> {
  try {
    return await client.gather(futures);
  } finally {
    for (const f of futures) f.release();
  }
}

export class DistributedProblem implements PartitionedProblem {
  readonly nPartitions: number;
  /** Evaluations so far (each one task per partition). */
  passes = 0;
  private readonly specs: KernelSpec[];
  /** True for a subsample's problem: its partition futures are its own, freed by release(). */
  private ownsPartitions = false;

  private constructor(
    readonly client: Client,
    /** One Future per partition, held on the workers. */
    readonly partitions: readonly Future<Partition>[],
    readonly spec: KernelSpec,
    readonly p: number,
    readonly nRows: number,
    readonly sumWeights: number,
    /** Rows per partition (from validation). */
    readonly rows: readonly number[],
    private readonly transport: "argument" | "broadcast",
  ) {
    this.nPartitions = partitions.length;
    this.specs = partitions.map(() => spec);
  }

  /**
   * Validates every partition as one task each (shapes, finite X, y in the family's domain,
   * weights >= 0: a failure names the partition) and checks that they agree on the columns.
   */
  static async create(
    source: readonly Future<Partition>[] | PartitionSource,
    spec: KernelSpec,
    options: DistributedProblemOptions = {},
  ): Promise<DistributedProblem> {
    const client = resolveClient(options.client);
    const parts = Array.isArray(source) ? (source as readonly Future<Partition>[]) : (source as PartitionSource).toFutures({ client });
    if (parts.length === 0) throw new GlmError("glm: a problem needs at least one partition");
    for (let i = 0; i < parts.length; i++) {
      if (!(parts[i] instanceof Future)) throw new GlmError(`glm: partition ${i} is not a Future (scatter or persist the partitions first)`);
    }
    thetaLength(0, spec); // checks nClasses for multinomial before any task runs
    const infos = await gatherAndRelease<PartitionInfo>(
      client,
      client.map(validatePartitionTask, parts, parts.map((_, i) => i), parts.map(() => spec)),
    );
    const p = infos[0].cols;
    let rows = 0;
    let sw = 0;
    infos.forEach((info, i) => {
      if (info.cols !== p) throw new GlmError(`glm: partition ${i} has ${info.cols} columns, expected ${p}`);
      rows += info.rows;
      sw += info.sumWeights;
    });
    if (rows === 0) throw new GlmError("glm: the problem has no rows");
    return new DistributedProblem(client, parts, spec, p, rows, sw, infos.map((x) => x.rows), options.thetaTransport ?? "argument");
  }

  private dim(): number {
    return thetaLength(this.p, this.spec);
  }

  private checkTheta(theta: Float64Array): void {
    const d = this.dim();
    if (theta.length !== d) throw new GlmError(`glm: theta has length ${theta.length}, expected ${d}`);
  }

  /** theta as the tasks receive it: the array itself, or a Future on a broadcast copy. */
  private async thetaArgs(theta: Float64Array): Promise<{ args: (Float64Array | Future<Float64Array>)[]; done: () => void }> {
    this.checkTheta(theta);
    // Copy: the solver may reuse its buffer while the tasks are being sent.
    const t = Float64Array.from(theta);
    if (this.transport === "argument") return { args: this.partitions.map(() => t), done: () => {} };
    // scatterMany, not scatter: awaiting a Promise of a Future (a thenable) would yield its value.
    const [f] = await this.client.scatterMany([t], { broadcast: true });
    return { args: this.partitions.map(() => f), done: () => f.release() };
  }

  async loss(theta: Float64Array): Promise<number> {
    this.passes++;
    const { args, done } = await this.thetaArgs(theta);
    try {
      const parts = await gatherAndRelease(this.client, this.client.map(partitionLoss, this.partitions, this.specs, args));
      let loss = 0;
      for (const v of parts) loss += v;
      return loss;
    } finally {
      done();
    }
  }

  async lossGrad(theta: Float64Array): Promise<LossGrad> {
    this.passes++;
    const d = this.dim();
    const { args, done } = await this.thetaArgs(theta);
    try {
      return sumLossGrads(await gatherAndRelease(this.client, this.client.map(partitionLossGrad, this.partitions, this.specs, args)), d);
    } finally {
      done();
    }
  }

  async lossGradHess(theta: Float64Array): Promise<LossGradHess> {
    this.passes++;
    const d = this.dim();
    const { args, done } = await this.thetaArgs(theta);
    try {
      return sumLossGradHesses(await gatherAndRelease(this.client, this.client.map(partitionLossGradHess, this.partitions, this.specs, args)), d);
    } finally {
      done();
    }
  }

  /**
   * The sample is made by one task per partition on the worker holding it (only the sample's
   * rows are new memory there) and validated like any partition; release() drops it.
   */
  async subsample(stride: number): Promise<SampledProblem> {
    const futures = this.client.map(subsamplePartition, this.partitions, this.partitions.map(() => stride));
    try {
      const sample = await DistributedProblem.create(futures, this.spec, { client: this.client, thetaTransport: this.transport });
      sample.ownsPartitions = true;
      return sample;
    } catch (err) {
      for (const f of futures) f.release();
      throw err;
    }
  }

  /** Frees the partitions of a problem subsample() made; a no-op otherwise (the caller's futures stay theirs). */
  release(): void {
    if (!this.ownsPartitions) return;
    this.ownsPartitions = false;
    for (const f of this.partitions) f.release();
  }

  /** ADMM's local solve on partition i, on the worker holding it; the warm start is args.x0. */
  async localProx(i: number, args: LocalProxArgs): Promise<Float64Array> {
    const part = this.partitions[i];
    if (part === undefined) throw new GlmError(`glm: no partition ${i} (the problem has ${this.nPartitions})`);
    const f = this.client.submit(localProxTask, part, this.spec, args);
    try {
      return await f.result();
    } finally {
      f.release();
    }
  }
}
