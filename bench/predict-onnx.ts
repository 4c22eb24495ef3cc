/**
 * ONNX batch prediction: onnxruntime inside skein's workers (OnnxModel, LocalCluster(2 worker
 * processes x 1 thread), one session per worker) reading 20 Parquet files, against one
 * onnxruntime process (this Node process, onnxruntime-node's public API, default intra-op
 * threads = every core) measured in the same run. Python's onnxruntime is not installed with the
 * anchors (shared/anchors has no ONNX script), so the "one onnxruntime process" is Node's: the same
 * native library the workers run.
 *
 *   npm run bench -- predict-onnx [--quick] [--rows N] [--repeat R] [--keep]
 *
 * Shape as bench_predict.py: N x 16 float64 (10,000,000; --quick 200,000) in 20 partitions, a
 * logistic regression fitted on a 100,000-row sample, predict_proba then the sum of column 1.
 * Here the model is skein's LogisticRegression exported with toOnnx (float64 graph). The data is
 * skein's makeClassification (seed 0) written by writeParquet from the workers (snappy).
 *
 * Cases (one JSON line each; ratio = ours / anchor, > 1: skein ahead):
 *  - onnx_workers_parquet_vs_single_process_memory_<N>: skein end to end (Parquet read on the
 *    workers + ORT + sum) vs one ORT process on data already in memory (the NumPy-style
 *    in-memory baseline; target 0.5 as for NumPy).
 *  - onnx_workers_parquet_vs_single_process_parquet_<N>: the same skein figure vs one process
 *    reading the same files with skein's Parquet reader and running ORT on each.
 *  - onnx_parallelpostfit_parquet_vs_single_process_memory_<N>: as the first, through
 *    ParallelPostFit(OnnxModel).predictProba (a declared-schema Frame) then a column sum.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import * as ort from "onnxruntime-node";
import { Client, delayed, type Delayed } from "../src/index.js";
import { makeClassification, readParquet, readRowGroups, toMatrix, writeParquet, type FramePartition } from "../src/data/index.js";
import type { Matrix } from "../src/data/matrix.js";
import { fromJSON, type EstimatorJSON } from "../estimators/base.js";
import { LogisticRegression } from "../estimators/glm.js";
import { OnnxModel, onnxSessionStats, toOnnx, type OnnxSessionStats } from "../estimators/onnx/index.js";
import { ParallelPostFit } from "../estimators/parallel.js";
import { repoRoot } from "./lib/anchor.js";
import { intOption, parseArgs } from "./lib/args.js";
import { emit, progress, timeit } from "./lib/report.js";

const BENCH = "predict-onnx";
const COLS = 16;
const FILES = 20;
const FEATURES = Array.from({ length: COLS }, (_, j) => `x${j}`);
const CLUSTER = "LocalCluster(nWorkers 2 x threadsPerWorker 1, processes)";
const ANCHOR_NOTE =
  "anchor: one onnxruntime process = this Node process with onnxruntime-node (public API, default intra-op threads); Python onnxruntime is not installed with shared/anchors";

/** predict_proba(X)[:, 1].sum() of one Parquet partition through OnnxModel (a task on the workers). */
export function onnxProbaSum(part: FramePartition, model: EstimatorJSON, features: readonly string[]): number {
  const p = (fromJSON(model) as OnnxModel).predictProba(toMatrix(part, features));
  let s = 0;
  for (let i = 1; i < p.data.length; i += 2) s += p.data[i];
  return s;
}

/** Sum of one float64 column of a partition (a task: the ParallelPostFit output reduction). */
export function columnSum(part: FramePartition, name: string): number {
  const a = part.columns.get(name) as Float64Array;
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}

export function addAll(...xs: number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s;
}

/** A tree of addAll over `leaves` (fan-in 8). */
function treeSum(leaves: Delayed<number>[]): Delayed<number> {
  let level = leaves;
  while (level.length > 1) {
    const next: Delayed<number>[] = [];
    for (let i = 0; i < level.length; i += 8) next.push(delayed(addAll)(...level.slice(i, i + 8)));
    level = next;
  }
  return level[0];
}

/** proba[:, 1] summed over the chunks with one public-API session (the single-process figure). */
async function singleProcessSum(session: ort.InferenceSession, chunks: Iterable<Matrix> | AsyncIterable<Matrix>): Promise<number> {
  let s = 0;
  for await (const m of chunks) {
    const out = await session.run({ X: new ort.Tensor("float64", m.data, [m.rows, m.cols]) }, ["probabilities"]);
    const p = out.probabilities.data as Float64Array;
    for (let i = 1; i < p.length; i += 2) s += p[i];
  }
  return s;
}

export async function run(argv: readonly string[]): Promise<void> {
  const args = parseArgs(argv, { flags: ["quick", "keep", "no-anchor", "anchor-recorded"], values: ["rows", "repeat"] }, "skein bench predict-onnx");
  const quick = args.flags.has("quick");
  const rows = intOption(args, "rows", quick ? 200_000 : 10_000_000);
  const repeat = intOption(args, "repeat", quick ? 1 : 3);
  const scratch = join(repoRoot(), "bench", "out", "predict-onnx-data");
  const pqDir = join(scratch, `parquet-n${rows}`);
  const modelPath = join(scratch, "logistic.onnx");
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });

  const client = await Client.connect({ nWorkers: 2, threadsPerWorker: 1, dashboard: false });
  try {
    // 1. Data (written by the workers) and a model fitted on a separate 100k-row sample.
    progress(`data: ${rows} x ${COLS} float64 in ${FILES} Parquet files ...`);
    const written = await writeParquet(makeClassification({ nSamples: rows, nFeatures: COLS, nInformative: 8, npartitions: FILES, seed: 0 }).select(FEATURES), pqDir, { client });
    const sample = await makeClassification({ nSamples: 100_000, nFeatures: COLS, nInformative: 8, npartitions: 1, seed: 1 }).splitXY("y").compute({ client });
    const lr = await new LogisticRegression().fit(sample.X, sample.y);
    writeFileSync(modelPath, toOnnx(lr));
    const model = await OnnxModel.load(modelPath);
    const json = model.toJSON();

    // 2. skein: Parquet read + ORT on the workers, tree-summed.
    let ours = NaN;
    const pipeline = async () => {
      const frame = await readParquet(pqDir, { columns: FEATURES });
      const fut = client.compute(treeSum(frame.parts.map((p) => delayed(onnxProbaSum)(p as never, json, FEATURES))));
      ours = await fut.result();
      fut.release();
    };
    await pipeline(); // warm-up: module imports and one session per worker
    await sleep(100);
    const t = await timeit(pipeline, repeat, { after: () => sleep(100) });
    const stats: OnnxSessionStats[] = await Promise.all(
      (await client.workers()).map((w) => client.submitWith({ workers: w.address, pure: false }, onnxSessionStats).result()),
    );
    progress(`skein workers: ${(rows / t.median).toFixed(0)} rows/s; sessions per worker ${stats.map((s) => s.created).join(", ")}, runs ${stats.map((s) => s.runs).join(", ")}`);

    // 3. ParallelPostFit(OnnxModel).predictProba -> Frame -> sum of proba_1.
    let viaPpf = NaN;
    const ppf = new ParallelPostFit(model);
    const ppfPipeline = async () => {
      const frame = await readParquet(pqDir, { columns: FEATURES });
      const out = await ppf.predictProba(frame, { columns: FEATURES, client });
      const name = out.columns[out.columns.length - 1];
      const fut = client.compute(treeSum(out.parts.map((p) => delayed(columnSum)(p as never, name))));
      viaPpf = await fut.result();
      fut.release();
    };
    await ppfPipeline();
    await sleep(100);
    const tp = await timeit(ppfPipeline, repeat, { after: () => sleep(100) });

    // 4. One onnxruntime process: this one, default threads; in memory, then from the files.
    const session = await ort.InferenceSession.create(modelPath);
    const fileList = written.map((w) => w.path);
    const inMemory: Matrix[] = [];
    for (const f of fileList) inMemory.push(toMatrix(await readRowGroups(f, { columns: FEATURES }), FEATURES));
    let single = NaN;
    await singleProcessSum(session, inMemory);
    const tm = await timeit(async () => (single = await singleProcessSum(session, inMemory)), Math.max(repeat, 3));
    inMemory.length = 0;
    async function* fromFiles(): AsyncGenerator<Matrix> {
      for (const f of fileList) yield toMatrix(await readRowGroups(f, { columns: FEATURES }), FEATURES);
    }
    let singleFiles = NaN;
    const tf = await timeit(async () => (singleFiles = await singleProcessSum(session, fromFiles())), repeat);
    await session.release();

    const check = (what: string, v: number) => {
      const rel = Math.abs(v - single) / Math.abs(single);
      if (!(rel < 1e-9)) throw new Error(`skein bench predict-onnx: ${what} sum ${v} differs from the single-process sum ${single}`);
      return rel;
    };
    const common = {
      unit: "rows/s",
      better: "higher" as const,
      anchor_source: "measured" as const,
      note: ANCHOR_NOTE,
      rows,
      cols: COLS,
      files: fileList.length,
      repeat,
      cluster: CLUSTER,
      sessions_created_per_worker: stats.map((s) => s.created),
      onnxruntime: ort.env.versions.common,
    };
    emit({
      bench: BENCH,
      case: `onnx_workers_parquet_vs_single_process_memory_${rows}`,
      ours: rows / t.median,
      anchor: rows / tm.median,
      target: 0.5,
      ...common,
      anchor_case: "single Node process, onnxruntime-node, data in memory (20 chunks)",
      ours_median_s: t.median,
      ours_samples_s: t.samples,
      anchor_median_s: tm.median,
      anchor_samples_s: tm.samples,
      sum: ours,
      sum_rel_err: check("workers", ours),
    });
    emit({
      bench: BENCH,
      case: `onnx_workers_parquet_vs_single_process_parquet_${rows}`,
      ours: rows / t.median,
      anchor: rows / tf.median,
      target: null,
      ...common,
      anchor_case: "single Node process, skein's Parquet reader file by file + onnxruntime-node",
      ours_median_s: t.median,
      anchor_median_s: tf.median,
      anchor_samples_s: tf.samples,
      sum_rel_err: check("single process from files", singleFiles),
    });
    emit({
      bench: BENCH,
      case: `onnx_parallelpostfit_parquet_vs_single_process_memory_${rows}`,
      ours: rows / tp.median,
      anchor: rows / tm.median,
      target: 0.5,
      ...common,
      anchor_case: "single Node process, onnxruntime-node, data in memory (20 chunks)",
      ours_median_s: tp.median,
      ours_samples_s: tp.samples,
      anchor_median_s: tm.median,
      sum_rel_err: check("ParallelPostFit", viaPpf),
    });
  } finally {
    await client.close();
    if (!args.flags.has("keep")) rmSync(scratch, { recursive: true, force: true });
  }
}
