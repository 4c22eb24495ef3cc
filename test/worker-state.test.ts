/**
 * The worker state machine as event scripts: feed events built by small helpers, assert the
 * whole instruction list, and check internal consistency after every event.
 */
import { describe, expect, it } from "vitest";
import type { DepLocation } from "../src/protocol.js";
import {
  InvalidTransition,
  WorkerState,
  type WorkerEvent,
  type WorkerInstruction,
  type WorkerStateOptions,
} from "../src/worker/state.js";

const SELF = "tcp://self:1";
const A = "tcp://a:1";
const B = "tcp://b:1";
const C = "tcp://c:1";
const RUN = new Uint8Array([7]);

function machine(opts: Partial<WorkerStateOptions> = {}): { ws: WorkerState; feed: (ev: WorkerEvent) => WorkerInstruction[] } {
  let clock = 0;
  const ws = new WorkerState({ address: SELF, nthreads: 1, now: () => clock++, ...opts });
  return {
    ws,
    feed(ev) {
      const out = ws.handle(ev);
      ws.validate();
      return out;
    },
  };
}

let nextId = 0;
const sid = (what: string): string => `${what}-${nextId++}`;

function dep(key: string, workers: string[], nbytes = 8): DepLocation {
  return { key, workers, nbytes };
}

function compute(
  key: string,
  deps: DepLocation[] = [],
  extra: { priority?: number[]; resources?: Record<string, number> } = {},
): WorkerEvent {
  return { type: "compute-task", stimulusId: sid("compute"), key, run: RUN, name: `fn-${key}`, deps, priority: extra.priority ?? [0], resources: extra.resources };
}

function done(key: string, opts: { nbytes?: number; ms?: number } = {}): WorkerEvent {
  return { type: "execute-success", stimulusId: sid("done"), key, nbytes: opts.nbytes ?? 8, typeName: "number", start: 1000, stop: 1000 + (opts.ms ?? 50) };
}

function gathered(worker: string, keys: string[], got: Record<string, number> = {}): WorkerEvent {
  const data: Record<string, { nbytes: number; typeName: string }> = {};
  for (const k of Object.keys(got)) data[k] = { nbytes: got[k], typeName: "number" };
  return { type: "gather-dep-success", stimulusId: sid("gathered"), worker, keys, data, start: 5, stop: 6 };
}

function gatherFailed(worker: string, keys: string[]): WorkerEvent {
  return { type: "gather-dep-failure", stimulusId: sid("gather-failed"), worker, keys, error: "connection refused" };
}

const free = (...keys: string[]): WorkerEvent => ({ type: "free-keys", stimulusId: sid("free"), keys });

const exec = (key: string, deps: string[] = []) => ({ op: "execute", key, run: RUN, name: `fn-${key}`, deps, stimulusId: expect.any(String) });
const gather = (worker: string, keys: string[], totalNbytes: number) => ({ op: "gather-dep", worker, keys, totalNbytes, stimulusId: expect.any(String) });
const finished = (key: string, nbytes = 8, ms = 50) => ({ op: "send-task-finished", key, nbytes, typeName: "number", startstops: [{ action: "compute", start: 1000, stop: 1000 + ms }] });
const addKeys = (key: string, nbytes = 8) => ({ op: "send-add-keys", keys: [key], nbytes: { [key]: nbytes } });
const missingData = (key: string, errantWorker: string) => ({ op: "send-missing-data", key, errantWorker });
const releaseData = (key: string) => ({ op: "release-data", key });

describe("WorkerState: computing", () => {
  it("runs a task without dependencies and reports it", () => {
    const { ws, feed } = machine();
    expect(feed(compute("x"))).toEqual([exec("x")]);
    expect(ws.stateOf("x")).toBe("executing");
    expect(feed(done("x", { nbytes: 24 }))).toEqual([finished("x", 24)]);
    expect(ws.stateOf("x")).toBe("memory");
    expect(ws.managedBytes).toBe(24);
    // A repeated compute-task for a finished key repeats the report instead of recomputing.
    expect(feed(compute("x"))).toEqual([finished("x", 24)]);
  });

  it("fetches dependencies, then executes", () => {
    const { ws, feed } = machine();
    expect(feed(compute("z", [dep("x", [A]), dep("y", [A], 16)]))).toEqual([gather(A, ["x", "y"], 24)]);
    expect(ws.stateOf("x")).toBe("flight");
    expect(ws.stateOf("z")).toBe("waiting");
    expect(feed(gathered(A, ["x", "y"], { x: 8, y: 16 }))).toEqual([addKeys("x"), addKeys("y", 16), exec("z", ["x", "y"])]);
    expect(feed(done("z"))).toEqual([finished("z")]);
    // Fetched replicas were announced (add-keys), so they stay until the scheduler frees them.
    expect(ws.stateOf("x")).toBe("memory");
    expect(feed(free("x", "y"))).toEqual([releaseData("x"), releaseData("y")]);
    expect(ws.stateOf("x")).toBeUndefined();
    expect(ws.managedBytes).toBe(8);
  });

  it("uses a dependency computed here without fetching it", () => {
    const { feed } = machine();
    expect(feed(compute("x"))).toEqual([exec("x")]);
    expect(feed(compute("y", [dep("x", [SELF])]))).toEqual([]);
    expect(feed(done("x"))).toEqual([finished("x"), exec("y", ["x"])]);
  });

  it("executes a task whose dependency was scattered here", () => {
    const { feed } = machine();
    expect(feed({ type: "update-data", stimulusId: sid("scatter"), data: { s: { nbytes: 100, typeName: "Float64Array" } } })).toEqual([]);
    expect(feed(compute("z", [dep("s", [SELF], 100)]))).toEqual([exec("z", ["s"])]);
  });

  it("reports a failure with the remote error and the worker", () => {
    const { ws, feed } = machine();
    feed(compute("x"));
    const out = feed({
      type: "execute-failure",
      stimulusId: sid("failed"),
      key: "x",
      error: { name: "TypeError", message: "bad", stack: "TypeError: bad\n    at f (file:///m.js:1:1)" },
      start: 10,
      stop: 12,
    });
    expect(out).toEqual([
      {
        op: "send-task-erred",
        key: "x",
        error: { name: "TypeError", message: "bad", stack: "TypeError: bad\n    at f (file:///m.js:1:1)", key: "x", fn: "fn-x", worker: SELF },
        startstops: [{ action: "compute", start: 10, stop: 12 }],
      },
    ]);
    expect(ws.stateOf("x")).toBe("error");
    // A retry from the scheduler runs it again.
    expect(feed(compute("x"))).toEqual([exec("x")]);
  });

  it("runs ready tasks in priority order (smaller first, ties first-in first-out)", () => {
    const { ws, feed } = machine();
    expect(feed(compute("a", [], { priority: [1] }))).toEqual([exec("a")]);
    expect(feed(compute("b", [], { priority: [3] }))).toEqual([]);
    expect(feed(compute("c", [], { priority: [2, 5] }))).toEqual([]);
    expect(feed(compute("d", [], { priority: [2, 5] }))).toEqual([]);
    expect(feed(compute("e", [], { priority: [2] }))).toEqual([]);
    expect(ws.readyKeys()).toEqual(["e", "c", "d", "b"]);
    expect(feed(done("a"))).toEqual([finished("a"), exec("e")]);
    expect(feed(done("e"))).toEqual([finished("e"), exec("c")]);
    expect(feed(done("c"))).toEqual([finished("c"), exec("d")]);
    expect(feed(done("d"))).toEqual([finished("d"), exec("b")]);
  });

  it("holds resource-constrained tasks until their resources are free", () => {
    const { ws, feed } = machine({ nthreads: 3, resources: { GPU: 1 } });
    expect(feed(compute("g1", [], { resources: { GPU: 1 } }))).toEqual([exec("g1")]);
    expect(feed(compute("g2", [], { resources: { GPU: 1 } }))).toEqual([]);
    expect(ws.stateOf("g2")).toBe("constrained");
    // A free thread still runs unconstrained work behind the blocked GPU task.
    expect(feed(compute("c", [], { priority: [5] }))).toEqual([exec("c")]);
    expect(feed(done("g1"))).toEqual([finished("g1"), exec("g2")]);
  });

  it("fails a task asking for a resource this worker does not have", () => {
    const { feed } = machine({ resources: { GPU: 1 } });
    const message = 'skein worker: task "t" needs resource TPU=1 but this worker has none';
    expect(feed(compute("t", [], { resources: { TPU: 1 } }))).toEqual([
      { op: "send-task-erred", key: "t", error: { name: "Error", message, stack: `Error: ${message}`, key: "t", fn: "fn-t", worker: SELF }, startstops: [] },
    ]);
    const message2 = 'skein worker: task "u" needs resource GPU=2 but this worker has GPU=1';
    expect(feed(compute("u", [], { resources: { GPU: 2 } }))[0]).toMatchObject({ op: "send-task-erred", error: { message: message2 } });
  });

  it("hands tiny tasks to a thread several at a time, long tasks one at a time", () => {
    const { feed } = machine({ nthreads: 1, queueTargetMs: 2, maxTasksPerThread: 4 });
    expect(feed(compute("a"))).toEqual([exec("a")]);
    for (const k of ["b", "c", "d", "e", "f", "g"]) expect(feed(compute(k))).toEqual([]);
    // 0.1 ms per task: 20 would fit in 2 ms, capped at 4 per thread.
    expect(feed(done("a", { ms: 0.1 }))).toEqual([finished("a", 8, 0.1), exec("b"), exec("c"), exec("d"), exec("e")]);
    // A long task brings the running mean above the target: no new task until the queue drains.
    expect(feed(done("b", { ms: 100 }))).toEqual([finished("b", 8, 100)]);
    expect(feed(done("c", { ms: 100 }))).toEqual([finished("c", 8, 100)]);
    expect(feed(done("d", { ms: 100 }))).toEqual([finished("d", 8, 100)]);
    expect(feed(done("e", { ms: 100 }))).toEqual([finished("e", 8, 100), exec("f")]);
  });
});

describe("WorkerState: fetching", () => {
  it("batches small dependencies per peer, one request per peer", () => {
    const { feed } = machine();
    expect(feed(compute("z", [dep("x", [A]), dep("y", [A]), dep("w", [B])]))).toEqual([gather(A, ["x", "y"], 16), gather(B, ["w"], 8)]);
  });

  it("caps a batch by bytes and concurrent requests per peer", () => {
    const { ws, feed } = machine({ transferBatchBytes: 150, maxConcurrentFetchesPerWorker: 1 });
    expect(feed(compute("z", [dep("x", [A], 100), dep("y", [A], 100), dep("w", [A], 40)]))).toEqual([gather(A, ["x"], 100)]);
    expect(ws.stateOf("y")).toBe("fetch");
    expect(feed(gathered(A, ["x"], { x: 100 }))).toEqual([addKeys("x", 100), gather(A, ["y", "w"], 140)]);
  });

  it("prefers the holder with fewer transfers under way", () => {
    const { feed } = machine();
    expect(feed(compute("z1", [dep("a1", [A])]))).toEqual([gather(A, ["a1"], 8)]);
    expect(feed(compute("z2", [dep("k", [A, B])]))).toEqual([gather(B, ["k"], 8)]);
  });

  it("fetches the dependencies of urgent tasks first", () => {
    const { feed } = machine({ maxConcurrentFetchesPerWorker: 1, transferBatchBytes: 10 });
    expect(feed(compute("late", [dep("p", [A])], { priority: [9] }))).toEqual([gather(A, ["p"], 8)]);
    expect(feed(compute("z9", [dep("q", [A])], { priority: [9] }))).toEqual([]);
    expect(feed(compute("z1", [dep("r", [A])], { priority: [1] }))).toEqual([]);
    expect(feed(gathered(A, ["p"], { p: 8 }))).toEqual([addKeys("p"), exec("late", ["p"]), gather(A, ["r"], 8)]);
  });

  it("falls back to another holder, then reports missing data and waits for new locations", () => {
    const { ws, feed } = machine();
    expect(feed(compute("z", [dep("x", [A, B])]))).toEqual([gather(A, ["x"], 8)]);
    // A answers without x: tell the scheduler, try B.
    expect(feed(gathered(A, ["x"], {}))).toEqual([missingData("x", A), gather(B, ["x"], 8)]);
    // B is unreachable: no holder left.
    expect(feed(gatherFailed(B, ["x"]))).toEqual([missingData("x", B)]);
    expect(ws.stateOf("x")).toBe("missing");
    expect(ws.stateOf("z")).toBe("waiting");
    // The scheduler sends new locations with the task again.
    expect(feed(compute("z", [dep("x", [C])]))).toEqual([gather(C, ["x"], 8)]);
    expect(feed(gathered(C, ["x"], { x: 8 }))).toEqual([addKeys("x"), exec("z", ["x"])]);
  });

  it("drops an unreachable peer as holder of every key", () => {
    const { ws, feed } = machine({ maxConcurrentFetchesPerWorker: 1, transferBatchBytes: 8 });
    expect(feed(compute("z", [dep("x", [A]), dep("y", [A, B])]))).toEqual([gather(A, ["x"], 8), gather(B, ["y"], 8)]);
    expect(feed(compute("z2", [dep("v", [A])]))).toEqual([]);
    expect(feed(gatherFailed(A, ["x"]))).toEqual([missingData("v", A), missingData("x", A)]);
    expect(ws.stateOf("v")).toBe("missing");
    expect(ws.stateOf("x")).toBe("missing");
  });

  it("acquires replicas on request and announces them", () => {
    const { ws, feed } = machine();
    expect(feed({ type: "acquire-replicas", stimulusId: sid("acquire"), deps: [dep("r", [A], 32)] })).toEqual([gather(A, ["r"], 32)]);
    expect(feed(gathered(A, ["r"], { r: 32 }))).toEqual([addKeys("r", 32)]);
    expect(ws.managedBytes).toBe(32);
  });
});

describe("WorkerState: release and cancellation", () => {
  it("keeps a freed dependency until the local task that needs it is done", () => {
    const { ws, feed } = machine();
    expect(feed(compute("busy"))).toEqual([exec("busy")]);
    expect(feed(compute("z", [dep("x", [A])]))).toEqual([gather(A, ["x"], 8)]);
    expect(feed(gathered(A, ["x"], { x: 8 }))).toEqual([addKeys("x")]);
    expect(ws.stateOf("z")).toBe("ready");
    expect(feed(free("x"))).toEqual([]);
    expect(ws.stateOf("x")).toBe("memory");
    expect(feed(done("busy"))).toEqual([finished("busy"), exec("z", ["x"])]);
    expect(feed(done("z"))).toEqual([finished("z"), releaseData("x")]);
    expect(ws.stateOf("x")).toBeUndefined();
  });

  it("keeps a dependency freed while still in flight, without announcing it", () => {
    const { ws, feed } = machine();
    expect(feed(compute("z", [dep("x", [A])]))).toEqual([gather(A, ["x"], 8)]);
    expect(feed(free("x"))).toEqual([]);
    expect(feed(gathered(A, ["x"], { x: 8 }))).toEqual([exec("z", ["x"])]);
    expect(feed(done("z"))).toEqual([finished("z"), releaseData("x")]);
    expect(ws.tasks.size).toBe(1);
  });

  it("releases keys computed here when the scheduler frees them", () => {
    const { ws, feed } = machine();
    feed(compute("x"));
    feed(done("x"));
    expect(feed(free("x"))).toEqual([releaseData("x")]);
    expect(ws.tasks.size).toBe(0);
    expect(ws.managedBytes).toBe(0);
  });

  it("releases a waiting task and the dependencies only it needed", () => {
    const { ws, feed } = machine();
    expect(feed(compute("z", [dep("x", [A]), dep("y", [B])]))).toEqual([gather(A, ["x"], 8), gather(B, ["y"], 8)]);
    expect(feed(gathered(A, ["x"], { x: 8 }))).toEqual([addKeys("x")]);
    expect(feed(free("z"))).toEqual([]);
    expect(ws.stateOf("x")).toBe("memory"); // announced replica: the scheduler frees it
    expect(ws.stateOf("y")).toBe("cancelled");
    // The late answer is dropped from the store.
    expect(feed(gathered(B, ["y"], { y: 8 }))).toEqual([releaseData("y")]);
    expect(ws.stateOf("y")).toBeUndefined();
  });

  it("lets a cancelled execution finish and drops its result", () => {
    const { ws, feed } = machine();
    feed(compute("x"));
    expect(feed(free("x"))).toEqual([]);
    expect(ws.stateOf("x")).toBe("cancelled");
    expect(feed(compute("y"))).toEqual([]); // the thread is still busy with x
    expect(feed(done("x"))).toEqual([releaseData("x"), exec("y")]);
    expect(ws.stateOf("x")).toBeUndefined();
  });

  it("resumes a cancelled execution when the task is asked for again", () => {
    const { ws, feed } = machine();
    feed(compute("x"));
    feed(free("x"));
    expect(feed(compute("x"))).toEqual([]);
    expect(ws.stateOf("x")).toBe("executing");
    expect(feed(done("x"))).toEqual([finished("x")]);
  });

  it("computes a key whose transfer was cancelled and then failed", () => {
    const { ws, feed } = machine();
    expect(feed(compute("z", [dep("x", [A])]))).toEqual([gather(A, ["x"], 8)]);
    expect(feed(free("z"))).toEqual([]);
    expect(ws.stateOf("x")).toBe("cancelled");
    // The scheduler now wants x computed here.
    expect(feed(compute("x"))).toEqual([]);
    expect(ws.stateOf("x")).toBe("resumed");
    expect(feed(gatherFailed(A, ["x"]))).toEqual([missingData("x", A), exec("x")]);
    expect(feed(done("x"))).toEqual([finished("x")]);
  });

  it("reports a resumed transfer that succeeds as the task's result", () => {
    const { feed } = machine();
    feed(compute("z", [dep("x", [A])]));
    feed(free("z"));
    feed(compute("x"));
    expect(feed(gathered(A, ["x"], { x: 8 }))).toEqual([
      { op: "send-task-finished", key: "x", nbytes: 8, typeName: "number", startstops: [{ action: "transfer", start: 5, stop: 6 }] },
    ]);
  });

  it("answers a steal request and releases a task not started yet", () => {
    const { ws, feed } = machine();
    feed(compute("a"));
    feed(compute("b"));
    expect(feed({ type: "steal-request", stimulusId: sid("steal"), key: "b" })).toEqual([{ op: "send-steal-response", key: "b", state: "ready" }]);
    expect(ws.stateOf("b")).toBeUndefined();
    expect(feed({ type: "steal-request", stimulusId: sid("steal"), key: "a" })).toEqual([{ op: "send-steal-response", key: "a", state: "executing" }]);
    expect(ws.stateOf("a")).toBe("executing");
  });

  it("drops the result of a task finished after it was forgotten", () => {
    const { feed } = machine();
    feed(compute("x"));
    feed({ type: "update-data", stimulusId: sid("scatter"), data: { x: { nbytes: 8, typeName: "number" } } });
    expect(feed(free("x"))).toEqual([releaseData("x")]);
    expect(feed(done("x"))).toEqual([releaseData("x")]);
  });
});

describe("WorkerState: story", () => {
  it("logs every transition with its stimulus and explains invalid ones", () => {
    const { ws, feed } = machine();
    feed({ ...compute("x"), stimulusId: "s1" } as WorkerEvent);
    feed({ ...done("x"), stimulusId: "s2" } as WorkerEvent);
    expect(ws.story("x").map((e) => [e.stimulusId, e.from, e.to])).toEqual([
      ["s1", "released", "waiting"],
      ["s1", "waiting", "ready"],
      ["s1", "ready", "executing"],
      ["s2", "executing", "memory"],
    ]);
    const err = new InvalidTransition("x", "memory", "flight", ws.story("x"));
    expect(err.message).toContain('skein worker: invalid transition of "x" from memory to flight; story:\n  s1: released -> waiting');
  });

  it("keeps a bounded story", () => {
    const { ws, feed } = machine({ storyLength: 3 });
    feed(compute("x"));
    feed(done("x"));
    expect(ws.story("x").map((e) => e.to)).toEqual(["ready", "executing", "memory"]);
  });
});
