/**
 * The dashboard's aggregation, without sockets: the task-stream ring (lanes, wrap-around, time
 * windows), per-function progress reconciled against a real SchedulerState driven by events,
 * the rows a viewer draws, and the performance report's summaries.
 */
import { describe, expect, it } from "vitest";
import { concurrency, renderPerformanceReport, summarizeTaskStream } from "../src/client/performance-report.js";
import { streamRows, toDelta } from "../src/dashboard/model.js";
import { ProgressTracker, type FunctionProgress } from "../src/dashboard/progress.js";
import { TaskStreamLog } from "../src/dashboard/task-stream.js";
import { keyPrefix } from "../src/graph/keys.js";
import type { Key } from "../src/graph/spec.js";
import { checkMessage } from "../src/protocol-check.js";
import type { StartStop } from "../src/protocol.js";
import { SchedulerState, type SchedulerEvent } from "../src/scheduler/state.js";
import { addClient, addWorker, erred, finished, graph, releases, task } from "./scheduler-helpers.js";

const compute = (start: number, stop: number): StartStop[] => [{ action: "compute", start, stop }];

describe("TaskStreamLog", () => {
  it("puts overlapping tasks of one worker on different thread lanes", () => {
    const log = new TaskStreamLog(() => "f");
    log.onEvents([{ type: "add-worker", worker: "tcp://w:1", name: "w", nthreads: 2, memoryLimit: 0, resources: {} }]);
    log.add("b", "tcp://w:1", compute(1, 5), false, 8); // finishes first: lane 0
    log.add("a", "tcp://w:1", compute(0, 10), false, 8); // ran beside b: lane 1
    log.add("c", "tcp://w:1", compute(5, 8), false, 8); // after b on lane 0
    log.add("d", "tcp://w:1", compute(10.2, 12), false, 8); // lane 1 freed at 10 (0.5 ms slack), busiest free lane
    const s = log.slice(0);
    expect(s.key).toEqual(["b", "a", "c", "d"]);
    expect(s.lane).toEqual([0, 1, 0, 1]);
    expect(s.workers).toEqual([{ address: "tcp://w:1", name: "w", nthreads: 2 }]);
  });

  it("names functions by the scheduler's name, else by the key's prefix", () => {
    const log = new TaskStreamLog((k) => (k === "known-1" ? "load" : undefined));
    log.add("known-1", "tcp://w:1", compute(0, 1), false, 1);
    log.add("inc-0123456789abcdef", "tcp://w:1", compute(1, 2), false, 1);
    log.add("x-1", "tcp://w:1", compute(2, 3), false, 1);
    const s = log.slice(0);
    expect(s.fnNames).toEqual(["load", "inc", "x-1"]);
    expect(s.fn).toEqual([0, 1, 2]);
    expect(keyPrefix("sum-ffffffff")).toBe("sum");
  });

  it("keeps one record per startstop, with the failure flag and the result bytes on compute only", () => {
    const log = new TaskStreamLog(() => "g");
    log.onEvents([
      { type: "task-finished", worker: "tcp://w:1", key: "g-1", nbytes: 80, typeName: "number", hasValue: false, startstops: [{ action: "transfer", start: 0, stop: 2 }, { action: "compute", start: 2, stop: 7 }] },
      { type: "task-erred", worker: "tcp://w:1", key: "g-2", error: { name: "Error", message: "m", stack: "s", key: "g-2", fn: "g", worker: "tcp://w:1" }, startstops: compute(7, 9) },
      { type: "task-finished", worker: "tcp://w:1", key: "g-3", nbytes: 8, typeName: "number", hasValue: false, startstops: [] },
    ]);
    const s = log.slice(0);
    expect(s.key).toEqual(["g-1", "g-1", "g-2"]);
    expect(s.action).toEqual([1, 0, 0]);
    expect(s.erred).toEqual([0, 0, 1]);
    expect(s.nbytes).toEqual([0, 80, 0]);
    expect(s.start).toEqual([0, 2, 7]);
    expect(s.stop).toEqual([2, 7, 9]);
  });

  it("wraps around at capacity and answers time windows from what it still holds", () => {
    const log = new TaskStreamLog(() => "f", 4);
    for (let i = 0; i < 6; i++) log.add(`f-${i}`, "tcp://w:1", compute(i * 10, i * 10 + 5), false, 1);
    expect(log.written).toBe(6);
    expect(log.oldest).toBe(2);
    expect(log.slice(0).key).toEqual(["f-2", "f-3", "f-4", "f-5"]);
    expect(log.slice(4, 5).key).toEqual(["f-4"]);
    // [33, 41] overlaps f-3 (30..35) and f-4 (40..45); nothing it covered was overwritten.
    expect(log.window(33, 41)).toMatchObject({ records: { key: ["f-3", "f-4"] }, transfers: { key: [] }, dropped: 0 });
    // A window from 0 began before the oldest record still held: 2 records are gone.
    expect(log.window(0, 100)).toMatchObject({ records: { key: ["f-2", "f-3", "f-4", "f-5"] }, dropped: 2 });
    expect(() => new TaskStreamLog(() => "f", 0)).toThrow("skein task stream: capacity must be a positive integer, got 0");
  });

  it("starts small and grows its arrays up to the capacity before wrapping", () => {
    const log = new TaskStreamLog(() => "f", 3000);
    for (let i = 0; i < 5000; i++) log.add(`f-${i}`, "tcp://w:1", compute(i, i + 0.25), false, i);
    const s = log.slice(0);
    expect(s.key.length).toBe(3000);
    expect([s.key[0], s.key[2999]]).toEqual(["f-2000", "f-4999"]);
    expect([s.start[0], s.nbytes[2999]]).toEqual([2000, 4999]);
    for (let i = 0; i < 5000; i++) log.copied("tcp://w:1", [`f-${i}`], { [`f-${i}`]: 1 });
    expect(log.window(0, Infinity).transfers.key.length).toBe(3000);
    expect(log.received("tcp://w:1")).toEqual([5000, 5000]);
  });
});

describe("copies between workers", () => {
  it("counts add-keys per receiving worker and answers them by time window", () => {
    let now = 100;
    const log = new TaskStreamLog((k) => (k.startsWith("load") ? "load" : undefined), 10, () => now);
    log.onEvents([
      { type: "add-worker", worker: "tcp://a:1", name: "a", nthreads: 1, memoryLimit: 0, resources: {} },
      { type: "add-keys", worker: "tcp://a:1", keys: ["load-1", "load-2"], nbytes: { "load-1": 800, "load-2": 16 } },
    ]);
    now = 200;
    log.onEvents([{ type: "add-keys", worker: "tcp://b:1", keys: ["x-0123456789"], nbytes: {} }]);
    expect(log.received("tcp://a:1")).toEqual([2, 816]);
    expect(log.received("tcp://b:1")).toEqual([1, 0]);
    expect(log.received("tcp://nobody:1")).toEqual([0, 0]);
    const all = log.window(0, 1000);
    expect(all.records.fnNames).toEqual(["load", "x"]);
    expect(all.records.workers.map((w) => w.name)).toEqual(["a", "tcp://b:1"]);
    expect(all.transfers).toEqual({ key: ["load-1", "load-2", "x-0123456789"], fn: [0, 0, 1], worker: [0, 0, 1], time: [100, 100, 200], nbytes: [800, 16, 0] });
    expect(log.window(150, 1000).transfers.key).toEqual(["x-0123456789"]);
  });
});

describe("dashboard rows", () => {
  it("gives every worker thread a row, in join order", () => {
    const workers = [{ address: "a", name: "w0", nthreads: 2 }, { address: "b", name: "w1", nthreads: 1 }];
    expect(streamRows(workers)).toEqual({ labels: ["w0:0", "w0:1", "w1"], offsets: [0, 2] });
    const log = new TaskStreamLog(() => "f");
    log.onEvents([
      { type: "add-worker", worker: "a", name: "w0", nthreads: 2, memoryLimit: 0, resources: {} },
      { type: "add-worker", worker: "b", name: "w1", nthreads: 1, memoryLimit: 0, resources: {} },
    ]);
    log.add("f-1", "b", compute(0, 1), false, 1);
    log.add("f-2", "a", compute(0, 2), false, 1);
    log.add("f-3", "a", compute(1, 2), false, 1);
    const d = toDelta(log.slice(0), 3);
    expect(d.rows).toEqual(["w0:0", "w0:1", "w1"]);
    expect(d.row).toEqual([2, 0, 1]);
    expect(d.dropped).toBe(3);
  });
});

/** What the scheduler itself says, per function: the numbers the dashboard must match. */
function fromScheduler(state: SchedulerState, names: Record<Key, string>): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const [key, name] of Object.entries(names)) {
    const s = state.taskState(key);
    if (s === undefined) continue;
    const cat = s === "memory" ? "memory" : s === "erred" ? "erred" : s === "processing" ? "processing" : "waiting";
    out[name] ??= { waiting: 0, processing: 0, memory: 0, erred: 0 };
    out[name][cat]++;
  }
  return out;
}

function live(view: FunctionProgress[]): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const p of view) out[p.name] = { waiting: p.waiting, processing: p.processing, memory: p.memory, erred: p.erred };
  return out;
}

describe("ProgressTracker against a real SchedulerState", () => {
  function harness() {
    const state = new SchedulerState();
    const tracker = new ProgressTracker();
    const feed = (...events: SchedulerEvent[]): void => {
      // As the scheduler edge does: plugins see a batch before the state machine handles it.
      tracker.onEvents(events);
      state.handleMany(events);
      tracker.reconcile((k) => state.taskState(k));
    };
    return { state, tracker, feed };
  }

  it("counts waiting, processing, in memory and done per function, equal to the scheduler's states", () => {
    const { state, tracker, feed } = harness();
    feed(addWorker("w1", { nthreads: 1 }), addClient("c"));
    const tasks = [task("load-1"), task("load-2"), task("load-3"), task("total-1", ["load-1", "load-2", "load-3"])];
    const names = Object.fromEntries(tasks.map((t) => [t.key, t.name]));
    feed(graph("c", tasks, ["total-1"]));
    expect(live(tracker.view())).toEqual(fromScheduler(state, names));
    expect(tracker.view().map((p) => [p.name, p.total])).toEqual([["load", 3], ["total", 1]]);

    for (const k of ["load-1", "load-2", "load-3"]) {
      const at = state.processingOn(k);
      if (at !== undefined) feed(finished(at, k, { ms: 2 }));
    }
    // Whatever was still queued is now processing; finish it too.
    for (const k of ["load-1", "load-2", "load-3"]) {
      const at = state.processingOn(k);
      if (at !== undefined) feed(finished(at, k, { ms: 2 }));
    }
    expect(live(tracker.view())).toEqual(fromScheduler(state, names));
    feed(finished("w1", "total-1", { ms: 1 }));
    // The loads were released once total-1 had them: done, not in memory.
    expect(tracker.view()).toEqual([
      { name: "load", total: 3, waiting: 0, processing: 0, memory: 0, erred: 0, done: 3 },
      { name: "total", total: 1, waiting: 0, processing: 0, memory: 1, erred: 0, done: 0 },
    ]);
    expect(state.counts().memory).toBe(1);

    feed(releases("c", ["total-1"]));
    expect(state.taskCount).toBe(0);
    expect(tracker.size).toBe(0);
    expect(tracker.view().map((p) => [p.name, p.done, p.memory])).toEqual([["load", 3, 0], ["total", 1, 0]]);
  });

  it("keeps failed tasks and their dependents as erred after they are forgotten, and drops cancelled ones", () => {
    const { state, tracker, feed } = harness();
    feed(addWorker("w1", { nthreads: 2 }), addClient("c"));
    feed(graph("c", [task("bad-1"), task("after-1", ["bad-1"]), task("slow-1")], ["after-1", "slow-1"]));
    feed(erred("w1", "bad-1"));
    expect(state.taskState("after-1")).toBe("erred");
    expect(tracker.view().find((p) => p.name === "after")).toMatchObject({ erred: 1, total: 1 });
    expect(tracker.view().find((p) => p.name === "bad")).toMatchObject({ erred: 1, total: 1 });
    feed(releases("c", ["after-1", "slow-1"]));
    expect(state.taskCount).toBe(0);
    const byName = Object.fromEntries(tracker.view().map((p) => [p.name, p]));
    expect(byName.bad).toMatchObject({ erred: 1, total: 1 });
    expect(byName.after).toMatchObject({ erred: 1, total: 1 });
    // slow-1 never ran: released before finishing, it leaves the counts.
    expect(byName.slow).toBeUndefined();
  });

  it("reconciles 100,000 tasks in one pass and lists functions most recently active first", () => {
    const { state, tracker, feed } = harness();
    feed(addWorker("w1", { nthreads: 4 }), addClient("c"));
    const n = 100_000;
    const tasks = [];
    for (let i = 0; i < n; i++) tasks.push(task(`leaf-${i}`));
    feed(graph("c", tasks, tasks.map((t) => t.key)));
    const [p] = tracker.view();
    expect(p.total).toBe(n);
    expect(p.processing + p.waiting).toBe(n);
    expect(p.processing).toBe(state.counts().processing);
    feed(graph("c", [task("later-1")], ["later-1"]));
    expect(tracker.view().map((x) => x.name)).toEqual(["later", "leaf"]);
  });
});

describe("performance report summaries", () => {
  function window() {
    const log = new TaskStreamLog((k) => k.replace(/-\d+$/, ""), 100, () => 1031);
    log.onEvents([
      { type: "add-worker", worker: "tcp://a:1", name: "a", nthreads: 1, memoryLimit: 0, resources: {} },
      { type: "add-worker", worker: "tcp://b:1", name: "b", nthreads: 2, memoryLimit: 0, resources: {} },
    ]);
    log.add("load-1", "tcp://a:1", compute(1000, 1010), false, 100);
    log.add("load-2", "tcp://b:1", compute(1000, 1030), false, 300);
    log.copied("tcp://a:1", ["load-2"], { "load-2": 300 });
    log.add("fit-1", "tcp://b:1", [{ action: "transfer", start: 1030, stop: 1034 }, { action: "compute", start: 1034, stop: 1054 }], false, 8);
    log.add("fit-2", "tcp://a:1", compute(1054, 1060), true, 0);
    return { ...log.window(1000, 1100), start: 1000, stop: 1100 };
  }

  it("sums time per function and per worker, copies and timed transfers apart", () => {
    const s = summarizeTaskStream(window());
    expect(s).toMatchObject({ tasks: 4, erred: 1, computeMs: 66, copies: 1, copiedBytes: 300, transfers: 1, transferMs: 4, diskMs: 0 });
    expect(s.functions).toEqual([
      { name: "load", tasks: 2, erred: 0, computeMs: 40, meanMs: 20, maxMs: 30, nbytes: 400, copies: 1, copiedBytes: 300, transfers: 0, transferMs: 0, diskMs: 0 },
      { name: "fit", tasks: 2, erred: 1, computeMs: 26, meanMs: 13, maxMs: 20, nbytes: 8, copies: 0, copiedBytes: 0, transfers: 1, transferMs: 4, diskMs: 0 },
    ]);
    expect(s.workers).toEqual([
      { name: "a", address: "tcp://a:1", nthreads: 1, tasks: 2, computeMs: 16, copies: 1, copiedBytes: 300, transfers: 0, transferMs: 0 },
      { name: "b", address: "tcp://b:1", nthreads: 2, tasks: 2, computeMs: 50, copies: 0, copiedBytes: 0, transfers: 1, transferMs: 4 },
    ]);
  });

  it("samples how many tasks compute at each instant", () => {
    // Instants 1000, 1020, ..., 1100: load-1 covers 1000; load-2 1000, 1020; fit-1 1040; fit-2 (1054..1060) 1060.
    expect(concurrency(window().records, 1000, 1100, 6)).toEqual({ t: [1, 1.02, 1.04, 1.06, 1.08, 1.1], running: [2, 1, 1, 1, 0, 0] });
  });

  it("renders one HTML file with uPlot and the data inlined, nothing fetched", () => {
    const html = renderPerformanceReport(window(), { title: "run <1>" });
    expect(html.startsWith("<!doctype html>")).toBe(true);
    expect(html).toContain("<title>run &#60;1&#62;</title>");
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=/);
    expect(html).toContain("uPlot");
    expect(html).toContain('<tr data-fn="load" data-tasks="2">');
    // Only the JSON's own "<" are escaped: the data block cannot close its script element.
    const data = html.slice(html.indexOf('id="report-data">') + 17, html.indexOf("</script>", html.indexOf('id="report-data">')));
    expect(JSON.parse(data).stream.key).toEqual(["load-1", "load-2", "fit-1", "fit-1", "fit-2"]);
  });
});

describe("task-stream wire messages", () => {
  it("checks the request and the reply", () => {
    expect(checkMessage({ op: "task-stream", id: 1, since: 0, until: 5 })).toBeNull();
    expect(checkMessage({ op: "task-stream", id: 1, since: "0", until: 5 })).toBe('task-stream: field "since" must be a number, got "0"');
    const records = records1();
    const transfers = { key: ["f-1"], fn: [0], worker: [0], time: [5], nbytes: [8] };
    expect(checkMessage({ op: "task-stream-reply", id: 2, records, transfers, dropped: 0 })).toBeNull();
    expect(checkMessage({ op: "task-stream-reply", id: 2, records: { ...records, stop: [] }, transfers, dropped: 0 })).toBe(
      'task-stream-reply: field "records" must be task-stream columns, got an object',
    );
    expect(checkMessage({ op: "task-stream-reply", id: 2, records, transfers: { ...transfers, time: ["5"] }, dropped: 0 })).toBe(
      'task-stream-reply: field "transfers" must be transfer columns, got an object',
    );
    expect(checkMessage({ op: "heartbeat", memory: { managed: 1, spilled: 0, rss: 2 }, executing: 0, ready: 0, cpu: "x" })).toBe(
      'heartbeat: field "cpu" must be a number when present, got "x"',
    );
  });
});

function records1() {
  const log = new TaskStreamLog(() => "f");
  log.add("f-1", "tcp://w:1", compute(0, 1), false, 1);
  return log.slice(0);
}
