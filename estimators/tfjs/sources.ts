/**
 * Where a fit's rows come from, checked and encoded before training: a local Matrix, local
 * partitions, or partitions on the cluster (one info task each: shape, labels, and the worker
 * thread holding it, which groups the partitions for data-parallel steps).
 */
import { Client } from "../../src/client/client.js";
import type { Future } from "../../src/client/future.js";
import type { Matrix } from "../../src/data/matrix.js";
import type { XYPartition } from "../../src/data/types.js";
import { getDefaultComputer } from "../../src/graph/delayed.js";
import { PREFIX, checkXY } from "../base.js";
import { groupIndices } from "./distributed.js";
import { partitionInfoTask, type PartitionInfo } from "./distributed-tasks.js";
import { encodeTargets } from "./targets.js";
import type { TrainPart } from "./trainer.js";

/**
 * What `fit` accepts besides a local Matrix: partitions on the cluster (as the GLM estimators),
 * or partitions in this process (`XYPartition[]`), trained here on the batches a cluster fit of
 * the same partitions would use.
 */
export type KerasDistributedInput =
  | readonly Future<XYPartition>[]
  | readonly XYPartition[]
  | { toFutures(opts: { client?: Client }): readonly Future<XYPartition>[] };

export type Source =
  | { kind: "local"; parts: TrainPart[]; nFeatures: number; rows: number }
  | { kind: "cluster"; client: Client; parts: readonly Future<XYPartition>[]; groups: number[][]; nFeatures: number; rows: number };

export interface SourceWithLabels {
  source: Source;
  /** Sorted labels over every partition (classifiers), else null. */
  labels: Float64Array | null;
}

export function isMatrix(v: unknown): v is Matrix {
  return typeof v === "object" && v !== null && (v as Matrix).data instanceof Float64Array && typeof (v as Matrix).rows === "number";
}

export function isLocalParts(v: unknown): v is readonly XYPartition[] {
  return Array.isArray(v) && v.length > 0 && v.every((p) => typeof p === "object" && p !== null && isMatrix((p as XYPartition).X) && (p as XYPartition).y instanceof Float64Array);
}

/** One local Matrix (already checked by the estimator's fit) with its targets encoded by `labels`. */
export function matrixSource(owner: string, X: Matrix, y: Float64Array, labels: Float64Array | null): Source {
  return { kind: "local", parts: [{ X, targets: encodeTargets(y, labels, `${owner}.fit`) }], nFeatures: X.cols, rows: X.rows };
}

/** The labels a fit encodes with: those seen, or (continuing a fit) the fitted classes, which must contain them. */
function labelsFor(owner: string, seen: Set<number>, fixed: Float64Array | null): Float64Array {
  if (fixed === null) return Float64Array.from(seen).sort();
  for (const v of seen) {
    if (!fixed.includes(v)) throw new RangeError(`${PREFIX} ${owner}.fit: label ${v} is not one of the fitted classes [${Array.from(fixed).join(", ")}]`);
  }
  return fixed;
}

/** Local partitions; `fixedClasses`: the classes of the fit being continued (warmStart). */
export function localPartsSource(owner: string, parts: readonly XYPartition[], classifier: boolean, fixedClasses: Float64Array | null = null): SourceWithLabels {
  const cols = parts[0].X.cols;
  let rows = 0;
  const labelSet = new Set<number>();
  const tags = classifier ? { classifier: true } : { regressor: true };
  parts.forEach((p, i) => {
    checkXY(owner, `fit (partition ${i})`, p.X, p.y, tags);
    if (p.X.cols !== cols) throw new RangeError(`${PREFIX} ${owner}.fit: partition ${i} has ${p.X.cols} columns, partition 0 has ${cols}`);
    rows += p.X.rows;
    if (classifier) for (const v of p.y) labelSet.add(v);
  });
  if (rows === 0) throw new RangeError(`${PREFIX} ${owner}.fit: the partitions have 0 rows`);
  const labels = classifier ? labelsFor(owner, labelSet, fixedClasses) : null;
  const trainParts = parts.map((p, i) => ({ X: p.X, targets: encodeTargets(p.y, labels, `partition ${i}`) }));
  return { source: { kind: "local", parts: trainParts, nFeatures: cols, rows }, labels };
}

export async function clusterSource(
  owner: string,
  input: KerasDistributedInput,
  client: Client | undefined,
  classifier: boolean,
  fixedClasses: Float64Array | null = null,
): Promise<SourceWithLabels> {
  const c = client ?? getDefaultComputer();
  if (!(c instanceof Client) || c.closed) {
    throw new TypeError(`${PREFIX} ${owner}: fitting on a partitioned collection needs a connected client: call Client.connect() first or pass { client }`);
  }
  const parts = Array.isArray(input) ? (input as readonly Future<XYPartition>[]) : (input as Exclude<KerasDistributedInput, readonly unknown[]>).toFutures({ client: c });
  if (parts.length === 0) throw new RangeError(`${PREFIX} ${owner}.fit: the collection has no partitions`);
  const fs = parts.map((p, i) => c.submitWith({ pure: false }, partitionInfoTask, p, i, classifier));
  let infos: PartitionInfo[];
  try {
    infos = await c.gather(fs);
  } finally {
    for (const f of fs) f.release();
  }
  const cols = infos[0].cols;
  let rows = 0;
  const labelSet = new Set<number>();
  infos.forEach((info, i) => {
    if (info.cols !== cols) throw new RangeError(`${PREFIX} ${owner}.fit: partition ${i} has ${info.cols} columns, partition 0 has ${cols}`);
    rows += info.rows;
    if (info.labels) for (const v of info.labels) labelSet.add(v);
  });
  if (rows === 0) throw new RangeError(`${PREFIX} ${owner}.fit: the collection has 0 rows`);
  const labels = classifier ? labelsFor(owner, labelSet, fixedClasses) : null;
  return { source: { kind: "cluster", client: c, parts, groups: groupIndices(infos.map((x) => x.where)), nFeatures: cols, rows }, labels };
}
