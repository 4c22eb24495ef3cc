/**
 * Synchronous data-parallel SGD through the scheduler. The partitions stay where they are:
 * they are grouped by the worker thread that holds them (one probe task each), and every step
 * sends one task per group carrying the previous step's mean gradient. Each group's replica
 * applies that update, then returns the gradient sum of its share of this step's batch; the
 * client sums the shares (the GLM solvers' partial-sum pattern), divides by the batch's rows and
 * applies the same update to its own replica, which is the result and the source of truth when
 * a worker replica must be re-seeded.
 */
import { Client } from "../../src/client/client.js";
import type { Future } from "../../src/client/future.js";
import type { XYPartition } from "../../src/data/types.js";
import { TF_PREFIX, tf } from "./backend.js";
import { stepsPerEpoch, type BatchPlan } from "./batches.js";
import { dataParallelStep, dropSession, whereTask, type ReplicaState, type SessionSpec, type StepMsg, type StepResult } from "./distributed-tasks.js";
import { topologyOf, weightsOf } from "./model-state.js";
import { optimizerState, type OptimizerSpec } from "./optimizer.js";
import { applyMeanGradient, gradLength, meanGradient, type LossKind } from "./train-step.js";

export interface DataParallelRun {
  client: Client;
  parts: readonly Future<XYPartition>[];
  /** The client's replica (trained in place). */
  model: tf.LayersModel;
  vars: tf.Variable[];
  optimizer: tf.Optimizer;
  optimizerSpec: OptimizerSpec;
  loss: LossKind;
  nOutputs: number;
  classes: Float64Array | null;
  plan: BatchPlan;
  firstEpoch: number;
  epochs: number;
  /** Partition indices per holding thread (partitionInfoTask's `where`); probed when absent. */
  groups?: number[][];
}

export interface DataParallelResult {
  /** Mean training loss per epoch. */
  history: number[];
  /** Worker groups the partitions formed (one task each per step). */
  groups: number;
  steps: number;
  /** Times a worker replica had to be re-seeded from the client's state. */
  reseeds: number;
}

let sessionCounter = 0;

async function replicaState(run: DataParallelRun): Promise<ReplicaState> {
  return { weights: weightsOf(run.model), optimizer: await optimizerState(run.optimizer) };
}

/** Partition indices grouped by holder (in first-seen order). */
export function groupIndices(where: readonly string[]): number[][] {
  const groups = new Map<string, number[]>();
  where.forEach((w, i) => {
    const g = groups.get(w);
    if (g) g.push(i);
    else groups.set(w, [i]);
  });
  return [...groups.values()];
}

/** Partition indices grouped by the thread that holds them (one probe task each). */
async function groupByHolder(client: Client, parts: readonly Future<XYPartition>[]): Promise<number[][]> {
  const probes = parts.map((p) => client.submitWith({ pure: false }, whereTask, p));
  try {
    return groupIndices(await client.gather(probes));
  } finally {
    for (const f of probes) f.release();
  }
}

export async function trainDataParallel(run: DataParallelRun): Promise<DataParallelResult> {
  const { client, parts } = run;
  if (parts.length === 0) throw new RangeError(`${TF_PREFIX} data-parallel training needs at least one partition`);
  const groups = run.groups ?? (await groupByHolder(client, parts));
  const spec: SessionSpec = {
    id: `tfjs-${process.pid}-${Date.now().toString(36)}-${++sessionCounter}`,
    topology: topologyOf(run.model),
    optimizer: run.optimizerSpec,
    loss: run.loss,
    nOutputs: run.nOutputs,
    classes: run.classes,
    plan: run.plan,
  };
  const [specF] = await client.scatterMany([spec], { broadcast: true, hash: false });
  const S = stepsPerEpoch(run.plan);
  const d = gradLength(run.vars);
  const history: number[] = [];
  const sum = new Float64Array(d);
  let pending: Float32Array | null = null;
  let step = 0;
  let reseeds = 0;
  // Step 0 seeds every replica with the client's state (the initial or continued model).
  let initial: ReplicaState | null = await replicaState(run);
  const submit = (g: number, msg: StepMsg): Future<StepResult> =>
    client.submitWith({ pure: false }, dataParallelStep, specF, msg, ...groups[g].map((i) => parts[i]));
  try {
    for (let e = run.firstEpoch; e < run.firstEpoch + run.epochs; e++) {
      let lossSum = 0;
      let rows = 0;
      for (let s = 0; s < S; s++, step++) {
        const msgs = groups.map((g): StepMsg => ({ step, epoch: e, s, apply: pending, state: initial, parts: g }));
        let futures = msgs.map((m, g) => submit(g, m));
        // Overlap: the client's replica takes the previous update while the workers compute.
        await new Promise<void>((r) => setImmediate(r));
        if (pending) applyMeanGradient(run.optimizer, run.vars, pending);
        initial = null;
        const results = await gatherAll(client, futures);
        const missing = results.map((r, g) => (r.ok ? -1 : g)).filter((g) => g >= 0);
        if (missing.length) {
          reseeds += missing.length;
          const state = await replicaState(run);
          futures = missing.map((g) => submit(g, { ...msgs[g], apply: null, state }));
          const again = await gatherAll(client, futures);
          missing.forEach((g, k) => (results[g] = again[k]));
        }
        sum.fill(0);
        let n = 0;
        for (const r of results) {
          if (!r.ok) throw new Error(`${TF_PREFIX} step ${step}: the replica on ${r.where} could not be re-seeded`);
          const gr = r.grad;
          for (let i = 0; i < d; i++) sum[i] += gr[i];
          n += r.rows;
          lossSum += r.loss;
        }
        rows += n;
        pending = n > 0 ? meanGradient(sum, n) : null;
      }
      history.push(rows ? lossSum / rows : NaN);
    }
    if (pending) applyMeanGradient(run.optimizer, run.vars, pending);
    return { history, groups: groups.length, steps: step, reseeds };
  } finally {
    const drops = groups.map((g) => client.submitWith({ pure: false }, dropSession, spec.id, ...g.map((i) => parts[i])));
    await client.gather(drops).catch(() => undefined);
    for (const f of drops) f.release();
    specF.release();
  }
}

async function gatherAll(client: Client, futures: Future<StepResult>[]): Promise<StepResult[]> {
  try {
    return await client.gather(futures);
  } finally {
    for (const f of futures) f.release();
  }
}
