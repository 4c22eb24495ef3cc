/**
 * Scheduler overhead: skein's LocalCluster (2 worker processes x 1 thread) against
 * dask.distributed's on the same workloads, in the same run (shared/anchors bench_scheduler.py):
 *
 *   map_gather_<N>               client.map(inc, N fresh ints) + gather, N = 10,000 and 50,000
 *   submit_result_roundtrip_<R>  R = 1,000 sequential submit(inc, i).result()
 *   delayed_tree_reduce_<L>      delayed binary-tree sum over L = 10,000 leaves (19,999 tasks)
 *   as_completed_<N>_plus_<M>    asCompleted over N = 10,000 futures, adding one per completion
 *                                for the first M = 5,000
 *   graph_map_tree_<T>_memory    one graph of T = 999,999 tasks (map + tree reduction): heap
 *                                bytes per task after building + submitting, time to finish
 *
 * Every repetition uses keys never used before (fresh inputs, as the Python script does), after
 * an untimed warm-up of each workload. Options: see SCHEDULER_USAGE in lib/scheduler-plan.ts.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { performance } from "node:perf_hooks";
import { Client, delayed } from "../src/index.js";
import { inc, add } from "./tasks.js";
import { isSkipped, readRecorded, runAnchor, num } from "./lib/anchor.js";
import type { AnchorOutcome } from "./lib/anchor.js";
import { emit, forceGc, progress, timeit } from "./lib/report.js";
import type { Timing } from "./lib/report.js";
import { caseNames, KINDS, matchAnchorRow, parseSchedulerArgs, schedulerSizes } from "./lib/scheduler-plan.js";
import type { CaseKind, SchedulerOptions } from "./lib/scheduler-plan.js";

const BENCH = "scheduler";
const ANCHOR_SCRIPT = "bench_scheduler.py";
const RECORDED_FILE = "bench_scheduler_processes_True.json";
const CLUSTER = "LocalCluster(nWorkers 2 x threadsPerWorker 1, processes)";

// ------------------------------------------------------------------ fresh keys

let offset = 0;

/** The start of `n` ints never used before in this process: fresh task keys even for pure tasks. */
function fresh(n: number): number {
  const start = offset;
  offset += n;
  return start;
}

function freshItems(n: number): number[] {
  const start = fresh(n);
  const items = new Array<number>(n);
  for (let i = 0; i < n; i++) items[i] = start + i;
  return items;
}

/** Sum of inc(start + i) for i < n. */
function treeExpected(start: number, n: number): number {
  return n * start + (n * (n + 1)) / 2;
}

// ------------------------------------------------------------------ workloads

const delayedInc = delayed(inc);
const delayedAdd = delayed(add);
type Node = ReturnType<typeof delayedInc>;

/** dask's binary tree: inc leaves, pairwise add, an odd one out carried up; 2n - 1 tasks. */
function buildTree(start: number, n: number): Node {
  let layer: Node[] = new Array<Node>(n);
  for (let i = 0; i < n; i++) layer[i] = delayedInc(start + i);
  while (layer.length > 1) {
    const next: Node[] = [];
    for (let i = 0; i + 1 < layer.length; i += 2) next.push(delayedAdd(layer[i], layer[i + 1]));
    if (layer.length % 2 === 1) next.push(layer[layer.length - 1]);
    layer = next;
  }
  return layer[0];
}

async function mapGather(client: Client, n: number): Promise<void> {
  const items = freshItems(n);
  const futs = client.map(inc, items);
  const values = await client.gather(futs);
  if (values.length !== n || values[0] !== items[0] + 1 || values[n - 1] !== items[n - 1] + 1) {
    throw new Error(`skein bench scheduler: map_gather_${n} gave wrong values (${values.length} values)`);
  }
  for (const f of futs) f.release();
}

async function roundTrips(client: Client, n: number): Promise<void> {
  const start = fresh(n);
  for (let i = start; i < start + n; i++) {
    const f = client.submit(inc, i);
    const v = await f.result();
    f.release();
    if (v !== i + 1) throw new Error(`skein bench scheduler: submit(inc, ${i}) gave ${v}`);
  }
}

/** Build time goes to `buildTimes`; it is part of the timed run, as in the Python script. */
async function treeReduce(client: Client, leaves: number, buildTimes: number[]): Promise<void> {
  const t0 = performance.now();
  const start = fresh(leaves);
  const root = buildTree(start, leaves);
  buildTimes.push((performance.now() - t0) / 1e3);
  const fut = client.compute(root);
  const v = await fut.result();
  fut.release();
  const expected = treeExpected(start, leaves);
  if (v !== expected) throw new Error(`skein bench scheduler: tree over ${leaves} leaves gave ${v}, expected ${expected}`);
}

async function asCompleted(client: Client, nInitial: number, nExtra: number): Promise<void> {
  const futs = client.map(inc, freshItems(nInitial));
  const ac = client.asCompleted(futs, { withResults: true });
  const extraStart = fresh(nExtra);
  let submitted = 0;
  let done = 0;
  for await (const [f, value] of ac) {
    if (typeof value !== "number") throw new Error(`skein bench scheduler: asCompleted yielded ${String(value)}`);
    f.release();
    done++;
    if (submitted < nExtra) {
      ac.add(client.submit(inc, extraStart + submitted));
      submitted++;
    }
  }
  if (done !== nInitial + nExtra) {
    throw new Error(`skein bench scheduler: asCompleted yielded ${done} futures, expected ${nInitial + nExtra}`);
  }
}

interface MemoryFigures {
  readonly tasks: number;
  readonly heapBefore: number;
  readonly heapAfterSubmit: number;
  readonly heapPeak: number;
  readonly heapAfterRelease: number;
  readonly rssBefore: number;
  readonly rssPeak: number;
  readonly buildS: number;
  readonly submitS: number;
  readonly totalS: number;
  readonly gc: boolean;
}

const immediate = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * One map + tree-reduction graph of 2 * leaves - 1 tasks. Heap is measured in this process,
 * which hosts the client and the embedded scheduler: before building, right after building and
 * submitting (after a forced GC; a few tasks may already have run), its peak while the graph
 * runs (sampled every 50 ms) and after the result is released.
 */
async function millionGraph(client: Client, leaves: number): Promise<MemoryFigures> {
  const gc = forceGc();
  const m0 = process.memoryUsage();
  const t0 = performance.now();
  const start = fresh(leaves);
  let root: Node | undefined = buildTree(start, leaves);
  const tBuilt = performance.now();
  const fut = client.compute(root);
  root = undefined; // only the scheduler (and the future) should hold the graph now
  const tSubmitted = performance.now();
  // Let the submission reach the scheduler before measuring.
  for (let i = 0; i < 3; i++) await immediate();
  forceGc();
  const m1 = process.memoryUsage();
  let heapPeak = m1.heapUsed;
  let rssPeak = m1.rss;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    if (m.heapUsed > heapPeak) heapPeak = m.heapUsed;
    if (m.rss > rssPeak) rssPeak = m.rss;
  }, 50);
  let v: number;
  try {
    v = await fut.result();
  } finally {
    clearInterval(sampler);
  }
  const tDone = performance.now();
  fut.release();
  const expected = treeExpected(start, leaves);
  if (v !== expected) throw new Error(`skein bench scheduler: ${2 * leaves - 1}-task graph gave ${v}, expected ${expected}`);
  await sleep(200);
  forceGc();
  const m2 = process.memoryUsage();
  return {
    tasks: 2 * leaves - 1,
    heapBefore: m0.heapUsed,
    heapAfterSubmit: m1.heapUsed,
    heapPeak,
    heapAfterRelease: m2.heapUsed,
    rssBefore: m0.rss,
    rssPeak,
    buildS: (tBuilt - t0) / 1e3,
    submitS: (tSubmitted - tBuilt) / 1e3,
    totalS: (tDone - t0) / 1e3,
    gc,
  };
}

// ------------------------------------------------------------------ measurement

export interface Measured {
  readonly kind: CaseKind;
  readonly name: string;
  /** Tasks (throughput cases) or round trips. */
  readonly count: number;
  /** Index among the cases of the same kind (for matching recorded anchors of another scale). */
  readonly index: number;
  readonly timing: Timing;
  readonly extra?: Readonly<Record<string, unknown>>;
}

export interface OurRun {
  readonly startupS: number;
  readonly cases: Measured[];
  readonly memory: MemoryFigures | null;
}

async function measureOurs(opts: SchedulerOptions): Promise<OurRun> {
  const t0 = performance.now();
  const client = await Client.connect({ nWorkers: 2, threadsPerWorker: 1, processes: true });
  const startupS = (performance.now() - t0) / 1e3;
  progress(`scheduler: ${CLUSTER} up in ${startupS.toFixed(3)} s`);
  try {
    return { startupS, ...(await runWorkloads(client, opts, BENCH)) };
  } finally {
    await client.close();
  }
}

/** The workloads (after their warm-up) on a connected client; `label` prefixes progress lines. */
export async function runWorkloads(client: Client, opts: SchedulerOptions, label: string): Promise<Omit<OurRun, "startupS">> {
  const sizes = schedulerSizes(opts.scale);
  const cases: Measured[] = [];
  let memory: MemoryFigures | null = null;
  {
    const w = sizes.warmup;
    await mapGather(client, w.mapGather);
    await roundTrips(client, w.roundTrips);
    await treeReduce(client, w.treeLeaves, []);
    await asCompleted(client, w.asCompletedInitial, w.asCompletedExtra);

    // As the Python script: collect before each run; pause after it so released keys are forgotten.
    const timed = (fn: () => Promise<void>) =>
      timeit(fn, opts.repeat, { before: () => void forceGc(), after: () => sleep(200) });
    const report = (m: Measured) => {
      cases.push(m);
      progress(`${label}: ${m.name} median ${m.timing.median.toFixed(3)} s, min ${m.timing.min.toFixed(3)} s`);
    };

    for (let index = 0; index < sizes.mapGather.length; index++) {
      const n = sizes.mapGather[index];
      const timing = await timed(() => mapGather(client, n));
      report({ kind: "map_gather", name: caseNames.mapGather(n), count: n, index, timing });
    }
    {
      const n = sizes.roundTrips;
      const timing = await timed(() => roundTrips(client, n));
      report({ kind: "submit_result_roundtrip", name: caseNames.roundTrip(n), count: n, index: 0, timing });
    }
    {
      const leaves = sizes.treeLeaves;
      const builds: number[] = [];
      const timing = await timed(() => treeReduce(client, leaves, builds));
      builds.sort((a, b) => a - b);
      report({
        kind: "delayed_tree_reduce",
        name: caseNames.tree(leaves),
        count: 2 * leaves - 1,
        index: 0,
        timing,
        extra: { graph_build_s_median_included: builds[builds.length >> 1] },
      });
    }
    {
      const n = sizes.asCompletedInitial;
      const m = sizes.asCompletedExtra;
      const timing = await timed(() => asCompleted(client, n, m));
      report({ kind: "as_completed", name: caseNames.asCompleted(n, m), count: n + m, index: 0, timing });
    }
    if (opts.million) {
      memory = await millionGraph(client, sizes.millionLeaves);
      progress(
        `${label}: ${memory.tasks}-task graph in ${memory.totalS.toFixed(3)} s, ` +
          `${((memory.heapAfterSubmit - memory.heapBefore) / memory.tasks).toFixed(0)} heap bytes/task after submit`,
      );
    }
  }
  return { cases, memory };
}

async function anchorFor(opts: SchedulerOptions): Promise<AnchorOutcome> {
  if (opts.anchor === "none") return { skipped: "not requested (--no-anchor)" };
  if (opts.anchor === "recorded") return readRecorded(RECORDED_FILE);
  progress(`scheduler: running the dask anchor (${ANCHOR_SCRIPT} processes ${opts.repeat} --scale ${opts.scale})`);
  return runAnchor(ANCHOR_SCRIPT, ["processes", String(opts.repeat), "--scale", String(opts.scale)], {
    onProgress: (line) => progress(`[anchor] ${line}`),
  });
}

// ------------------------------------------------------------------ output

/**
 * One JSON line per case; `where` names the benchmark and the cluster it ran on, and `target`
 * the ratio every case must reach there (default: each kind's target for the embedded scheduler).
 */
export function emitAll(
  opts: SchedulerOptions,
  ours: OurRun,
  anchor: AnchorOutcome,
  where: { readonly bench: string; readonly cluster: string; readonly anchorCluster?: string; readonly target?: number } = { bench: BENCH, cluster: CLUSTER },
): void {
  const skipped = isSkipped(anchor) ? anchor.skipped : null;
  const data = isSkipped(anchor) ? null : anchor.data;
  const source = isSkipped(anchor) ? "none" : anchor.source;
  // Recorded figures come from a run at scale 1, REPEAT 3 (the result file says so).
  const anchorScale = data === null ? null : (num(data, "scale") ?? (source === "recorded" ? 1 : null));
  const anchorRepeat = data === null ? null : num(data, "repeat");
  const common = {
    repeat: opts.repeat,
    scale: opts.scale,
    cluster: where.cluster,
    ...(where.anchorCluster !== undefined ? { anchor_cluster: where.anchorCluster } : {}),
  };
  const anchorCommon =
    skipped !== null ? { anchor_skipped: skipped } : { anchor_scale: anchorScale, anchor_repeat: anchorRepeat };

  for (const c of ours.cases) {
    const k = KINDS[c.kind];
    const match = data === null ? null : matchAnchorRow(data, c.kind, c.name, c.index);
    const oursFigure = c.kind === "submit_result_roundtrip" ? (c.timing.median / c.count) * 1e3 : c.count / c.timing.median;
    emit({
      bench: where.bench,
      case: c.name,
      ours: oursFigure,
      anchor: match?.figure ?? null,
      unit: k.unit,
      better: k.better,
      target: where.target ?? k.target,
      anchor_source: match ? source : "none",
      [c.kind === "submit_result_roundtrip" ? "round_trips" : "tasks"]: c.count,
      ours_median_s: c.timing.median,
      ours_min_s: c.timing.min,
      ours_samples_s: c.timing.samples,
      anchor_case: match?.name ?? null,
      anchor_median_s: match?.medianS ?? null,
      ...(match?.note ? { anchor_note: match.note } : {}),
      ...(data !== null && !match ? { anchor_skipped: `no ${c.kind} row in the anchor results` } : {}),
      ...anchorCommon,
      ...common,
      ...(c.extra ?? {}),
    });
  }

  const anchorStartup = data === null ? null : (num(data, "cluster_startup_s") ?? num(data, "results", "cluster_startup_s"));
  emit({
    bench: where.bench,
    case: "cluster_startup",
    ours: ours.startupS,
    anchor: anchorStartup,
    unit: "s",
    better: "lower",
    target: null,
    anchor_source: anchorStartup === null ? "none" : source,
    ...anchorCommon,
    ...common,
  });

  const m = ours.memory;
  if (m) {
    emit({
      bench: where.bench,
      case: caseNames.million(m.tasks),
      ours: (m.heapAfterSubmit - m.heapBefore) / m.tasks,
      anchor: null,
      unit: "heap bytes/task",
      better: "lower",
      target: null,
      anchor_source: "none",
      anchor_skipped: "bench_scheduler.py has no 1M-task case",
      tasks: m.tasks,
      heap_peak_bytes_per_task: (m.heapPeak - m.heapBefore) / m.tasks,
      heap_retained_after_release_bytes: m.heapAfterRelease - m.heapBefore,
      rss_peak_growth_bytes: m.rssPeak - m.rssBefore,
      heap_before_bytes: m.heapBefore,
      forced_gc: m.gc,
      build_s: m.buildS,
      submit_s: m.submitS,
      total_s: m.totalS,
      tasks_per_s: m.tasks / m.totalS,
      measured_in: "client process (hosts the embedded scheduler; workers are separate processes)",
      ...common,
    });
  }
}

export async function run(args: string[]): Promise<void> {
  const opts = parseSchedulerArgs(args);
  if (!forceGc()) progress("scheduler: no --expose-gc; memory figures are taken without a forced GC");
  const ours = await measureOurs(opts);
  const anchor = await anchorFor(opts);
  if (isSkipped(anchor)) progress(`scheduler: dask anchor missing: ${anchor.skipped}`);
  emitAll(opts, ours, anchor);
}
