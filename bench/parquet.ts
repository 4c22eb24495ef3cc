/**
 * Parquet read throughput: 10,000,000 rows x 16 float64 columns in 20 files, read -> column
 * sums on LocalCluster(2 worker processes x 1 thread), against Dask in the same run, plus the
 * single-process decode speed of skein's Parquet reader.
 *
 *   npm run bench -- parquet [--quick] [--rows N] [--repeat R] [--compression snappy] [--no-anchor]
 *
 * Data: the anchor (shared/anchors/python/bench_predict.py) draws X = standard_normal((N, 16))
 * with numpy seed 0 and exports its 20 partitions raw (--export); skein writes each as one
 * Parquet file (snappy, 131,072-row row groups). Without the anchor the same shape is drawn
 * here (seeded, skein's own generator). The anchor's figure is its `csv_read_only_sum`:
 * dd.read_csv of the same 20 partitions as CSV files -> f0.sum() on LocalCluster(2, 1 thread,
 * processes). Debian bookworm ships no pyarrow, so Dask cannot read Parquet there: it reads
 * CSV. It sums one column; skein sums all 16.
 *
 * Cases (one JSON line each): parquet_read_column_sums_<N> (rows/s, cluster, vs Dask) and
 * parquet_decode_single_process_<N> (rows/s of readRowGroups in this process, no anchor).
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Client, delayed } from "../src/index.js";
import { readParquet, readRowGroups, writeParquetFile, type FramePartition, type WriteCompression } from "../src/data/index.js";
import { normal, rowState } from "../src/data/random.js";
import { isSkipped, num, record, repoRoot, runAnchor } from "./lib/anchor.js";
import type { AnchorOutcome } from "./lib/anchor.js";
import { intOption, parseArgs } from "./lib/args.js";
import { emit, progress, timeit } from "./lib/report.js";

const BENCH = "parquet";
const COLS = 16;
const FILES = 20;
const CLUSTER = "LocalCluster(nWorkers 2 x threadsPerWorker 1, processes)";
const NOTE =
  "Debian bookworm ships no pyarrow, so Dask reads the same data from CSV files (dd.read_csv, csv_read_only_sum: one column summed); skein reads Parquet and sums all 16 columns";

/** Sum of every column of a partition, in schema order (a task: runs on the workers). */
export function columnSums(p: FramePartition): Float64Array {
  const out = new Float64Array(p.columns.size);
  let j = 0;
  for (const col of p.columns.values()) {
    const a = col as Float64Array;
    let s = 0;
    for (let i = 0; i < a.length; i++) s += a[i];
    out[j++] = s;
  }
  return out;
}

/** Element-wise sum of vectors (the reduction of the column sums). */
export function addVectors(...vs: Float64Array[]): Float64Array {
  const out = new Float64Array(vs[0]?.length ?? 0);
  for (const v of vs) for (let j = 0; j < v.length; j++) out[j] += v[j];
  return out;
}

interface Data {
  files: string[];
  /** Sum of all N x 16 values, from the anchor's export header (or our own generation). */
  total: number;
  bytes: number;
  source: string;
}

function columnNames(): string[] {
  return Array.from({ length: COLS }, (_, j) => `f${j}`);
}

/** Parquet files from the anchor's raw export: one per partition. */
async function fromExport(exportDir: string, rows: number, outDir: string, compression: WriteCompression): Promise<Data> {
  const header = JSON.parse(readFileSync(join(exportDir, `predict_n${rows}.json`), "utf8")) as {
    raw: { files: Record<string, { file: string; shape: number[]; sum: number }> };
  };
  const files: string[] = [];
  let total = 0;
  for (let k = 0; k < FILES; k++) {
    const entry = header.raw.files[`part-${String(k).padStart(2, "0")}.X`];
    if (!entry) break;
    const buf = readFileSync(join(exportDir, entry.file));
    const data = new Float64Array(buf.buffer, buf.byteOffset, buf.byteLength / 8);
    const path = join(outDir, `part-${String(k).padStart(5, "0")}.parquet`);
    await writeParquetFile(path, { rows: entry.shape[0], cols: COLS, data, columns: columnNames() }, { compression });
    files.push(path);
    total += entry.sum;
  }
  return { files, total, bytes: files.reduce((n, f) => n + statSync(f).size, 0), source: "anchor export (numpy seed 0)" };
}

/** The same shape drawn here, when there is no anchor. */
async function generated(rows: number, outDir: string, compression: WriteCompression): Promise<Data> {
  const files: string[] = [];
  let total = 0;
  const chunk = Math.ceil(rows / FILES);
  for (let k = 0; k < FILES; k++) {
    const start = k * chunk;
    const n = Math.max(0, Math.min(rows, start + chunk) - start);
    const data = new Float64Array(n * COLS);
    for (let i = 0; i < n; i++) {
      const s = rowState(0, start + i);
      for (let j = 0; j < COLS; j++) total += data[i * COLS + j] = normal(s, j);
    }
    const path = join(outDir, `part-${String(k).padStart(5, "0")}.parquet`);
    await writeParquetFile(path, { rows: n, cols: COLS, data, columns: columnNames() }, { compression });
    files.push(path);
  }
  return { files, total, bytes: files.reduce((n, f) => n + statSync(f).size, 0), source: "skein generator (seed 0)" };
}

export async function run(argv: readonly string[]): Promise<void> {
  const args = parseArgs(argv, { flags: ["quick", "no-anchor", "anchor-recorded", "keep"], values: ["rows", "repeat", "compression"] }, "skein bench parquet");
  const quick = args.flags.has("quick");
  const rows = intOption(args, "rows", quick ? 200_000 : 10_000_000);
  const repeat = intOption(args, "repeat", quick ? 1 : 3);
  const compression = (args.values.get("compression") ?? "snappy") as WriteCompression;
  const scratch = join(repoRoot(), "bench", "out", "parquet-data");
  const exportDir = join(scratch, "export");
  const pqDir = join(scratch, `parquet-n${rows}-${compression}`);
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(pqDir, { recursive: true });

  // 1. The anchor first (its own cluster, then gone), exporting the data it used.
  let anchor: AnchorOutcome = { skipped: "--no-anchor" };
  if (!args.flags.has("no-anchor")) {
    progress("anchor: bench_predict.py (dask, CSV) ...");
    const a = [String(repeat), "--rows", String(rows), "--export", exportDir, "--export-format", "raw"];
    anchor = await runAnchor("bench_predict.py", a, { modules: ["dask", "distributed", "sklearn", "pandas"], onProgress: (l) => progress("  anchor:", l) });
  }
  const data =
    !isSkipped(anchor) && existsSync(join(exportDir, `predict_n${rows}.json`))
      ? await fromExport(exportDir, rows, pqDir, compression)
      : await generated(rows, pqDir, compression);
  rmSync(exportDir, { recursive: true, force: true });
  progress(`data: ${data.files.length} files, ${(data.bytes / 1e6).toFixed(1)} MB parquet (${compression}), from ${data.source}`);

  // 2. Single-process decode speed (page cache warm after one untimed pass).
  const decodeAll = async () => {
    let n = 0;
    for (const f of data.files) n += (await readRowGroups(f)).rows;
    return n;
  };
  await decodeAll();
  const decode = await timeit(decodeAll, Math.max(repeat, 3));
  emit({
    bench: BENCH,
    case: `parquet_decode_single_process_${rows}`,
    ours: rows / decode.median,
    anchor: null,
    unit: "rows/s",
    better: "higher",
    anchor_source: "none",
    mb_per_s: data.bytes / 1e6 / decode.median,
    ours_median_s: decode.median,
    ours_samples_s: decode.samples,
    files: data.files.length,
    parquet_bytes: data.bytes,
    compression,
  });

  // 3. On the cluster: plan from footers, read on the workers, sum every column, tree-reduce.
  const client = await Client.connect({ nWorkers: 2, threadsPerWorker: 1 });
  let sums: Float64Array = new Float64Array(0);
  const pipeline = async () => {
    const frame = await readParquet(pqDir);
    const partial = frame.parts.map((p) => delayed(columnSums)(p as never));
    let level = partial;
    while (level.length > 1) {
      const next = [];
      for (let i = 0; i < level.length; i += 8) next.push(delayed(addVectors)(...(level.slice(i, i + 8) as never[])));
      level = next;
    }
    const fut = client.compute(level[0]);
    sums = await fut.result();
    fut.release();
  };
  try {
    await pipeline(); // warm-up: worker module imports
    await sleep(100);
    const t = await timeit(pipeline, repeat, { after: () => sleep(100) });
    const total = sums.reduce((a, x) => a + x, 0);
    const relErr = Math.abs(total - data.total) / Math.max(1, Math.abs(data.total));
    if (relErr > 1e-9) throw new Error(`skein bench parquet: column sums total ${total}, the data's is ${data.total}`);
    const row = isSkipped(anchor) ? null : record(anchor.data, "results", "csv_read_only_sum");
    const anchorRate = row ? num(row, "rows_per_s_median") : null;
    emit({
      bench: BENCH,
      case: `parquet_read_column_sums_${rows}`,
      ours: rows / t.median,
      anchor: anchorRate,
      unit: "rows/s",
      better: "higher",
      target: 3,
      anchor_source: anchorRate === null ? "none" : "measured",
      ...(isSkipped(anchor) ? { anchor_skipped: anchor.skipped } : { anchor_case: "csv_read_only_sum", anchor_median_s: row ? num(row, "median_s") : null }),
      note: NOTE,
      ours_median_s: t.median,
      ours_min_s: t.min,
      ours_samples_s: t.samples,
      repeat,
      files: data.files.length,
      partitions: (await readParquet(pqDir)).npartitions,
      parquet_bytes: data.bytes,
      compression,
      cluster: CLUSTER,
      data: data.source,
      sums_check_rel_err: relErr,
    });
  } finally {
    await client.close();
    if (!args.flags.has("keep")) rmSync(scratch, { recursive: true, force: true });
  }
}
