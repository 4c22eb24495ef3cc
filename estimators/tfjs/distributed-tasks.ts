/**
 * What the workers run for data-parallel training. Each task thread keeps a replica of the
 * model and optimizer per training session (module-level map): a step task first applies the
 * previous step's mean gradient (every replica applies the same update), then computes the
 * gradient of the summed loss on its partitions' share of this step's batch. Only gradients
 * travel; the partitions never leave the worker that holds them.
 *
 * A replica that is missing or behind (the task landed in another thread, or the worker was
 * replaced) answers `needState`; the client then sends the full state of its own replica.
 */
import { threadId } from "node:worker_threads";
import type { XYPartition } from "../../src/data/types.js";
import { threadBound } from "../../src/functions/thread-bound.js";
import { TF_PREFIX, tf, tfReady } from "./backend.js";
import { chunkBounds, rowOrder, stepsPerEpoch, type BatchPlan } from "./batches.js";
import { setWeights, modelFromTopology, trainableVariables, type Topology, type WeightsData } from "./model-state.js";
import { makeOptimizer, setOptimizerState, type OptimizerSpec, type OptimizerStateData } from "./optimizer.js";
import { BatchBuffer, applyMeanGradient, gradientSum, type LossKind } from "./train-step.js";
import { encodeTargets } from "./targets.js";

/** Everything about a session that does not change between steps (scattered once). */
export interface SessionSpec {
  id: string;
  topology: Topology;
  optimizer: OptimizerSpec;
  loss: LossKind;
  nOutputs: number;
  /** Sorted class labels (classifiers) or null. */
  classes: Float64Array | null;
  plan: BatchPlan;
}

/** One step's message to one group of partitions. */
export interface StepMsg {
  /** Global step number (over all epochs of this session), from 0. */
  step: number;
  epoch: number;
  /** Step within the epoch. */
  s: number;
  /** The mean gradient of step `step - 1` (null: none, at step 0 or after an empty batch). */
  apply: Float32Array | null;
  /** Replaces the replica by this state (which already includes step - 1's update). */
  state: ReplicaState | null;
  /** Global partition index of each partition passed (seeds their row orders). */
  parts: number[];
}

export interface ReplicaState {
  weights: WeightsData;
  optimizer: OptimizerStateData;
}

export type StepResult =
  | { ok: true; grad: Float32Array; loss: number; rows: number; where: string }
  | { ok: false; needState: true; where: string };

interface Replica {
  model: tf.LayersModel;
  vars: tf.Variable[];
  optimizer: tf.Optimizer;
  /** Last step whose update this replica includes. */
  through: number;
  buf: BatchBuffer;
  targets: Map<number, Float32Array>;
  orders: Map<number, { epoch: number; order: Int32Array }>;
}

const replicas = new Map<string, Replica>();
/** Sessions kept per thread at most (the oldest is dropped): a crashed client leaks no more. */
const MAX_SESSIONS = 4;

/** Identity of the thread running this task (process and thread). */
export function whereTask(part: unknown): string {
  void part;
  return `${process.pid}:${threadId}`;
}

function drop(id: string): void {
  const r = replicas.get(id);
  if (!r) return;
  replicas.delete(id);
  r.optimizer.dispose();
  r.model.dispose();
}

async function install(spec: SessionSpec, state: ReplicaState, through: number, cols: number): Promise<Replica> {
  drop(spec.id);
  while (replicas.size >= MAX_SESSIONS) drop(replicas.keys().next().value as string);
  const model = modelFromTopology(spec.topology);
  setWeights(model, state.weights);
  const vars = trainableVariables(model);
  const optimizer = makeOptimizer(spec.optimizer);
  await setOptimizerState(optimizer, state.optimizer, vars.map((v) => v.name));
  const r: Replica = { model, vars, optimizer, through, buf: new BatchBuffer(cols, 1024), targets: new Map(), orders: new Map() };
  replicas.set(spec.id, r);
  return r;
}

/** One step on this worker's partitions: apply the previous update, return this step's gradient sum. */
export async function dataParallelStep(spec: SessionSpec, msg: StepMsg, ...parts: XYPartition[]): Promise<StepResult> {
  await tfReady();
  const where = whereTask(null);
  if (parts.length !== msg.parts.length) throw new RangeError(`${TF_PREFIX} step ${msg.step}: ${parts.length} partitions for ${msg.parts.length} indices`);
  let r = replicas.get(spec.id);
  if (msg.state) r = await install(spec, msg.state, msg.step - 1, parts[0].X.cols);
  else if (r === undefined || r.through < msg.step - 2 || r.through > msg.step - 1) return { ok: false, needState: true, where };
  else if (r.through === msg.step - 2) {
    if (msg.apply) applyMeanGradient(r.optimizer, r.vars, msg.apply);
    r.through = msg.step - 1;
  }
  const S = stepsPerEpoch(spec.plan);
  r.buf.reset();
  for (let k = 0; k < parts.length; k++) {
    const p = parts[k];
    const idx = msg.parts[k];
    let t = r.targets.get(idx);
    if (!t) {
      t = encodeTargets(p.y, spec.classes, `partition ${idx}`);
      r.targets.set(idx, t);
    }
    let o = r.orders.get(idx);
    if (!o || o.epoch !== msg.epoch) {
      o = { epoch: msg.epoch, order: rowOrder(spec.plan, msg.epoch, idx, p.X.rows) };
      r.orders.set(idx, o);
    }
    const [lo, hi] = chunkBounds(p.X.rows, msg.s, S);
    r.buf.append(p.X, t, o.order, lo, hi);
  }
  const g = gradientSum(r.model, r.vars, spec.loss, spec.nOutputs, r.buf);
  return { ok: true, grad: g.grad, loss: g.loss, rows: g.rows, where };
}

export interface PartitionInfo {
  rows: number;
  cols: number;
  /** Distinct labels, sorted (classifiers), else null. */
  labels: Float64Array | null;
  /** The thread holding the partition (whereTask). */
  where: string;
}

/** Shape, labels and holder of one partition; non-finite values fail naming the partition. */
export function partitionInfoTask(part: XYPartition, index: number, classifier: boolean): PartitionInfo {
  const { X, y } = part;
  if (!X || !(X.data instanceof Float64Array) || X.data.length !== X.rows * X.cols) {
    throw new TypeError(`${TF_PREFIX} partition ${index}: X must be a Matrix { rows, cols, data: Float64Array }`);
  }
  if (!(y instanceof Float64Array) || y.length !== X.rows) throw new RangeError(`${TF_PREFIX} partition ${index}: y has ${y?.length} values, X has ${X.rows} rows`);
  const d = X.data;
  for (let i = 0; i < d.length; i++) {
    if (!Number.isFinite(d[i])) throw new RangeError(`${TF_PREFIX} partition ${index}: X has a non-finite value (${d[i]}) at row ${Math.floor(i / X.cols)}, column ${i % X.cols}`);
  }
  for (let i = 0; i < y.length; i++) if (!Number.isFinite(y[i])) throw new RangeError(`${TF_PREFIX} partition ${index}: y has a non-finite value (${y[i]}) at row ${i}`);
  return { rows: X.rows, cols: X.cols, labels: classifier ? Float64Array.from(new Set(y)).sort() : null, where: whereTask(null) };
}

/** Frees this thread's replica of a session (run once per group at the end). */
export function dropSession(id: string, ...parts: unknown[]): boolean {
  void parts;
  const had = replicas.has(id);
  drop(id);
  return had;
}

// Replicas live in the thread that made them; these tasks find them (or say where they are) there.
threadBound(whereTask, dataParallelStep, partitionInfoTask, dropSession);
