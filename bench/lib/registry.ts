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
    name: "parquet",
    file: "parquet.ts",
    about: "10M x 16 float64 in 20 Parquet files -> column sums on LocalCluster(2) vs Dask reading the same data as CSV; single-process decode speed",
  },
  {
    name: "glm",
    file: "glm.ts",
    about: "dask-glm blog logistic problem (1M x 15) on LocalCluster(2): every skein solver vs scikit-learn (measured), dask-glm (recorded), ml-logistic-regression",
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
