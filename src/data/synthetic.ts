/**
 * Synthetic data made on the workers, seeded and reproducible regardless of partitioning (row
 * i depends only on the seed and i; see random.ts), and trainTestSplit of any Frame. Columns are
 * x0..x{p-1} (float64) and y (int32 class labels, or float64 targets for regression).
 * Algorithms are sklearn's in spirit, not bit for bit:
 * - makeClassification: class c uniform over nClasses; informative feature j = centre[c][j]
 *   (a +-classSep hypercube vertex) + N(0, 1); the other features N(0, 1).
 * - makeRegression: X ~ N(0, 1); y = X coef + bias + noise * N(0, 1), coef = `regressionCoef`.
 * - makeBlobs: cluster c uniform over `centers`, centres uniform in `centerBox`, x = centre +
 *   clusterStd * N(0, 1).
 */
import { SkeinError } from "../errors.js";
import { task, type Part } from "./collection.js";
import { Frame } from "./frame.js";
import {
  blobsTask,
  classificationTask,
  regressionTask,
  splitTask,
  type BlobsSpec,
  type ClassificationSpec,
  type RegressionSpec,
} from "./synthetic-tasks.js";
import type { FramePartition, Schema } from "./types.js";

export { regressionCoef } from "./synthetic-tasks.js";

interface Common {
  nSamples: number;
  /** Default: one partition per 100,000 rows (at least 1). */
  npartitions?: number;
  /** Default 0. */
  seed?: number;
}

export interface ClassificationOptions extends Common {
  nFeatures?: number;
  nInformative?: number;
  nClasses?: number;
  classSep?: number;
}

export interface RegressionOptions extends Common {
  nFeatures?: number;
  nInformative?: number;
  noise?: number;
  bias?: number;
}

export interface BlobsOptions extends Common {
  nFeatures?: number;
  centers?: number;
  clusterStd?: number;
  centerBox?: [number, number];
}

function positiveInt(name: string, v: number, min = 1): number {
  if (!Number.isInteger(v) || v < min) throw new SkeinError(`skein data: ${name} must be an integer >= ${min}, got ${v}`);
  return v;
}

function plan<S>(o: Common, fn: (spec: S, start: number, end: number) => FramePartition, spec: S, schema: Schema): Frame {
  const n = positiveInt("nSamples", o.nSamples, 0);
  const np = positiveInt("npartitions", o.npartitions ?? Math.max(1, Math.ceil(n / 100_000)));
  const parts: Part<FramePartition>[] = [];
  const rows: number[] = [];
  for (let i = 0; i < np; i++) {
    const start = Math.floor((i * n) / np);
    const end = Math.floor(((i + 1) * n) / np);
    parts.push(task(fn as (s: S, a: number, b: number) => FramePartition, spec, start, end));
    rows.push(end - start);
  }
  return new Frame(parts, rows, schema);
}

function schemaFor(p: number, y: "int32" | "float64"): Schema {
  return [...Array.from({ length: p }, (_, j) => ({ name: `x${j}`, dtype: "float64" as const })), { name: "y", dtype: y }];
}

export function makeClassification(o: ClassificationOptions): Frame {
  const nFeatures = positiveInt("nFeatures", o.nFeatures ?? 20);
  const nInformative = positiveInt("nInformative", Math.min(o.nInformative ?? 2, nFeatures), 0);
  const nClasses = positiveInt("nClasses", o.nClasses ?? 2, 2);
  const spec: ClassificationSpec = { seed: o.seed ?? 0, nFeatures, nInformative, nClasses, classSep: o.classSep ?? 1 };
  return plan(o, classificationTask, spec, schemaFor(nFeatures, "int32"));
}

export function makeRegression(o: RegressionOptions): Frame {
  const nFeatures = positiveInt("nFeatures", o.nFeatures ?? 100);
  const nInformative = positiveInt("nInformative", Math.min(o.nInformative ?? 10, nFeatures), 0);
  const spec: RegressionSpec = { seed: o.seed ?? 0, nFeatures, nInformative, noise: o.noise ?? 0, bias: o.bias ?? 0 };
  return plan(o, regressionTask, spec, schemaFor(nFeatures, "float64"));
}

export function makeBlobs(o: BlobsOptions): Frame {
  const nFeatures = positiveInt("nFeatures", o.nFeatures ?? 2);
  const centers = positiveInt("centers", o.centers ?? 3);
  const spec: BlobsSpec = { seed: o.seed ?? 0, nFeatures, centers, clusterStd: o.clusterStd ?? 1, box: o.centerBox ?? [-10, 10] };
  return plan(o, blobsTask, spec, schemaFor(nFeatures, "int32"));
}

export interface SplitOptions {
  /** Fraction of rows in the test set (default 0.25). */
  testSize?: number;
  seed?: number;
}

/**
 * `[train, test]`: each row goes to test with probability `testSize`, decided by a hash of
 * (seed, global row index), so the split does not depend on partitioning. Needs every row
 * count (persist() a filtered frame first); the outputs' counts are unknown until persisted.
 */
export function trainTestSplit(frame: Frame, opts: SplitOptions = {}): [Frame, Frame] {
  const testSize = opts.testSize ?? 0.25;
  if (!(testSize > 0 && testSize < 1)) throw new SkeinError(`skein data: testSize must be in (0, 1), got ${testSize}`);
  if (frame.knownRows === undefined) {
    throw new SkeinError("skein data: trainTestSplit needs every partition's row count; persist() the frame first");
  }
  const seed = opts.seed ?? 0;
  const offsets: number[] = [];
  let at = 0;
  for (const r of frame.rows) {
    offsets.push(at);
    at += r as number;
  }
  const side = (test: boolean) =>
    new Frame(
      frame.parts.map((p, i) => task(splitTask, p, offsets[i], seed, testSize, test)),
      frame.rows.map(() => undefined),
      frame.schema,
    );
  return [side(false), side(true)];
}
