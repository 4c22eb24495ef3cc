/**
 * Micro-benchmark of the pure scheduler state machine (no sockets, no workers): how many
 * transitions and tasks per second `SchedulerState` sustains, and its heap bytes per task.
 *
 *   npx tsx bench/scheduler-state.ts            full sizes
 *   npx tsx bench/scheduler-state.ts --quick    1/10 sizes
 *
 * Two fake workers (1 thread each) finish whatever they are sent, in batches of up to BATCH
 * task-finished events per worker per round (an edge delivers messages in batches too), each
 * reporting a 20 µs compute time, so auto saturation settles at its deep-pipeline cap.
 *
 *   independent   N root tasks, all wanted; the client releases each result as it arrives
 *   tree          binary tree reduction over N leaves (2N - 1 tasks), the root wanted,
 *                 submitted in depth-first (memory-friendly) order as dask.order would
 *   memory        update-graph of 1,000,000 tasks, then heap bytes per task held by the
 *                 scheduler (submission objects dropped, forced GC before and after)
 */
import { performance } from "node:perf_hooks";
import v8 from "node:v8";
import vm from "node:vm";
import type { Key, TaskSubmission } from "../src/graph/spec.js";
import { SchedulerState, type SchedulerEvent, type SchedulerInstruction } from "../src/scheduler/state.js";

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

const quick = process.argv.includes("--quick");
const SCALE = quick ? 0.1 : 1;
const BATCH = 64;
const WORKERS = ["tcp://127.0.0.1:9001", "tcp://127.0.0.1:9002"];
const SHARED_RUN = new Uint8Array(32);

/**
 * Keys as a decoder hands them over: flat strings. A template literal makes a cons string
 * (two or three heap objects), which would overstate memory and slow the first hash.
 */
function flat(key: string): Key {
  return Buffer.from(key, "latin1").toString("latin1");
}

function addWorkers(s: SchedulerState): void {
  for (const w of WORKERS) {
    s.handle({ type: "add-worker", worker: w, name: w, nthreads: 1, memoryLimit: 4e9, resources: {} });
  }
  s.handle({ type: "add-client", client: "c1" });
}

function independent(n: number, prefix: string): { tasks: TaskSubmission[]; wanted: Key[] } {
  const tasks: TaskSubmission[] = new Array(n);
  const wanted: Key[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const key = flat(`${prefix}-inc-${i}`);
    tasks[i] = { key, run: SHARED_RUN, deps: [], name: "inc" };
    wanted[i] = key;
  }
  return { tasks, wanted };
}

/** Binary tree sum over `leaves` leaves, tasks listed in post-order (children before parent). */
function tree(leaves: number, prefix: string, runFor?: (i: number) => Uint8Array): { tasks: TaskSubmission[]; wanted: Key[] } {
  const tasks: TaskSubmission[] = [];
  let counter = 0;
  const build = (lo: number, hi: number): Key => {
    if (hi - lo === 1) {
      const key = flat(`${prefix}-leaf-${lo}`);
      tasks.push({ key, run: runFor ? runFor(tasks.length) : SHARED_RUN, deps: [], name: "load" });
      return key;
    }
    const mid = (lo + hi) >>> 1;
    const left = build(lo, mid);
    const right = build(mid, hi);
    const key = flat(`${prefix}-add-${counter++}`);
    tasks.push({ key, run: runFor ? runFor(tasks.length) : SHARED_RUN, deps: [left, right], name: "add" });
    return key;
  };
  const root = build(0, leaves);
  return { tasks, wanted: [root] };
}

interface DriveResult {
  seconds: number;
  graphSeconds: number;
  transitions: number;
  finished: number;
}

/** Submit, then play two workers that finish everything they are sent. */
function drive(s: SchedulerState, tasks: TaskSubmission[], wanted: Key[], releaseOnArrival: boolean): DriveResult {
  const queues = WORKERS.map(() => [] as Key[]);
  const heads = WORKERS.map(() => 0);
  const index = new Map(WORKERS.map((w, i) => [w, i]));
  let releases: Key[] = [];
  let finished = 0;
  const route = (out: SchedulerInstruction[]): void => {
    for (let i = 0; i < out.length; i++) {
      const ins = out[i];
      if (ins.type === "compute-task") queues[index.get(ins.worker) as number].push(ins.msg.key);
      else if (ins.type === "key-in-memory" && releaseOnArrival) releases.push(ins.key);
    }
  };
  const t0 = performance.now();
  const transitions0 = s.transitions;
  route(s.handle({ type: "update-graph", client: "c1", tasks, wanted }));
  const t1 = performance.now();
  const startstops = [{ action: "compute" as const, start: 0, stop: 0.02 }];
  for (;;) {
    const events: SchedulerEvent[] = [];
    for (let w = 0; w < WORKERS.length; w++) {
      const q = queues[w];
      const end = Math.min(q.length, heads[w] + BATCH);
      for (let i = heads[w]; i < end; i++) {
        events.push({ type: "task-finished", worker: WORKERS[w], key: q[i], nbytes: 28, typeName: "number", hasValue: true, value: i, startstops });
      }
      finished += end - heads[w];
      heads[w] = end;
      if (heads[w] > 65536) {
        queues[w] = q.slice(heads[w]);
        heads[w] = 0;
      }
    }
    if (releases.length > 0) {
      events.push({ type: "client-releases-keys", client: "c1", keys: releases });
      releases = [];
    }
    if (events.length === 0) break;
    route(s.handleMany(events));
  }
  const t2 = performance.now();
  return { seconds: (t2 - t0) / 1000, graphSeconds: (t1 - t0) / 1000, transitions: s.transitions - transitions0, finished };
}

function report(name: string, ntasks: number, r: DriveResult, s: SchedulerState): void {
  const fmt = (x: number) => Math.round(x).toLocaleString("en-US");
  console.log(
    `${name.padEnd(28)} ${fmt(ntasks).padStart(9)} tasks  ${r.seconds.toFixed(3)} s  ` +
      `${fmt(ntasks / r.seconds).padStart(9)} tasks/s  ${fmt(r.transitions / r.seconds).padStart(10)} transitions/s  ` +
      `(update-graph ${(r.graphSeconds * 1000).toFixed(0)} ms, ${r.transitions} transitions, left in scheduler: ${s.taskCount})`,
  );
  if (r.finished !== ntasks) throw new Error(`skein bench: ${name} finished ${r.finished} of ${ntasks} tasks`);
}

function throughput(): void {
  // Warm-up (JIT) on a small instance of each workload.
  for (const [i, make] of [() => independent(10_000, "warm"), () => tree(5_000, "warm")].entries()) {
    const s = new SchedulerState();
    addWorkers(s);
    const g = make();
    drive(s, g.tasks, g.wanted, i === 0);
  }
  const n = Math.round(100_000 * SCALE);
  for (const logSize of [100_000, 0]) {
    const label = logSize === 0 ? " (no transition log)" : "";
    {
      const s = new SchedulerState({ transitionLogSize: logSize });
      addWorkers(s);
      const g = independent(n, "ind");
      report(`independent${label}`, n, drive(s, g.tasks, g.wanted, true), s);
    }
    {
      const s = new SchedulerState({ transitionLogSize: logSize });
      addWorkers(s);
      const g = tree(n, "tree");
      report(`tree reduction${label}`, g.tasks.length, drive(s, g.tasks, g.wanted, false), s);
    }
  }
}

function heapUsed(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

function memory(): void {
  const n = Math.round(1_000_000 * SCALE);
  const cases: [string, () => { tasks: TaskSubmission[]; wanted: Key[] }][] = [
    ["independent, all wanted", () => independent(n, "mem")],
    ["tree, root wanted", () => tree(Math.ceil(n / 2), "mem")],
    [
      "tree, 40-byte run views",
      () => {
        // Run blobs as a decoder hands them over: views into one received frame.
        const frame = new Uint8Array(n * 40);
        return tree(Math.ceil(n / 2), "mem", (i) => frame.subarray(i * 40, i * 40 + 40));
      },
    ],
  ];
  for (const [name, make] of cases) {
    const s = new SchedulerState();
    addWorkers(s);
    const before = heapUsed();
    let g: { tasks: TaskSubmission[]; wanted: Key[] } | null = make();
    const count = g.tasks.length;
    const t0 = performance.now();
    s.handle({ type: "update-graph", client: "c1", tasks: g.tasks, wanted: g.wanted });
    const seconds = (performance.now() - t0) / 1000;
    g = null; // the submission objects go; the keys and run blobs stay, held by the scheduler
    const perTask = (heapUsed() - before) / count;
    const counts = s.counts();
    console.log(
      `memory: ${name.padEnd(26)} ${count.toLocaleString("en-US")} tasks in flight ` +
        `(${counts.processing} processing, ${counts.queued} queued, ${counts.waiting} waiting): ` +
        `${Math.round(perTask)} heap bytes/task (keys included); update-graph ${seconds.toFixed(2)} s`,
    );
  }
}

console.log(`skein scheduler state machine, node ${process.version}${quick ? " (quick sizes)" : ""}`);
throughput();
memory();
