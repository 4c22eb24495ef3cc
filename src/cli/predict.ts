/**
 * `skein predict`: apply a saved model (`save()`'s model.json, or an .onnx file) to Parquet
 * files on a cluster, one output file per input, each written atomically by the worker that
 * predicted it (temporary name, then rename).
 *
 * The estimators are imported when the command runs, not when the CLI starts, so `skein
 * scheduler` / `skein worker` never load them. An input that cannot be planned (not Parquet,
 * missing columns) or fails on the workers is reported on stderr with its path and the others
 * still run; the exit code is then 1.
 */
import { mkdir } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { Option, type Command } from "commander";
import { Client } from "../client/client.js";
import type { Future } from "../client/future.js";
import { progress } from "../client/progress.js";
import { task } from "../data/collection.js";
import { listFiles } from "../data/glob.js";
import { readParquet } from "../data/parquet-io.js";
import { writeParquetTask, type WrittenFile } from "../data/parquet-tasks.js";
import { writeParquetFile } from "../data/parquet/write.js";
import { emptyPartition } from "../data/partition.js";
import type { FramePartition } from "../data/types.js";
import { CliError, parseCount } from "./parse.js";

export type PredictMethod = "predict" | "predictProba" | "transform";

export interface PredictCliOptions {
  /** A model.json written by `save`, or an .onnx file. */
  model: string;
  /** Parquet file(s): a file, a directory or a glob. */
  input: string;
  /** Output directory (created); outputs keep the inputs' paths relative to the input base. */
  output: string;
  /** Feature columns, in the model's order. Default: every numeric column but the id columns. */
  columns?: readonly string[];
  /** Input columns copied to each output first. */
  idColumns?: readonly string[];
  method?: PredictMethod;
  /** Scheduler address; without it a LocalCluster starts (and stops at the end). */
  scheduler?: string;
  /** Workers of the LocalCluster. Default: one per core. */
  nworkers?: number;
  /** Where progress goes. Default process.stderr. */
  progressStream?: NodeJS.WritableStream;
}

export interface PredictOutcome {
  written: { input: string; output: string; rows: number }[];
  failed: { input: string; error: string }[];
}

const PREFIX = "skein predict:";
const ALL_ROW_GROUPS = Number.MAX_SAFE_INTEGER;

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The model as a ParallelPostFit (estimators imported here, on first use). */
async function loadModel(path: string): Promise<import("../../estimators/parallel.js").ParallelPostFit> {
  const { ParallelPostFit } = await import("../../estimators/parallel.js");
  if (path.toLowerCase().endsWith(".onnx")) {
    let onnx: typeof import("../../estimators/onnx/index.js");
    try {
      onnx = await import("../../estimators/onnx/index.js");
    } catch (err) {
      throw new CliError(`${PREFIX} --model ${path}: ONNX models are not available in this build (${message(err)})`);
    }
    try {
      return new ParallelPostFit(await onnx.OnnxModel.load(resolve(path)));
    } catch (err) {
      throw new CliError(`${PREFIX} --model ${path}: ${message(err)}`);
    }
  }
  // Registers every estimator class of skein before the file names one.
  const { load } = await import("../../estimators/index.js");
  try {
    return new ParallelPostFit(await load(path));
  } catch (err) {
    throw new CliError(`${PREFIX} --model ${path}: ${message(err)}`);
  }
}

/** Runs the predictions; resolves with what was written and what failed (never rejects for one bad input). */
export async function runPredict(o: PredictCliOptions): Promise<PredictOutcome> {
  const method = o.method ?? "predict";
  const ppf = await loadModel(o.model);
  const model = ppf.model();
  if (typeof model[method] !== "function") throw new CliError(`${PREFIX} --method ${method}: the model (${model.estimatorType}) has no ${method}()`);
  let list;
  try {
    list = await listFiles(o.input, (name) => name.endsWith(".parquet") || name.endsWith(".parq"));
  } catch (err) {
    throw new CliError(`${PREFIX} --input ${o.input}: ${message(err)}`);
  }
  const outDir = resolve(o.output);
  const outputs = list.files.map((f) => join(outDir, relative(list.base, f).startsWith("..") ? f.split(/[\\/]/).pop()! : relative(list.base, f)));
  const clash = outputs.findIndex((p, i) => outputs.indexOf(p) !== i);
  if (clash >= 0) throw new CliError(`${PREFIX} two inputs would write ${outputs[clash]}: ${list.files[outputs.indexOf(outputs[clash])]} and ${list.files[clash]}`);
  if (outputs.some((p, i) => p === list.files[i])) throw new CliError(`${PREFIX} --output ${o.output} would overwrite the inputs`);

  const client = await Client.connect(o.scheduler ? { address: o.scheduler, token: process.env.SKEIN_TOKEN || undefined } : { nWorkers: o.nworkers, dashboard: false });
  const outcome: PredictOutcome = { written: [], failed: [] };
  try {
    const ids = o.idColumns ? [...o.idColumns] : [];
    const read = o.columns ? [...ids, ...o.columns.filter((c) => !ids.includes(c))] : undefined;
    const jobs: { input: string; output: string; future: Future<WrittenFile> }[] = [];
    for (let i = 0; i < list.files.length; i++) {
      const input = list.files[i];
      const output = outputs[i];
      try {
        await mkdir(dirname(output), { recursive: true });
        const frame = await readParquet(input, { columns: read, rowGroupsPerPartition: ALL_ROW_GROUPS, hive: false });
        const out = await ppf[method](frame, { client, idColumn: ids, ...(o.columns ? { columns: o.columns } : {}) });
        if (out.npartitions === 0) {
          // No rows at all: an empty file of the output schema, written here.
          const empty = emptyPartition(out.schema);
          await writeParquetFile(output, { rows: 0, columns: empty.columns });
          outcome.written.push({ input, output, rows: 0 });
          continue;
        }
        const [future] = client.compute([task(writeParquetTask, out.parts[0] as never as FramePartition, output, {})]);
        jobs.push({ input, output, future });
      } catch (err) {
        outcome.failed.push({ input, error: message(err) });
      }
    }
    await progress(
      jobs.map((j) => j.future),
      { label: "skein predict", unit: "files", ...(o.progressStream ? { stream: o.progressStream } : {}) },
    );
    for (const j of jobs) {
      try {
        const w = await j.future.result();
        outcome.written.push({ input: j.input, output: j.output, rows: w.rows });
      } catch (err) {
        outcome.failed.push({ input: j.input, error: message(err) });
      } finally {
        j.future.release();
      }
    }
  } finally {
    await client.close();
  }
  return outcome;
}

function list(text: string): string[] {
  return text.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

/** Registers `skein predict` on the program. */
export function addPredictCommand(program: Command): void {
  program
    .command("predict")
    .description("apply a saved model (model.json from save(), or model.onnx) to Parquet files on a cluster; one output file per input")
    .requiredOption("--model <file>", "model.json written by save(), or an .onnx file")
    .requiredOption("--input <paths>", "Parquet input: a file, a directory or a glob (quote it: 'data/*.parquet')")
    .requiredOption("--output <dir>", "output directory (created); each output has its input's name")
    .option("--columns <list>", "feature columns in the model's order, comma-separated (default: every numeric column but the id columns)")
    .option("--id-column <list>", "input column(s) copied to the output first, comma-separated")
    .addOption(new Option("--method <method>", "what to write").choices(["predict", "predictProba", "transform"]).default("predict"))
    .option("--scheduler <address>", "run on this scheduler (tcp://host:port; token from SKEIN_TOKEN); default: a LocalCluster")
    .option("--nworkers <n>", "workers of the LocalCluster (default: one per core)")
    .action(async (o: { model: string; input: string; output: string; columns?: string; idColumn?: string; method: PredictMethod; scheduler?: string; nworkers?: string }) => {
      const outcome = await runPredict({
        model: o.model,
        input: o.input,
        output: o.output,
        columns: o.columns ? list(o.columns) : undefined,
        idColumns: o.idColumn ? list(o.idColumn) : undefined,
        method: o.method,
        scheduler: o.scheduler,
        nworkers: o.nworkers !== undefined ? parseCount("--nworkers", o.nworkers) : undefined,
      });
      for (const w of outcome.written) process.stdout.write(`wrote ${w.output} (${w.rows} rows) from ${w.input}\n`);
      for (const f of outcome.failed) process.stderr.write(`${PREFIX} ${f.input}: ${f.error}\n`);
      if (outcome.failed.length) {
        process.stderr.write(`${PREFIX} ${outcome.failed.length} of ${outcome.failed.length + outcome.written.length} input(s) failed\n`);
        process.exit(1);
      }
      process.exit(0);
    });
}
