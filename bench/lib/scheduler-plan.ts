/**
 * The scheduler benchmark's plain-data side: options, workload sizes and case names (identical
 * to bench_scheduler.py's at every scale), targets from the issue, and how anchor rows are
 * matched to our cases. No runtime imports, so it is testable without a cluster.
 */
import { intOption, numberOption, parseArgs, scaled } from "./args.js";
import { anchorRows, num } from "./anchor.js";
import type { Better } from "./report.js";

export type AnchorMode = "measured" | "recorded" | "none";

export interface SchedulerOptions {
  readonly scale: number;
  readonly repeat: number;
  readonly quick: boolean;
  readonly anchor: AnchorMode;
  /** Run the 1,000,000-task (x scale) memory case. */
  readonly million: boolean;
}

const PROG = "skein bench scheduler";

export const SCHEDULER_USAGE = `usage: npm run bench -- scheduler [--scale S] [--repeat N] [--quick] [--no-anchor | --anchor-recorded] [--no-million]
  --scale S          multiply every workload size (and warm-up) by S (default 1; 0.1 with --quick)
  --repeat N         timed repetitions per workload (default 3; 1 with --quick)
  --quick            smoke run: scale 0.1, repeat 1 (explicit --scale/--repeat still win)
  --no-anchor        do not run or read the Python anchor
  --anchor-recorded  compare with ../shared/anchors/results (scale 1, REPEAT 3) instead of running Python
  --no-million       skip the 1,000,000-task graph memory case`;

export function parseSchedulerArgs(argv: readonly string[]): SchedulerOptions {
  const a = parseArgs(
    argv,
    { flags: ["quick", "no-anchor", "anchor-recorded", "no-million"], values: ["scale", "repeat"] },
    PROG,
  );
  if (a.positional.length > 0) throw new Error(`${PROG}: unexpected argument "${a.positional[0]}"\n${SCHEDULER_USAGE}`);
  if (a.flags.has("no-anchor") && a.flags.has("anchor-recorded")) {
    throw new Error(`${PROG}: --no-anchor and --anchor-recorded exclude each other`);
  }
  const quick = a.flags.has("quick");
  return {
    quick,
    scale: numberOption(a, "scale", quick ? 0.1 : 1, PROG),
    repeat: intOption(a, "repeat", quick ? 1 : 3, PROG),
    anchor: a.flags.has("no-anchor") ? "none" : a.flags.has("anchor-recorded") ? "recorded" : "measured",
    million: !a.flags.has("no-million"),
  };
}

export type CaseKind = "map_gather" | "submit_result_roundtrip" | "delayed_tree_reduce" | "as_completed";

export interface SchedulerSizes {
  readonly mapGather: readonly [number, number];
  readonly roundTrips: number;
  readonly treeLeaves: number;
  readonly asCompletedInitial: number;
  readonly asCompletedExtra: number;
  /** Leaves of the memory case's map + tree reduction: 2 * leaves - 1 tasks (999,999 at scale 1). */
  readonly millionLeaves: number;
  readonly warmup: {
    readonly mapGather: number;
    readonly roundTrips: number;
    readonly treeLeaves: number;
    readonly asCompletedInitial: number;
    readonly asCompletedExtra: number;
  };
}

/** bench_scheduler.py's sizes at `scale` (its `sz()`), plus the memory case. */
export function schedulerSizes(scale: number): SchedulerSizes {
  const sz = (n: number) => scaled(n, scale);
  return {
    mapGather: [sz(10_000), sz(50_000)],
    roundTrips: sz(1000),
    treeLeaves: sz(10_000),
    asCompletedInitial: sz(10_000),
    asCompletedExtra: sz(5_000),
    millionLeaves: sz(500_000),
    warmup: {
      mapGather: sz(2000),
      roundTrips: sz(100),
      treeLeaves: sz(1000),
      asCompletedInitial: sz(1000),
      asCompletedExtra: sz(500),
    },
  };
}

/** The anchor script's row names for these sizes. */
export const caseNames = {
  mapGather: (n: number) => `map_gather_${n}`,
  roundTrip: (n: number) => `submit_result_roundtrip_${n}`,
  tree: (leaves: number) => `delayed_tree_reduce_${leaves}`,
  asCompleted: (n: number, m: number) => `as_completed_${n}_plus_${m}`,
  million: (tasks: number) => `graph_map_tree_${tasks}_memory`,
};

export interface KindInfo {
  readonly unit: string;
  readonly better: Better;
  /** Required "times better than dask" ratio from the issue. */
  readonly target: number;
  /** The anchor row's field holding the headline figure. */
  readonly anchorField: string;
}

export const KINDS: Readonly<Record<CaseKind, KindInfo>> = {
  map_gather: { unit: "tasks/s", better: "higher", target: 50, anchorField: "tasks_per_s_median" },
  submit_result_roundtrip: { unit: "ms/roundtrip", better: "lower", target: 40, anchorField: "ms_per_roundtrip_median" },
  delayed_tree_reduce: { unit: "tasks/s", better: "higher", target: 30, anchorField: "tasks_per_s_median" },
  as_completed: { unit: "tasks/s", better: "higher", target: 30, anchorField: "tasks_per_s_median" },
};

/** First integer in a row name after the kind prefix ("map_gather_10000" -> 10000). */
function rowSize(name: string, kind: CaseKind): number {
  const m = /^(\d+)/.exec(name.slice(kind.length + 1));
  return m ? Number(m[1]) : Number.NaN;
}

export interface AnchorMatch {
  readonly name: string;
  readonly figure: number | null;
  readonly medianS: number | null;
  /** Set when the row is not the same size as our case (recorded figures at another scale). */
  readonly note?: string;
}

/**
 * The anchor row for our case: the row of the same name; else (recorded figures at another
 * scale) the `index`-th smallest row of the same kind, with a note saying so.
 */
export function matchAnchorRow(data: unknown, kind: CaseKind, caseName: string, index = 0): AnchorMatch | null {
  const rows = anchorRows(data);
  const field = KINDS[kind].anchorField;
  const exact = rows[caseName];
  if (exact) return { name: caseName, figure: num(exact, field), medianS: num(exact, "median_s") };
  const same = Object.keys(rows)
    .filter((k) => k.startsWith(kind + "_") && Number.isFinite(rowSize(k, kind)))
    .sort((x, y) => rowSize(x, kind) - rowSize(y, kind));
  const name = same[index];
  if (name === undefined) return null;
  return {
    name,
    figure: num(rows[name], field),
    medianS: num(rows[name], "median_s"),
    note: `anchor row ${name} has a different size than ${caseName}; the rate is compared as is`,
  };
}
