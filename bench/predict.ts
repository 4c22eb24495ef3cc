/**
 * Batch prediction: 10,000,000 rows x 16 float64 columns in 20 Parquet files, a fitted logistic
 * regression, predictProba -> sum of P(y=1), on LocalCluster(2 worker processes x 1 thread)
 * with ParallelPostFit; against Dask (same data, same run) and the single-process NumPy baseline.
 *
 *   npm run bench -- predict [--quick] [--rows N] [--repeat R] [--no-anchor] [--keep]
 *
 * Data: the anchor (shared/anchors/python/bench_predict.py) draws X with numpy seed 0 and exports
 * its 20 partitions and the model's 100,000-row training sample raw (--export); skein writes each
 * partition as one Parquet file (snappy, 131,072-row row groups) and fits its LogisticRegression
 * (C = 1, lbfgs, as scikit-learn's default) on the training sample. Without the anchor the same
 * shapes are drawn here (seeded). The model fit is not timed.
 *
 * Cases (one JSON line each; rows/s, higher is better):
 *   parquet_read_predict_sum_<N>: readParquet -> ParallelPostFit.predictProba -> sum, end to end
 *     (planning from footers included) vs Dask's end-to-end pipeline from files: dd.read_csv ->
 *     map_partitions(predict_proba) -> sum (csv_read_predict_sum; Debian ships no Parquet engine
 *     for Dask). Target 3x.
 *   parquet_read_predict_sum_vs_numpy_<N>: the same figure vs NumPy's in-memory
 *     model.predict_proba(X)[:, 1].sum() in one process (numpy_single_process). Target 0.5x.
 *   memory_predict_sum_<N>: partitions already in worker memory (persisted first, not timed) vs
 *     Dask's memory_predict_sum (from_pandas persisted, map_partitions).
 *   parquet_read_predict_write_<N>: read -> predictProba -> writeParquet (one file per
 *     partition, written by the workers) vs Dask's csv_read_predict_sum, which does not write
 *     (so the ratio understates skein's lead); also reported against NumPy in `ratio_vs_numpy`.
 */
import { mkdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Client, delayed } from "../src/index.js";
import { readParquet, writeParquet, writeParquetFile, type Frame } from "../src/data/index.js";
import { normal, rowState } from "../src/data/random.js";
import { LogisticRegression } from "../estimators/glm.js";
import { ParallelPostFit } from "../estimators/parallel.js";
import { isSkipped, num, record, repoRoot, runAnchor, type AnchorOutcome } from "./lib/anchor.js";
import { intOption, parseArgs } from "./lib/args.js";
import { emit, progress, timeit } from "./lib/report.js";
import { addVectors, columnSums } from "./parquet.js";

const BENCH = "predict";
const COLS = 16;
const FILES = 20;
const TRAIN_ROWS = 100_000;
const CLUSTER = "LocalCluster(nWorkers 2 x threadsPerWorker 1, processes)";

function columnNames(): string[] {
  return Array.from({ length: COLS }, (_, j) => `f${j}`);
}

interface Data {
  files: string[];
  bytes: number;
  train: { X: Float64Array; y: Float64Array };
  /** numpy's predict_proba(X)[:, 1].sum() with scikit-learn's model, when the anchor exported it. */
  expectedSum: number | null;
  source: string;
}

function f64(path: string): Float64Array {
  const buf = readFileSync(path);
  return new Float64Array(buf.buffer, buf.byteOffset, buf.byteLength / 8);
}

/** Parquet files and the training sample from the anchor's raw export. */
async function fromExport(exportDir: string, rows: number, outDir: string): Promise<Data> {
  const header = JSON.parse(readFileSync(join(exportDir, `predict_n${rows}.json`), "utf8")) as {
    raw: { files: Record<string, { file: string; shape: number[] }> };
    meta: { expected_sum: number };
  };
  const files: string[] = [];
  for (let k = 0; k < FILES; k++) {
    const entry = header.raw.files[`part-${String(k).padStart(2, "0")}.X`];
    if (!entry) break;
    const path = join(outDir, `part-${String(k).padStart(5, "0")}.parquet`);
    await writeParquetFile(path, { rows: entry.shape[0], cols: COLS, data: f64(join(exportDir, entry.file)), columns: columnNames() });
    files.push(path);
  }
  const train = {
    X: f64(join(exportDir, header.raw.files["model_train.X"].file)).slice(),
    y: f64(join(exportDir, header.raw.files["model_train.y"].file)).slice(),
  };
  return { files, bytes: files.reduce((n, f) => n + statSync(f).size, 0), train, expectedSum: header.meta.expected_sum, source: "anchor export (numpy seed 0)" };
}

/** The same shapes drawn here, when there is no anchor: X standard normal, y from linspace(-1, 1, 16). */
async function generated(rows: number, outDir: string): Promise<Data> {
  const files: string[] = [];
  const chunk = Math.ceil(rows / FILES);
  for (let k = 0; k < FILES; k++) {
    const start = k * chunk;
    const n = Math.max(0, Math.min(rows, start + chunk) - start);
    const data = new Float64Array(n * COLS);
    for (let i = 0; i < n; i++) {
      const s = rowState(0, start + i);
      for (let j = 0; j < COLS; j++) data[i * COLS + j] = normal(s, j);
    }
    const path = join(outDir, `part-${String(k).padStart(5, "0")}.parquet`);
    await writeParquetFile(path, { rows: n, cols: COLS, data, columns: columnNames() });
    files.push(path);
  }
  const X = new Float64Array(TRAIN_ROWS * COLS);
  const y = new Float64Array(TRAIN_ROWS);
  for (let i = 0; i < TRAIN_ROWS; i++) {
    const s = rowState(1, i);
    let z = 0;
    for (let j = 0; j < COLS; j++) z += (X[i * COLS + j] = normal(s, j)) * (-1 + (2 * j) / (COLS - 1));
    y[i] = z + 0.5 * normal(s, COLS) > 0 ? 1 : 0;
  }
  return { files, bytes: files.reduce((n, f) => n + statSync(f).size, 0), train: { X, y }, expectedSum: null, source: "skein generator (seed 0)" };
}

/** Sum of P(y = 1) over a Frame of predictProba outputs: column sums per partition, tree-reduced. */
async function sumProba(client: Client, probs: Frame): Promise<number> {
  let level = probs.parts.map((p) => delayed(columnSums)(p as never));
  while (level.length > 1) {
    const next = [];
    for (let i = 0; i < level.length; i += 8) next.push(delayed(addVectors)(...(level.slice(i, i + 8) as never[])));
    level = next;
  }
  const fut = client.compute(level[0]);
  try {
    return (await fut.result())[1];
  } finally {
    fut.release();
  }
}

function anchorRow(anchor: AnchorOutcome, name: string): { rate: number | null; median: number | null; best: number | null } {
  const row = isSkipped(anchor) ? null : record(anchor.data, "results", name);
  if (!row) return { rate: null, median: null, best: null };
  const median = num(row, "median_s");
  const best = num(row, "rows_per_s_best");
  return { rate: num(row, "rows_per_s_median"), median, best };
}

export async function run(argv: readonly string[]): Promise<void> {
  const args = parseArgs(argv, { flags: ["quick", "no-anchor", "anchor-recorded", "keep"], values: ["rows", "repeat"] }, "skein bench predict");
  const quick = args.flags.has("quick");
  const rows = intOption(args, "rows", quick ? 200_000 : 10_000_000);
  const repeat = intOption(args, "repeat", quick ? 3 : 3);
  const scratch = join(repoRoot(), "bench", "out", "predict-data");
  const exportDir = join(scratch, "export");
  const pqDir = join(scratch, `parquet-n${rows}`);
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(pqDir, { recursive: true });

  // 1. The anchor first (its own cluster, then gone), exporting the data it used.
  let anchor: AnchorOutcome = { skipped: "--no-anchor" };
  if (!args.flags.has("no-anchor")) {
    progress("anchor: bench_predict.py (dask, numpy) ...");
    const a = [String(repeat), "--rows", String(rows), "--export", exportDir, "--export-format", "raw"];
    anchor = await runAnchor("bench_predict.py", a, { modules: ["dask", "distributed", "sklearn", "pandas"], onProgress: (l) => progress("  anchor:", l) });
  }
  let data: Data;
  try {
    data = !isSkipped(anchor) ? await fromExport(exportDir, rows, pqDir) : await generated(rows, pqDir);
  } catch (err) {
    progress(`anchor export unusable (${(err as Error).message}); generating the data here`);
    data = await generated(rows, pqDir);
  }
  rmSync(exportDir, { recursive: true, force: true });
  progress(`data: ${data.files.length} files, ${(data.bytes / 1e6).toFixed(1)} MB parquet (snappy), from ${data.source}`);

  // 2. The model: fitted once, in this process (not timed).
  const model = await new LogisticRegression().fit({ rows: TRAIN_ROWS, cols: COLS, data: data.train.X }, data.train.y);
  const ppf = new ParallelPostFit(model);

  const numpy = isSkipped(anchor) ? null : record(anchor.data, "results", "numpy_single_process");
  const numpyMedianRate = numpy && num(numpy, "median_s") ? rows / (num(numpy, "median_s") as number) : null;
  const common = {
    repeat,
    files: data.files.length,
    parquet_bytes: data.bytes,
    cluster: CLUSTER,
    data: data.source,
    model: `skein LogisticRegression() fitted on ${TRAIN_ROWS} rows (${model.nIter} iterations)`,
    ...(isSkipped(anchor) ? { anchor_skipped: anchor.skipped } : {}),
  };

  const client = await Client.connect({ nWorkers: 2, threadsPerWorker: 1, dashboard: false });
  try {
    // 3. Parquet -> predictProba -> sum, end to end.
    let total = 0;
    const fromFiles = async () => {
      const frame = await readParquet(pqDir);
      total = await sumProba(client, await ppf.predictProba(frame, { client }));
    };
    await fromFiles(); // warm-up: worker module imports, model scatter
    await sleep(100);
    const t = await timeit(fromFiles, repeat, { after: () => sleep(100) });
    const relErr = data.expectedSum === null ? null : Math.abs(total - data.expectedSum) / Math.abs(data.expectedSum);
    if (relErr !== null && relErr > 1e-3) throw new Error(`skein bench predict: sum of probabilities ${total}, scikit-learn's ${data.expectedSum}`);
    const dask = anchorRow(anchor, "csv_read_predict_sum");
    const ours = rows / t.median;
    const figures = { ours_median_s: t.median, ours_min_s: t.min, ours_samples_s: t.samples, ours_rows_per_s_best: rows / t.min, sum: total, sum_rel_err_vs_sklearn: relErr, ...common };
    emit({
      bench: BENCH,
      case: `parquet_read_predict_sum_${rows}`,
      ours,
      anchor: dask.rate,
      unit: "rows/s",
      better: "higher",
      target: 3,
      anchor_case: "csv_read_predict_sum",
      anchor_best: dask.best,
      note: "Dask reads the same 20 partitions from CSV files (Debian ships no Parquet engine for Dask); skein reads Parquet",
      ...figures,
    });
    emit({
      bench: BENCH,
      case: `parquet_read_predict_sum_vs_numpy_${rows}`,
      ours,
      anchor: numpyMedianRate,
      unit: "rows/s",
      better: "higher",
      target: 0.5,
      anchor_case: "numpy_single_process (in memory, no I/O)",
      anchor_best: numpy ? num(numpy, "rows_per_s_best") : null,
      ratio_best: numpy && num(numpy, "rows_per_s_best") ? rows / t.min / (num(numpy, "rows_per_s_best") as number) : null,
      ...figures,
    });

    // 4. In worker memory: read and persist first (not timed), then predict -> sum.
    const persisted = await (await readParquet(pqDir)).persist({ client });
    const inMemory = async () => {
      total = await sumProba(client, await ppf.predictProba(persisted, { client }));
    };
    await inMemory();
    await sleep(100);
    const tm = await timeit(inMemory, repeat, { after: () => sleep(100) });
    const daskMem = anchorRow(anchor, "memory_predict_sum");
    const ppfMem = anchorRow(anchor, "memory_ParallelPostFit_predict_proba_sum");
    emit({
      bench: BENCH,
      case: `memory_predict_sum_${rows}`,
      ours: rows / tm.median,
      anchor: daskMem.rate,
      unit: "rows/s",
      better: "higher",
      anchor_case: "memory_predict_sum",
      anchor_best: daskMem.best,
      anchor_parallelpostfit_rows_per_s: ppfMem.rate,
      ours_median_s: tm.median,
      ours_min_s: tm.min,
      ours_samples_s: tm.samples,
      sum: total,
      ...common,
    });
    for (const p of persisted.parts) (p as { release?: () => void }).release?.();

    // 5. Parquet -> predictProba -> Parquet (one output file per partition, from the workers).
    const outDir = join(scratch, "predictions");
    let written = 0;
    const toFiles = async () => {
      const frame = await readParquet(pqDir);
      const files = await writeParquet(await ppf.predictProba(frame, { client }), outDir, { client, overwrite: true });
      written = files.reduce((n, f) => n + f.rows, 0);
    };
    await toFiles();
    await sleep(100);
    const tw = await timeit(toFiles, repeat, { after: () => sleep(100) });
    if (written !== rows) throw new Error(`skein bench predict: wrote ${written} prediction rows, expected ${rows}`);
    emit({
      bench: BENCH,
      case: `parquet_read_predict_write_${rows}`,
      ours: rows / tw.median,
      anchor: dask.rate,
      unit: "rows/s",
      better: "higher",
      anchor_case: "csv_read_predict_sum (Dask does not write: no Parquet engine here)",
      ratio_vs_numpy: numpyMedianRate ? rows / tw.median / numpyMedianRate : null,
      ours_median_s: tw.median,
      ours_min_s: tw.min,
      ours_samples_s: tw.samples,
      ...common,
    });
  } finally {
    await client.close();
    if (!args.flags.has("keep")) rmSync(scratch, { recursive: true, force: true });
  }
}
