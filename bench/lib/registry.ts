/**
 * The benchmarks `npm run bench` knows, and how a command line picks among them. Each entry is a
 * module under bench/ exporting `run(args: string[]): Promise<void>`; helpers (lib/, tasks.ts,
 * run.ts) are not listed, so they never run as benchmarks.
 */

export interface BenchEntry {
  readonly name: string;
  /** File under bench/. */
  readonly file: string;
  readonly about: string;
}

/** Every benchmark, in the order `npm run bench` runs them. Later issues append here. */
export const BENCHMARKS: readonly BenchEntry[] = [
  {
    name: "scheduler",
    file: "scheduler.ts",
    about: "scheduler overhead vs dask.distributed (map+gather, round trips, tree reduction, asCompleted, 1M-task graph memory)",
  },
  {
    name: "multinode",
    file: "multinode.ts",
    about: "bench/scheduler's workloads with scheduler, 2 workers and client as separate processes over TCP vs dask scheduler + dask worker; 256 MB worker-to-worker transfer vs a plain net socket",
  },
  {
    name: "parquet",
    file: "parquet.ts",
    about: "10M x 16 float64 in 20 Parquet files -> column sums on LocalCluster(2) vs Dask reading the same data as CSV; single-process decode speed",
  },
  {
    name: "glm",
    file: "glm.ts",
    about: "dask-glm blog logistic problem (1M x 15) on LocalCluster(2): every skein solver vs scikit-learn (measured), dask-glm (recorded), ml-logistic-regression",
  },
  {
    name: "search",
    file: "search.ts",
    about: "GridSearchCV(LogisticRegression) C x penalty grid, cv=3, on 20,000 x 50 (bench_search.py part B) on LocalCluster(2) vs scikit-learn GridSearchCV(n_jobs=2) and dask-ml",
  },
  {
    name: "predict",
    file: "predict.ts",
    about: "10M x 16 float64 in 20 Parquet files -> ParallelPostFit(LogisticRegression).predictProba -> sum (and -> Parquet) on LocalCluster(2) vs Dask map_partitions and the NumPy single-process baseline",
  },
  {
    name: "predict-onnx",
    file: "predict-onnx.ts",
    about: "10M x 16 float64 in 20 Parquet files -> exported logistic regression run by onnxruntime in skein's workers (LocalCluster(2)) vs one onnxruntime process (Node), proba sum",
  },
  {
    name: "xgb",
    file: "xgb.ts",
    about: "XGBoost on make_classification 1M x 20 (hist, depth 6, 100 rounds): distributed train on LocalCluster(2) vs xgboost.dask.train, single process vs xgboost.train, holdout AUC",
  },
  {
    name: "tfjs",
    file: "tfjs.ts",
    about: "TensorFlow.js MLP on 200,000 x 32, 5 epochs: data-parallel SGD on LocalCluster(2) vs single-process tfjs-wasm (samples/s); GridSearchCV of 8 candidates on the cluster vs sequential",
  },
];

export interface BenchRun {
  readonly entry: BenchEntry;
  readonly args: readonly string[];
}

export type BenchPlan =
  | { readonly kind: "run"; readonly runs: readonly BenchRun[] }
  | { readonly kind: "list" };

/**
 * `[]` or `[--opts...]` -> every benchmark with those options; `[NAME, ...args]` -> that one;
 * `--list` / `--help` -> the list. Unknown names are an error listing the known ones.
 */
export function planRuns(argv: readonly string[], registry: readonly BenchEntry[] = BENCHMARKS): BenchPlan {
  const rest = argv[0] === "--" ? argv.slice(1) : argv;
  if (rest.includes("--list") || rest.includes("--help") || rest.includes("-h")) return { kind: "list" };
  if (rest.length === 0 || rest[0].startsWith("-")) {
    return { kind: "run", runs: registry.map((entry) => ({ entry, args: rest })) };
  }
  const entry = registry.find((e) => e.name === rest[0] || e.file === rest[0]);
  if (!entry) {
    throw new Error(`skein bench: unknown benchmark "${rest[0]}" (known: ${registry.map((e) => e.name).join(", ")})`);
  }
  return { kind: "run", runs: [{ entry, args: rest.slice(1) }] };
}

/** The text `npm run bench -- --list` prints. */
export function listText(registry: readonly BenchEntry[] = BENCHMARKS): string {
  const lines = [
    "usage: npm run bench [-- [NAME] [options]]",
    "  no NAME: run every benchmark (options are passed to each); NAME: run that one",
    "  common options: --quick (smoke sizes), --no-anchor, --anchor-recorded",
    "benchmarks:",
  ];
  for (const e of registry) lines.push(`  ${e.name.padEnd(12)} bench/${e.file}: ${e.about}`);
  return lines.join("\n");
}
