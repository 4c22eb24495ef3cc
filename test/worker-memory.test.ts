/**
 * The memory policy (memory.ts) as a pure function, the spill store (spill.ts) against a real
 * temporary directory, and pausing in the worker and scheduler state machines — no processes.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_MEMORY_FRACTIONS, decideMemory, resolveMemoryFractions, targetBytes } from "../src/worker/memory.js";
import { SpillStore } from "../src/worker/spill.js";
import { WorkerState } from "../src/worker/state.js";
import { parseWorkerOptions } from "../src/worker/options.js";
import { Harness, addClient, addWorker, brief, finished, graph, task } from "./scheduler-helpers.js";

const MB = 2 ** 20;
const F = DEFAULT_MEMORY_FRACTIONS;

describe("decideMemory (dask's policy)", () => {
  it("does nothing below every threshold", () => {
    expect(decideMemory({ managed: 50 * MB, rss: 60 * MB, limit: 100 * MB }, F, false)).toEqual({ spillBytes: 0, paused: false, terminate: false, reason: null });
  });

  it("spills managed memory above target back down to target", () => {
    const d = decideMemory({ managed: 70 * MB, rss: 65 * MB, limit: 100 * MB }, F, false);
    expect(d.spillBytes).toBeCloseTo(10 * MB, 0);
    expect(d).toMatchObject({ paused: false, terminate: false });
    expect(d.reason).toBe("managed memory 70.0 MiB above target 60.0 MiB");
  });

  it("spills on process memory above `spill` until RSS would be back at target, at most what is managed", () => {
    expect(decideMemory({ managed: 40 * MB, rss: 75 * MB, limit: 100 * MB }, F, false).spillBytes).toBeCloseTo(15 * MB, 0);
    expect(decideMemory({ managed: 5 * MB, rss: 75 * MB, limit: 100 * MB }, F, false).spillBytes).toBe(5 * MB);
    // Without a target, the goal is the spill threshold itself.
    expect(decideMemory({ managed: 40 * MB, rss: 75 * MB, limit: 100 * MB }, { ...F, target: false }, false).spillBytes).toBeCloseTo(5 * MB, 0);
  });

  it("pauses above `pause` and resumes at or below it", () => {
    expect(decideMemory({ managed: 0, rss: 81 * MB, limit: 100 * MB }, F, false)).toMatchObject({ paused: true, terminate: false });
    expect(decideMemory({ managed: 0, rss: 81 * MB, limit: 100 * MB }, F, false).reason).toContain("above pause threshold 80.0 MiB: pausing");
    const resumed = decideMemory({ managed: 0, rss: 79 * MB, limit: 100 * MB }, F, true);
    expect(resumed.paused).toBe(false);
    expect(resumed.reason).toBe("process memory 79.0 MiB above spill threshold 70.0 MiB; process memory 79.0 MiB back below pause threshold: resuming");
    expect(decideMemory({ managed: 0, rss: 85 * MB, limit: 100 * MB }, F, true).paused).toBe(true);
  });

  it("flags terminate above 0.95", () => {
    expect(decideMemory({ managed: 0, rss: 96 * MB, limit: 100 * MB }, F, true)).toMatchObject({ paused: true, terminate: true });
  });

  it("disabled fractions and a zero limit do nothing", () => {
    const off = { target: false, spill: false, pause: false, terminate: false } as const;
    expect(decideMemory({ managed: 99 * MB, rss: 99 * MB, limit: 100 * MB }, off, false)).toEqual({ spillBytes: 0, paused: false, terminate: false, reason: null });
    expect(decideMemory({ managed: 99 * MB, rss: 1e12, limit: 0 }, F, false)).toEqual({ spillBytes: 0, paused: false, terminate: false, reason: null });
    expect(decideMemory({ managed: 0, rss: 1e12, limit: 0 }, F, true).paused).toBe(false);
  });

  it("resolves fractions from defaults, env, then options, and rejects bad ones", () => {
    expect(resolveMemoryFractions()).toEqual({ target: 0.6, spill: 0.7, pause: 0.8, terminate: 0.95 });
    expect(resolveMemoryFractions({ pause: 0.5 }, { SKEIN_MEMORY_PAUSE: "0.9", SKEIN_MEMORY_TARGET: "false" })).toEqual({ target: false, spill: 0.7, pause: 0.5, terminate: 0.95 });
    expect(() => resolveMemoryFractions({ spill: 1.5 })).toThrow("skein worker: memory spill fraction must be in (0, 1] or false, got 1.5");
    expect(() => resolveMemoryFractions({}, { SKEIN_MEMORY_TERMINATE: "lots" })).toThrow('skein worker: memory terminate fraction must be in (0, 1] or false, got "lots"');
    expect(targetBytes(100, F)).toBe(60);
    expect(targetBytes(0, F)).toBe(Infinity);
  });

  it("reaches worker processes through flags, JSON and env", () => {
    const env = { SKEIN_WORKER_OPTIONS: JSON.stringify({ scheduler: "tcp://h:1", memoryTarget: 0.5, localDirectory: "/tmp/x" }), SKEIN_MEMORY_SPILL: "false" };
    expect(parseWorkerOptions(["--memory-pause", "0.75"], env)).toMatchObject({
      localDirectory: "/tmp/x",
      memoryFractions: { target: 0.5, spill: false, pause: 0.75, terminate: 0.95 },
    });
    expect(() => parseWorkerOptions(["--memory-pause", "2"], env)).toThrow("skein worker: memory pause fraction must be in (0, 1] or false, got \"2\"");
  });
});

describe("SpillStore", () => {
  let parent = "";
  let store: SpillStore | undefined;
  afterEach(() => {
    store?.close();
    store = undefined;
    if (parent) rmSync(parent, { recursive: true, force: true });
  });
  const open = (target: number): SpillStore => {
    parent = mkdtempSync(join(tmpdir(), "skein-spill-test-"));
    store = new SpillStore({ localDirectory: parent, targetBytes: target, log: () => {} });
    return store;
  };
  const files = (s: SpillStore): string[] => readdirSync(s.directory).sort();

  it("spills least recently used values past the target and brings them back on read", () => {
    const s = open(100);
    s.set("a", new Float64Array([1, 2, 3]), 40);
    s.set("b", { x: 1n, m: new Map([[1, "one"]]) }, 40);
    expect(readdirSync(parent)).toEqual([]); // no directory until the first spill
    s.get("a"); // a is now more recently used than b
    s.set("c", "ccc", 40);
    expect(s.isSpilled("b")).toBe(true);
    expect(s.isSpilled("a")).toBe(false);
    expect(files(s)).toHaveLength(1);
    expect([s.fastBytes, s.slowBytes, s.size]).toEqual([80, 40, 3]);
    // Reading b brings it back (the value exactly) and pushes out the least recently used: a.
    expect(s.get("b")).toEqual({ x: 1n, m: new Map([[1, "one"]]) });
    expect(s.isSpilled("b")).toBe(false);
    expect(s.isSpilled("a")).toBe(true);
    expect(s.get("a")).toEqual(new Float64Array([1, 2, 3]));
    expect([s.spilledCount, s.unspilledCount]).toEqual([3, 2]);
  });

  it("writes values bigger than the target straight to disk and reads them without keeping them", () => {
    const s = open(100);
    const big = new Float64Array(1000).map((_, i) => i * 0.5);
    s.set("big", big, 8000);
    expect(s.isSpilled("big")).toBe(true);
    expect(s.fastBytes).toBe(0);
    expect(s.get("big")).toEqual(big);
    expect(s.isSpilled("big")).toBe(true);
  });

  it("evicts on request, deletes files with their keys and removes its directory at close", () => {
    const s = open(Infinity);
    for (let i = 0; i < 5; i++) s.set(`k${i}`, [i, `v${i}`], 10);
    expect(s.evict(25)).toBe(30);
    expect(["k0", "k1", "k2", "k3", "k4"].map((k) => s.isSpilled(k))).toEqual([true, true, true, false, false]);
    expect(s.delete("k1")).toBe(true);
    expect(files(s)).toHaveLength(2);
    expect([...s.keys()].sort()).toEqual(["k0", "k2", "k3", "k4"]);
    expect(Object.fromEntries(s.entries())).toEqual({ k0: [0, "v0"], k2: [2, "v2"], k3: [3, "v3"], k4: [4, "v4"] });
    const dir = s.directory;
    s.close();
    expect(existsSync(dir)).toBe(false);
  });

  it("keeps a value it cannot encode in memory and says so", () => {
    parent = mkdtempSync(join(tmpdir(), "skein-spill-test-"));
    const logs: string[] = [];
    store = new SpillStore({ localDirectory: parent, targetBytes: 10, log: (_l, m) => logs.push(m) });
    const odd = { f: Symbol("x") };
    store.set("odd", odd, 50);
    expect(store.isSpilled("odd")).toBe(false);
    expect(store.get("odd")).toBe(odd);
    expect(logs[0]).toMatch(/^skein worker: cannot spill "odd" to .*, keeping it in memory: /);
  });
});

describe("pausing", () => {
  it("a paused worker state machine starts no tasks and fetches nothing until unpaused", () => {
    const ws = new WorkerState({ address: "tcp://self:1", nthreads: 1, now: () => 1000 });
    let id = 0;
    const sid = (): string => `s-${++id}`;
    expect(ws.handle({ type: "pause", stimulusId: sid() })).toEqual([]);
    expect(ws.paused).toBe(true);
    const run = new Uint8Array([1]);
    expect(ws.handle({ type: "compute-task", stimulusId: sid(), key: "x", run, name: "f", deps: [], priority: [0] })).toEqual([]);
    expect(ws.handle({ type: "compute-task", stimulusId: sid(), key: "y", run, name: "f", deps: [{ key: "d", workers: ["tcp://peer:1"], nbytes: 8 }], priority: [1] })).toEqual([]);
    expect(ws.stateOf("x")).toBe("ready");
    expect(ws.stateOf("d")).toBe("fetch");
    const out = ws.handle({ type: "unpause", stimulusId: sid() });
    expect(out.map((i) => `${i.op} ${"key" in i ? i.key : "keys" in i ? i.keys.join(",") : ""}`)).toEqual(["execute x", "gather-dep d"]);
    expect(ws.paused).toBe(false);
  });

  it("the scheduler places nothing on a paused worker and retries no-worker tasks when it resumes", () => {
    const h = new Harness({ workerSaturation: 1 });
    h.run(addWorker("w1"), addWorker("w2"), addClient("c"));
    expect(h.run({ type: "worker-status", worker: "w1", status: "paused" })).toEqual([]);
    expect(h.s.workers().map((w) => [w.address, w.paused])).toEqual([["w1", true], ["w2", false]]);
    expect(h.run(graph("c", [task("a"), task("b"), task("c")], ["a", "b", "c"]))).toEqual(["compute w2 a"]);
    expect(h.run(finished("w2", "a"))).toEqual(["memory c a", "compute w2 b"]);
    // A non-root task with every worker paused waits in no-worker.
    h.run({ type: "worker-status", worker: "w2", status: "paused" });
    expect(h.run(graph("c", [task("d", ["a"])], ["d"]))).toEqual([]);
    expect(h.state("d")).toBe("no-worker");
    // Resumed: d goes to w1; root task c waits for a slot (saturation 1) and takes the next one.
    expect(h.run({ type: "worker-status", worker: "w1", status: "running" })).toEqual(["compute w1 d"]);
    expect(h.state("c")).toBe("queued");
    expect(h.run(finished("w1", "d"))).toEqual(["memory c d", "compute w1 c"]);
    // Pausing twice, or a worker that is gone, changes nothing.
    expect(h.run({ type: "worker-status", worker: "w1", status: "running" }, { type: "worker-status", worker: "nope", status: "paused" })).toEqual([]);
    // A paused worker that dies: its task moves to a running worker.
    expect(brief(h.do({ type: "remove-worker", worker: "w2", reason: "gone" }))).toEqual(["compute w1 b"]);
  });
});
