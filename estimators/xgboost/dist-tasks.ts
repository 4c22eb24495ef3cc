/**
 * Worker-side tasks of distributed XGBoost training (dist.ts drives them from the client):
 * where is a partition (`locatePart`), which process is this worker (`processIdentity`), label
 * classes of a partition (`partitionClasses`), and the participant itself (`xgbParticipant`).
 *
 * The participant runs synchronously, start to end, on one task thread: XGBoost 1.7's
 * communicator (and rabit's engine under it) is thread-local, so joining the collective,
 * building the DMatrix, training and leaving must all happen on the same native thread.
 */
import { hostname } from "node:os";
import type { Matrix } from "../../src/data/matrix.js";
import type { XYPartition } from "../../src/data/types.js";
import type { BoosterParams } from "./booster.js";
import { communicatorAbandon, communicatorFinalize, communicatorInit, communicatorRank, communicatorWorldSize } from "./collective.js";
import { DMatrix } from "./dmatrix.js";
import { train } from "./train.js";
import type { EvalsResult } from "./train.js";
import type { TrackerAddress } from "./tracker.js";

/** A partition as the tasks receive it: X and y (XYCollection), or a matrix (MatrixCollection). */
export type DistPart = XYPartition | Matrix;

/**
 * How a partition becomes X / label / weight: for a matrix, the label and weight columns (by
 * index, removed from X); for an XYPartition, y is the label and `weight` is unused.
 */
export interface PartLayout {
  label: number;
  weight: number;
}

export interface PartInfo {
  /** `host:pid` of the worker process that ran the task (where the partition is). */
  process: string;
  /** That worker's name, when its process knows it (`skein worker --name`, LocalCluster), else null. */
  name: string | null;
  rows: number;
  cols: number;
}

function isXY(p: DistPart): p is XYPartition {
  return (p as XYPartition).X !== undefined && (p as XYPartition).y !== undefined;
}

/** `host:pid`: the same for every task thread of one worker process. */
export function processIdentity(): string {
  return `${hostname()}:${process.pid}`;
}

/** Runs where the partition is (the scheduler places it with its input): reports that process and the shape. */
export function locatePart(part: DistPart): PartInfo {
  const X = isXY(part) ? part.X : part;
  return { process: processIdentity(), name: process.env.SKEIN_WORKER_NAME ?? null, rows: X.rows, cols: X.cols };
}

/** The distinct labels of a partition (classifiers encode them over all partitions). */
export function partitionClasses(part: DistPart, layout: PartLayout): Float64Array {
  const seen = new Set<number>();
  if (isXY(part)) {
    for (let i = 0; i < part.y.length; i++) seen.add(part.y[i]);
  } else {
    const { rows, cols, data } = part;
    for (let i = 0; i < rows; i++) seen.add(data[i * cols + layout.label]);
  }
  return Float64Array.from(seen).sort();
}

interface LocalData {
  rows: number;
  cols: number;
  data: Float64Array;
  label: Float64Array | null;
  weight: Float64Array | null;
}

/** One row-major block of this worker's partitions (one copy: XGBoost takes one dense array). */
export function assemble(parts: readonly DistPart[], layout: PartLayout, nFeatures: number, what: string): LocalData {
  let rows = 0;
  for (const p of parts) rows += (isXY(p) ? p.X : p).rows;
  const data = new Float64Array(rows * nFeatures);
  const hasLabel = parts.length === 0 || isXY(parts[0]) || layout.label >= 0;
  const label = hasLabel ? new Float64Array(rows) : null;
  const weight = layout.weight >= 0 ? new Float64Array(rows) : null;
  let at = 0;
  parts.forEach((p, k) => {
    if (isXY(p)) {
      if (p.X.cols !== nFeatures) throw new RangeError(`skein xgboost: ${what} partition ${k} has ${p.X.cols} features, expected ${nFeatures}`);
      if (p.y.length !== p.X.rows) throw new RangeError(`skein xgboost: ${what} partition ${k} has ${p.y.length} labels for ${p.X.rows} rows`);
      data.set(p.X.data, at * nFeatures);
      label!.set(p.y, at);
      at += p.X.rows;
      return;
    }
    const { rows: n, cols, data: src } = p;
    const skip = (layout.label >= 0 ? 1 : 0) + (layout.weight >= 0 ? 1 : 0);
    if (cols - skip !== nFeatures) throw new RangeError(`skein xgboost: ${what} partition ${k} has ${cols - skip} features, expected ${nFeatures}`);
    if (skip === 0) {
      data.set(src, at * nFeatures);
    } else {
      for (let i = 0; i < n; i++) {
        const row = i * cols;
        let o = (at + i) * nFeatures;
        for (let j = 0; j < cols; j++) {
          if (j === layout.label || j === layout.weight) continue;
          data[o++] = src[row + j];
        }
        if (label) label[at + i] = src[row + layout.label];
        if (weight) weight[at + i] = src[row + layout.weight];
      }
    }
    at += n;
  });
  return { rows, cols: nFeatures, data, label, weight };
}

/** Labels mapped to 0..k-1 by the sorted `classes` (classifiers), in place. */
function encodeLabels(label: Float64Array, classes: readonly number[], what: string): void {
  if (classes.length === 2 && classes[0] === 0 && classes[1] === 1) {
    for (let i = 0; i < label.length; i++) {
      if (label[i] !== 0 && label[i] !== 1) throw new RangeError(`skein xgboost: ${what} has label ${label[i]}, not among the classes (0, 1)`);
    }
    return;
  }
  const index = new Map<number, number>();
  classes.forEach((c, i) => index.set(c, i));
  for (let i = 0; i < label.length; i++) {
    const k = index.get(label[i]);
    if (k === undefined) throw new RangeError(`skein xgboost: ${what} has label ${label[i]}, not among the classes (${classes.join(", ")})`);
    label[i] = k;
  }
}

export interface ParticipantSpec {
  /** DMLC_TASK_ID: the tracker ranks participants by it. */
  taskId: string;
  tracker: TrackerAddress;
  /** Attempts to reach the tracker (rabit sleeps 2 s, 4 s, ... between them). */
  connectRetry: number;
  params: BoosterParams;
  numBoostRound: number;
  earlyStoppingRounds?: number;
  maximize?: boolean;
  evalNames: string[];
  layout: PartLayout;
  evalLayouts: PartLayout[];
  nFeatures: number;
  featureNames: string[] | null;
  missing?: number;
  /** Sorted classes to encode labels by (classifiers), or null. */
  classes: number[] | null;
  xgbModel?: Uint8Array;
  /** Threads for XGBoost on this worker. */
  nthread: number;
  /** TCP_NODELAY on the links between participants (rabit's default is off). */
  tcpNoDelay: boolean;
}

export interface ParticipantResult {
  taskId: string;
  rank: number;
  worldSize: number;
  rows: number;
  /** The model as UBJ, from rank 0 only (every rank holds the same model). */
  model: Uint8Array | null;
  evalsResult: EvalsResult;
  bestIteration: number | null;
  bestScore: number | null;
  /** Seconds: building the DMatrix, training. */
  dmatrixSeconds: number;
  trainSeconds: number;
}

function matrixOf(d: LocalData, spec: ParticipantSpec): DMatrix {
  return DMatrix.create(
    { rows: d.rows, cols: d.cols, data: d.data },
    {
      label: d.label ?? undefined,
      weight: d.weight ?? undefined,
      missing: spec.missing,
      nthread: spec.nthread,
      featureNames: spec.featureNames ?? undefined,
    },
  );
}

/**
 * One participant: joins the tracker, builds its DMatrix from this worker's partitions, trains
 * with the others (XGBoost allreduces through the collective), leaves. Synchronous on purpose.
 */
export function xgbParticipant(spec: ParticipantSpec, trainParts: readonly DistPart[], evalParts: readonly (readonly DistPart[])[]): ParticipantResult {
  const local = assemble(trainParts, spec.layout, spec.nFeatures, "training");
  if (spec.classes && local.label) encodeLabels(local.label, spec.classes, "training data");
  const localEvals = evalParts.map((parts, i) => {
    const d = assemble(parts, spec.evalLayouts[i], spec.nFeatures, `eval set "${spec.evalNames[i]}"`);
    if (spec.classes && d.label) encodeLabels(d.label, spec.classes, `eval set "${spec.evalNames[i]}"`);
    return d;
  });
  try {
    communicatorInit({
      ...spec.tracker,
      DMLC_TASK_ID: spec.taskId,
      DMLC_WORKER_CONNECT_RETRY: spec.connectRetry,
      // Allreduces are many small messages: without TCP_NODELAY each can wait for a delayed ACK.
      rabit_enable_tcp_no_delay: spec.tcpNoDelay ? "true" : "false",
    });
  } catch (err) {
    communicatorAbandon();
    throw new Error(`skein xgboost: participant ${spec.taskId} could not join the tracker at ${spec.tracker.DMLC_TRACKER_URI}:${spec.tracker.DMLC_TRACKER_PORT}: ${(err as Error).message}`);
  }
  const mats: DMatrix[] = [];
  try {
    const rank = communicatorRank();
    const t0 = performance.now();
    const dtrain = matrixOf(local, spec);
    mats.push(dtrain);
    const evals = localEvals.map((d, i): [DMatrix, string] => {
      const m = matrixOf(d, spec);
      mats.push(m);
      return [m, spec.evalNames[i]];
    });
    const t1 = performance.now();
    const res = train({ ...spec.params, nthread: spec.nthread }, dtrain, {
      numBoostRound: spec.numBoostRound,
      evals,
      earlyStoppingRounds: spec.earlyStoppingRounds,
      maximize: spec.maximize,
      xgbModel: spec.xgbModel,
    });
    const t2 = performance.now();
    try {
      return {
        taskId: spec.taskId,
        rank,
        worldSize: communicatorWorldSize(),
        rows: local.rows,
        model: rank === 0 ? res.booster.save("ubj") : null,
        evalsResult: res.evalsResult,
        bestIteration: res.bestIteration ?? null,
        bestScore: res.bestScore ?? null,
        dmatrixSeconds: (t1 - t0) / 1000,
        trainSeconds: (t2 - t1) / 1000,
      };
    } finally {
      res.booster.free();
    }
  } finally {
    for (const m of mats) m.free();
    communicatorFinalize();
  }
}
