import { describe, expect, it } from "vitest";
import { SchedulerState, legalTransitions, stimulusFromJSON, stimulusToJSON } from "../src/scheduler/state.js";
import type { SchedulerEvent, SchedulerInstruction } from "../src/scheduler/state.js";
import {
  Harness,
  addClient,
  addWorker,
  brief,
  cancel,
  desires,
  erred,
  finished,
  graph,
  releases,
  remoteError,
  removeWorker,
  task,
} from "./scheduler-helpers.js";

const run = (key: string) => new TextEncoder().encode(`run:${key}`);

describe("graphs run and results are released exactly when unneeded", () => {
  it("linear chain: one compute per step, each input freed once its dependent finished", () => {
    const h = new Harness();
    expect(h.run(addWorker("w1"), addClient("c1"))).toEqual([]);
    const out = h.do(graph("c1", [task("a"), task("b", ["a"]), task("c", ["b"])], ["c"]));
    expect(out).toEqual([
      {
        type: "compute-task",
        worker: "w1",
        msg: { op: "compute-task", key: "a", run: run("a"), name: "a", deps: [], priority: [0, 1, 0] },
      },
    ]);
    expect([h.state("a"), h.state("b"), h.state("c")]).toEqual(["processing", "waiting", "waiting"]);

    const outB = h.do(finished("w1", "a", { nbytes: 100 }));
    expect(outB).toEqual([
      {
        type: "compute-task",
        worker: "w1",
        msg: {
          op: "compute-task",
          key: "b",
          run: run("b"),
          name: "b",
          deps: [{ key: "a", workers: ["w1"], nbytes: 100 }],
          priority: [0, 1, 1],
        },
      },
    ]);
    // b finished: c starts, a is no longer needed by anyone.
    expect(h.run(finished("w1", "b"))).toEqual(["compute w1 c", "free w1 a"]);
    expect(h.state("a")).toBe("released"); // kept as lineage while c exists
    expect(h.run(finished("w1", "c", { value: 42 }))).toEqual(["memory c1 c=42", "free w1 b"]);
    expect(h.s.counts()).toMatchObject({ memory: 1, released: 2, forgotten: 0 });
    // The client drops its future: everything is forgotten and the maps are empty.
    expect(h.run(releases("c1", ["c"]))).toEqual(["free w1 c"]);
    expect(h.s.taskCount).toBe(0);
    expect(h.s.counts()).toEqual({
      released: 0,
      waiting: 0,
      "no-worker": 0,
      queued: 0,
      processing: 0,
      memory: 0,
      erred: 0,
      forgotten: 3,
    });
    expect(h.s.workers()[0]).toMatchObject({ processing: 0, nbytes: 0, nkeys: 0 });
  });

  it("diamond: the join runs where its inputs are; both inputs freed after it finished", () => {
    const h = new Harness({ workerSaturation: Infinity });
    h.do(addWorker("w1"), addWorker("w2"), addClient("c1"));
    const tasks = [task("a"), task("b", ["a"]), task("c", ["a"]), task("d", ["b", "c"])];
    expect(h.run(graph("c1", tasks, ["d"]))).toEqual(["compute w1 a"]);
    // b and c both want a; the one placed first goes to a's holder, the second balances out.
    expect(h.run(finished("w1", "a", { nbytes: 10 }))).toEqual(["compute w1 b", "compute w2 c"]);
    expect(h.run(finished("w2", "c", { nbytes: 10 }))).toEqual([]);
    expect(h.state("a")).toBe("memory"); // b still processing on w1 needs a
    expect(h.run(finished("w1", "b", { nbytes: 1000 }))).toEqual(["compute w1 d", "free w1 a"]);
    expect(h.run(finished("w1", "d"))).toEqual(["memory c1 d", "free w1 b", "free w2 c"]);
  });

  it("map + reduce: partitions freed only after the reduction finished", () => {
    const h = new Harness({ workerSaturation: Infinity });
    h.do(addWorker("w1"), addWorker("w2"), addClient("c1"));
    const parts = ["x-0", "x-1", "x-2", "x-3"];
    const out = h.run(graph("c1", [...parts.map((k) => task(k)), task("sum", parts)], ["sum"]));
    expect(out).toEqual(["compute w1 x-0", "compute w2 x-1", "compute w2 x-2", "compute w1 x-3"]);
    expect(h.run(finished("w1", "x-0"), finished("w2", "x-1"), finished("w2", "x-2"))).toEqual([]);
    expect(h.state("sum")).toBe("waiting");
    expect(h.run(finished("w1", "x-3"))).toEqual(["compute w2 sum"]);
    expect(h.run(finished("w2", "sum", { value: 6 }))).toEqual(["memory c1 sum=6", "free w1 x-0,x-3", "free w2 x-1,x-2"]);
  });

  it("releasing a result nobody else wants frees it on every holder, and a pending key stops", () => {
    const h = new Harness();
    h.do(addWorker("w1"), addClient("c1"), addClient("c2"));
    h.do(graph("c1", [task("a")], ["a"]));
    h.do(desires("c2", ["a"]));
    expect(h.run(finished("w1", "a", { value: 1 }))).toEqual(["memory c1 a=1", "memory c2 a=1"]);
    expect(h.run(releases("c1", ["a"]))).toEqual([]); // c2 still wants it
    expect(h.run(releases("c2", ["a"]))).toEqual(["free w1 a"]);
    // Released while still processing: the worker is told to drop it, the late result too.
    h.do(graph("c1", [task("b")], ["b"]));
    expect(h.run(releases("c1", ["b"]))).toEqual(["free w1 b"]);
    expect(h.state("b")).toBeUndefined();
    expect(h.run(finished("w1", "b"))).toEqual(["free w1 b"]);
  });

  it("a result needed by a dependent survives the client's release until the dependent finished", () => {
    const h = new Harness();
    h.do(addWorker("w1"), addClient("c1"));
    h.do(graph("c1", [task("a"), task("b", ["a"])], ["a", "b"]));
    expect(h.run(finished("w1", "a"))).toEqual(["memory c1 a", "compute w1 b"]);
    expect(h.run(releases("c1", ["a"]))).toEqual([]);
    expect(h.state("a")).toBe("memory");
    expect(h.run(finished("w1", "b"))).toEqual(["memory c1 b", "free w1 a"]);
  });

  it("tasks submitted but reachable from no wanted key are forgotten, not run", () => {
    const h = new Harness();
    h.do(addWorker("w1"), addClient("c1"));
    expect(h.run(graph("c1", [task("a"), task("b", ["a"]), task("orphan", ["a"])], ["b"]))).toEqual(["compute w1 a"]);
    expect(h.state("orphan")).toBeUndefined();
    expect(h.s.taskCount).toBe(2);
  });
});

describe("update-graph", () => {
  it("a pure key submitted twice runs once, and a later submission gets the result at once", () => {
    const h = new Harness();
    h.do(addWorker("w1"), addClient("c1"), addClient("c2"));
    expect(h.run(graph("c1", [task("x")], ["x"]))).toEqual(["compute w1 x"]);
    expect(h.run(graph("c2", [task("x")], ["x"]))).toEqual([]);
    expect(h.run(finished("w1", "x", { value: 7 }))).toEqual(["memory c1 x=7", "memory c2 x=7"]);
    expect(h.run(addClient("c3"), graph("c3", [task("x"), task("y", ["x"])], ["x", "y"]))).toEqual([
      "memory c3 x", // no value cached in the scheduler
      "compute w1 y",
    ]);
  });

  it("a missing dependency rejects the whole submission with the exact message", () => {
    const h = new Harness();
    h.do(addWorker("w1"), addClient("c1"));
    const out = h.do(graph("c1", [task("y"), task("z", ["y", "q"])], ["z"]));
    expect(out).toEqual([
      { type: "graph-rejected", client: "c1", keys: ["z"], message: 'skein graph: task "z" depends on missing key "q"' },
    ]);
    expect(h.state("y")).toBeUndefined();
    expect(h.state("z")).toBeUndefined();
    expect(h.s.taskCount).toBe(0);
  });

  it("rejects a wanted key that is not in the graph", () => {
    const h = new Harness();
    expect(h.do(graph("c1", [task("a")], ["b"]))).toEqual([
      { type: "graph-rejected", client: "c1", keys: ["b"], message: 'skein graph: wanted key "b" is not in the graph' },
    ]);
    expect(h.s.taskCount).toBe(0);
  });

  it("rejects a cycle and names it, leaving existing tasks untouched", () => {
    const h = new Harness();
    h.do(addWorker("w1"), addClient("c1"), graph("c1", [task("base")], ["base"]));
    const out = h.do(graph("c1", [task("a", ["c", "base"]), task("b", ["a"]), task("c", ["b"]), task("d", ["a"])], ["d"]));
    expect(out).toEqual([
      { type: "graph-rejected", client: "c1", keys: ["d"], message: 'skein graph: dependency cycle "a" -> "c" -> "b" -> "a"' },
    ]);
    expect(h.s.taskCount).toBe(1);
    expect(h.run(graph("c1", [task("self", ["self"])], ["self"]))).toEqual(["rejected c1 self"]);
  });

  it("depends on keys already known (a future the client holds)", () => {
    const h = new Harness();
    h.do(addWorker("w1"), addWorker("w2"), addClient("c1"));
    h.do(graph("c1", [task("data")], ["data"]));
    expect(h.run(finished("w1", "data", { nbytes: 5e6 }))).toEqual(["memory c1 data"]);
    expect(h.run(graph("c1", [task("fit", ["data"])], ["fit"]))).toEqual(["compute w1 fit"]);
  });

  it("a resubmitted erred key stays erred for the new client", () => {
    const h = new Harness();
    h.do(addWorker("w1"), addClient("c1"), graph("c1", [task("x")], ["x"]));
    h.do(erred("w1", "x"));
    const out = h.do(addClient("c2"), graph("c2", [task("x")], ["x"]));
    expect(out).toEqual([{ type: "key-erred", client: "c2", key: "x", error: remoteError("x", "w1") }]);
  });

  it("priorities: user priority first, then submission generation, then graph order", () => {
    const h = new Harness({ workerSaturation: 1 });
    h.do(addWorker("w1"), addClient("c1"));
    h.do(graph("c1", [task("first")], ["first"])); // takes the only slot
    h.do(graph("c1", [task("low-1", [], { order: 1 }), task("low-0", [], { order: 0 })], ["low-1", "low-0"]));
    h.do(graph("c1", [task("urgent", [], { priority: 10 })], ["urgent"]));
    expect([h.state("low-0"), h.state("low-1"), h.state("urgent")]).toEqual(["queued", "queued", "queued"]);
    expect(h.run(finished("w1", "first"))).toEqual(["memory c1 first", "compute w1 urgent"]);
    expect(h.run(finished("w1", "urgent"))).toEqual(["memory c1 urgent", "compute w1 low-0"]);
    expect(h.run(finished("w1", "low-0"))).toEqual(["memory c1 low-0", "compute w1 low-1"]);
  });
});

describe("failures", () => {
  it("retries: an erring task with retries left runs again, then errs", () => {
    const h = new Harness();
    h.do(addWorker("w1"), addClient("c1"));
    h.do(graph("c1", [task("flaky", [], { retries: 1 })], ["flaky"]));
    expect(h.run(erred("w1", "flaky"))).toEqual(["free w1 flaky", "compute w1 flaky"]);
    const out = h.do(erred("w1", "flaky", "again"));
    expect(out).toEqual([
      { type: "free-keys", worker: "w1", keys: ["flaky"] },
      { type: "key-erred", client: "c1", key: "flaky", error: remoteError("flaky", "w1", "again") },
    ]);
    expect(h.state("flaky")).toBe("erred");
    expect(h.s.story("flaky").map((r) => `${r.start}>${r.finish}`)).toEqual([
      "released>waiting",
      "waiting>processing",
      "processing>released",
      "released>waiting",
      "waiting>processing",
      "processing>erred",
    ]);
  });

  it("an error propagates to every dependent, transitively, with causeKey", () => {
    const h = new Harness();
    h.do(addWorker("w1"), addClient("c1"), addClient("c2"));
    h.do(graph("c1", [task("a"), task("b", ["a"]), task("c", ["b"])], ["c", "a"]));
    h.do(graph("c2", [task("d", ["b"])], ["d"]));
    const out = h.do(erred("w1", "a"));
    const cause = { ...remoteError("a", "w1"), causeKey: "a" };
    expect(out).toEqual([
      { type: "free-keys", worker: "w1", keys: ["a"] },
      { type: "key-erred", client: "c1", key: "a", error: remoteError("a", "w1") },
      { type: "key-erred", client: "c2", key: "d", error: cause },
      { type: "key-erred", client: "c1", key: "c", error: cause },
    ]);
    expect([h.state("a"), h.state("b"), h.state("c"), h.state("d")]).toEqual(["erred", "erred", "erred", "erred"]);
    // Releasing the failed futures forgets the failed chain.
    h.do(releases("c1", ["a", "c"]), releases("c2", ["d"]));
    expect(h.s.taskCount).toBe(0);
  });
});

describe("worker loss", () => {
  it("mid-graph: running tasks go back to waiting, lost results are recomputed from lineage", () => {
    const h = new Harness({ workerSaturation: Infinity });
    h.do(addWorker("w1"), addWorker("w2"), addClient("c1"));
    h.do(graph("c1", [task("a"), task("b", ["a"]), task("c", ["b"]), task("other")], ["c", "other"]));
    h.do(finished("w1", "a"));
    expect(h.run(finished("w1", "b", { nbytes: 1e9 }))).toEqual(["compute w1 c", "free w1 a"]);
    expect([h.state("a"), h.state("b"), h.state("c"), h.processingOn("other")]).toEqual([
      "released",
      "memory",
      "processing",
      "w2",
    ]);
    // w1 dies: b (only there) is lost, c was running there; a must come back to rebuild b.
    expect(h.run(removeWorker("w1"))).toEqual(["compute w2 a"]);
    expect([h.state("a"), h.state("b"), h.state("c")]).toEqual(["processing", "waiting", "waiting"]);
    expect(h.run(finished("w2", "a"))).toEqual(["compute w2 b"]);
    expect(h.run(finished("w2", "b"))).toEqual(["compute w2 c", "free w2 a"]);
    expect(h.run(finished("w2", "c", { value: 3 }))).toEqual(["memory c1 c=3", "free w2 b"]);
    expect(h.s.story("c").map((r) => `${r.start}>${r.finish}`)).toEqual([
      "released>waiting",
      "waiting>processing",
      "processing>released",
      "released>waiting",
      "waiting>processing",
      "processing>memory",
    ]);
  });

  it("a lost input pulls back a dependent already running elsewhere", () => {
    const h = new Harness({ workerSaturation: Infinity });
    h.do(addWorker("w1"), addWorker("w2"), addClient("c1"));
    h.do(graph("c1", [task("a"), task("b"), task("ab", ["a", "b"])], ["ab"]));
    h.do(finished("w1", "a", { nbytes: 10 }), finished("w2", "b", { nbytes: 1000 }));
    expect(h.processingOn("ab")).toBe("w2");
    expect(h.run(removeWorker("w1"))).toEqual(["free w2 ab", "compute w2 a"]);
    expect(h.state("ab")).toBe("waiting");
    expect(h.run(finished("w2", "a"))).toEqual(["compute w2 ab"]);
  });

  it("a result no one needs is simply dropped with its worker", () => {
    const h = new Harness();
    h.do(addWorker("w1"), addWorker("w2"), addClient("c1"));
    h.do(graph("c1", [task("a")], ["a"]), finished("w1", "a"));
    h.do(releases("c1", ["a"]));
    expect(h.run(removeWorker("w1"))).toEqual([]);
    expect(h.s.taskCount).toBe(0);
  });

  it("KilledWorker after allowedFailures with the exact message", () => {
    const h = new Harness({ allowedFailures: 2 });
    h.do(addClient("c1"), addWorker("w1"), graph("c1", [task("bomb"), task("after", ["bomb"])], ["after"]));
    expect(h.processingOn("bomb")).toBe("w1");
    expect(h.run(removeWorker("w1"), addWorker("w2"))).toEqual(["compute w2 bomb"]);
    expect(h.run(removeWorker("w2"), addWorker("w3"))).toEqual(["compute w3 bomb"]);
    const out = h.do(removeWorker("w3"));
    const error = {
      name: "KilledWorker",
      message: 'skein: task "bomb" was running on 3 workers that died: w1, w2, w3',
      stack: "",
      key: "bomb",
      fn: "bomb",
      worker: "w3",
    };
    expect(out).toEqual([{ type: "key-erred", client: "c1", key: "after", error: { ...error, causeKey: "bomb" } }]);
    expect(h.state("bomb")).toBe("erred");
  });

  it("a stale task-finished from a removed worker is ignored; from a live one it frees the copy", () => {
    const h = new Harness({ workerSaturation: Infinity });
    h.do(addWorker("w1"), addWorker("w2"), addClient("c1"), graph("c1", [task("x")], ["x"]));
    expect(h.processingOn("x")).toBe("w1");
    expect(h.run(removeWorker("w1"))).toEqual(["compute w2 x"]);
    expect(h.run(finished("w1", "x"))).toEqual([]);
    expect(h.run(finished("w1", "nonexistent"))).toEqual([]);
    expect(h.state("x")).toBe("processing");
    // A live worker reporting a key it is not running (here: not known at all).
    h.do(addWorker("w3"));
    expect(h.run(finished("w3", "x"))).toEqual(["free w3 x"]);
    expect(h.run(finished("w3", "ghost"))).toEqual(["free w3 ghost"]);
    expect(h.run(erred("w3", "x"))).toEqual([]);
    // The real result arrives, then a duplicate from another worker becomes a replica.
    expect(h.run(finished("w2", "x", { nbytes: 4 }))).toEqual(["memory c1 x"]);
    expect(h.run(finished("w3", "x", { nbytes: 4 }))).toEqual([]);
    expect(h.s.whoHas("x")).toEqual(["w2", "w3"]);
  });

  it("missing-data: drop the errant replica, redirect the asker, recompute when none is left", () => {
    const h = new Harness({ workerSaturation: Infinity });
    h.do(addWorker("w1"), addWorker("w2"), addWorker("w3"), addClient("c1"));
    h.do(graph("c1", [task("a"), task("b", ["a"])], ["b"]));
    h.do(finished("w1", "a", { nbytes: 1e9 }), { type: "add-keys", worker: "w2", keys: ["a"], nbytes: { a: 1e9 } });
    expect(h.s.whoHas("a")).toEqual(["w1", "w2"]);
    expect(h.processingOn("b")).toBe("w1");
    expect(h.run({ type: "missing-data", worker: "w3", key: "a", errantWorker: "w1" })).toEqual(["acquire w3 a@w2"]);
    expect(h.run({ type: "missing-data", worker: "w1", key: "a", errantWorker: "w2" })).toEqual([
      "free w1 b",
      "compute w1 a", // all idle: the most recently used (warm) worker
    ]);
    expect([h.state("a"), h.state("b")]).toEqual(["processing", "waiting"]);
  });
});

describe("placement", () => {
  it("prefers the worker holding the most input bytes, then the least occupied", () => {
    const h = new Harness({ workerSaturation: Infinity });
    h.do(addWorker("w1"), addWorker("w2"), addWorker("w3"), addClient("c1"));
    h.do(graph("c1", [task("small"), task("big"), task("join", ["small", "big"])], ["join"]));
    expect([h.processingOn("small"), h.processingOn("big")]).toEqual(["w1", "w2"]);
    h.do(finished("w1", "small", { nbytes: 1e3 }));
    expect(h.run(finished("w2", "big", { nbytes: 1e8 }))).toEqual(["compute w2 join"]);
  });

  it("moves work off a holder whose backlog outlasts the transfer of small inputs", () => {
    const h = new Harness({ workerSaturation: Infinity });
    h.do(addWorker("w1"), addWorker("w2"), addClient("c1"));
    h.do(graph("c1", [task("model")], ["model"]), finished("w1", "model", { nbytes: 100, ms: 10 }));
    const uses = Array.from({ length: 6 }, (_, i) => task(`use-${i}`, ["model"]));
    expect(h.run(graph("c1", uses, uses.map((t) => t.key)))).toEqual([
      "compute w1 use-0",
      "compute w2 use-1", // w1 has one task ahead (10 ms) > fetching 100 bytes (~1 ms)
      "compute w1 use-2",
      "compute w2 use-3",
      "compute w1 use-4",
      "compute w2 use-5",
    ]);
  });

  it("restrictions by address or name; loose restrictions fall back; strict ones wait in no-worker", () => {
    const h = new Harness({ workerSaturation: Infinity });
    h.do(addWorker("tcp://a:1", { name: "alpha" }), addWorker("tcp://b:1", { name: "beta" }), addClient("c1"));
    const out = h.run(
      graph(
        "c1",
        [
          task("by-name", [], { workers: ["beta"] }),
          task("by-addr", [], { workers: ["tcp://b:1"] }),
          task("loose", [], { workers: ["gamma"], allowOtherWorkers: true }),
          task("strict", [], { workers: ["gamma"] }),
        ],
        ["by-name", "by-addr", "loose", "strict"],
      ),
    );
    expect(out).toEqual(["compute tcp://b:1 by-name", "compute tcp://b:1 by-addr", "compute tcp://a:1 loose"]);
    expect(h.state("strict")).toBe("no-worker");
    expect(h.run(addWorker("tcp://g:1", { name: "gamma" }))).toEqual(["compute tcp://g:1 strict"]);
    // Its only worker dies: back to no-worker, not to some other worker.
    expect(h.run(removeWorker("tcp://g:1"))).toEqual([]);
    expect(h.state("strict")).toBe("no-worker");
  });

  it("resources: GPU 1 serialises tasks on the GPU worker; no-worker until a GPU joins", () => {
    const h = new Harness({ workerSaturation: Infinity });
    h.do(addWorker("cpu", { nthreads: 8 }), addClient("c1"));
    const gpuTasks = ["g-0", "g-1", "g-2"].map((k) => task(k, [], { resources: { GPU: 1 } }));
    expect(h.run(graph("c1", gpuTasks, ["g-0", "g-1", "g-2"]))).toEqual([]);
    expect(h.s.counts()["no-worker"]).toBe(3);
    const out = h.do(addWorker("gpu", { nthreads: 4, resources: { GPU: 1 } }));
    expect(out).toEqual([
      {
        type: "compute-task",
        worker: "gpu",
        msg: { op: "compute-task", key: "g-0", run: run("g-0"), name: "g", deps: [], priority: [0, 1, 0], resources: { GPU: 1 } },
      },
    ]);
    expect([h.state("g-1"), h.state("g-2")]).toEqual(["queued", "queued"]);
    expect(h.s.workers().find((w) => w.address === "gpu")).toMatchObject({ processing: 1, available: { GPU: 0 } });
    expect(h.run(finished("gpu", "g-0"))).toEqual(["memory c1 g-0", "compute gpu g-1"]);
    expect(h.run(finished("gpu", "g-1"))).toEqual(["memory c1 g-1", "compute gpu g-2"]);
    expect(h.run(finished("gpu", "g-2"))).toEqual(["memory c1 g-2"]);
    expect(h.s.workers().find((w) => w.address === "gpu")).toMatchObject({ processing: 0, available: { GPU: 1 } });
    // A queued GPU task whose only GPU worker leaves goes back to no-worker.
    h.do(graph("c1", ["g-3", "g-4"].map((k) => task(k, [], { resources: { GPU: 1 } })), ["g-3", "g-4"]));
    expect([h.state("g-3"), h.state("g-4")]).toEqual(["processing", "queued"]);
    expect(h.run(removeWorker("gpu"))).toEqual([]);
    expect([h.state("g-3"), h.state("g-4")]).toEqual(["no-worker", "no-worker"]);
  });
});

describe("root-task queuing", () => {
  it("queues root tasks beyond the saturation limit and hands them out as slots free", () => {
    const h = new Harness({ workerSaturation: 1 });
    h.do(addWorker("w1", { nthreads: 2 }), addClient("c1"));
    const keys = ["t-0", "t-1", "t-2", "t-3", "t-4"];
    expect(h.run(graph("c1", keys.map((k) => task(k)), keys))).toEqual(["compute w1 t-0", "compute w1 t-1"]);
    expect(h.s.counts()).toMatchObject({ processing: 2, queued: 3 });
    expect(h.run(finished("w1", "t-1"))).toEqual(["memory c1 t-1", "compute w1 t-2"]);
    // A second worker joining takes queued work immediately.
    expect(h.run(addWorker("w2", { nthreads: 1 }))).toEqual(["compute w2 t-3"]);
    expect(h.s.story("t-3").map((r) => `${r.start}>${r.finish}`)).toEqual([
      "released>waiting",
      "waiting>queued",
      "queued>processing",
    ]);
    // Released while queued: leaves the queue, nothing sent.
    expect(h.run(releases("c1", ["t-4"]))).toEqual([]);
    expect(h.s.counts().queued).toBe(0);
  });

  it("queued root tasks wait for a worker when there is none", () => {
    const h = new Harness({ workerSaturation: 1 });
    h.do(addClient("c1"), graph("c1", [task("r-0"), task("r-1")], ["r-0", "r-1"]));
    expect([h.state("r-0"), h.state("r-1")]).toEqual(["queued", "queued"]);
    expect(h.run(addWorker("w1"))).toEqual(["compute w1 r-0"]);
  });

  it("direct path: Infinity saturation sends every ready root task at once", () => {
    const h = new Harness({ workerSaturation: Infinity });
    h.do(addWorker("w1"), addWorker("w2"), addClient("c1"));
    const keys = ["t-0", "t-1", "t-2", "t-3", "t-4"];
    expect(h.run(graph("c1", keys.map((k) => task(k)), keys))).toEqual([
      "compute w1 t-0",
      "compute w2 t-1",
      "compute w2 t-2", // equally busy: the most recently used worker
      "compute w1 t-3",
      "compute w1 t-4",
    ]);
    expect(h.s.counts().queued).toBe(0);
  });

  it("auto saturation starts shallow and deepens once root tasks prove short", () => {
    const h = new Harness();
    h.do(addWorker("w1"), addClient("c1"));
    const keys = Array.from({ length: 200 }, (_, i) => `t-${i}`);
    expect(h.do(graph("c1", keys.map((k) => task(k)), keys))).toHaveLength(2); // 2 per thread at first
    const out = h.run(finished("w1", "t-0", { ms: 0.1 })); // 0.1 ms tasks: 1 + 5/0.1 = 51 per thread
    expect(h.s.workerSaturation).toBeCloseTo(51, 6);
    expect(out.filter((l) => l.startsWith("compute"))).toHaveLength(50);
    expect(h.s.workers()[0].processing).toBe(51);
    // Slow tasks shrink it back towards one queued behind each running one.
    for (let i = 1; i < 40; i++) h.do(finished("w1", `t-${i}`, { ms: 1000 }));
    expect(h.s.workerSaturation).toBeLessThan(1.01);
  });
});

describe("cancel", () => {
  it("stops a key no one else wants; dependents still wanted err with CancelledError", () => {
    const h = new Harness();
    h.do(addWorker("w1"), addClient("c1"), addClient("c2"));
    h.do(graph("c1", [task("a")], ["a"]), graph("c2", [task("b", ["a"]), task("c", ["b"])], ["c"]));
    const out = h.do(cancel("c1", ["a"]));
    const error = {
      name: "CancelledError",
      message: 'skein: key "a" was cancelled',
      stack: "",
      key: "a",
      fn: "a",
      worker: "",
      causeKey: "a",
    };
    expect(out).toEqual([
      { type: "keys-cancelled", client: "c1", keys: ["a"], reason: "cancelled by client" },
      { type: "key-erred", client: "c2", key: "c", error },
      { type: "free-keys", worker: "w1", keys: ["a"] },
    ]);
    expect([h.state("a"), h.state("b"), h.state("c")]).toEqual(["released", "erred", "erred"]);
    h.do(releases("c2", ["c"]));
    expect(h.s.taskCount).toBe(0);
  });

  it("only drops the client's interest when another client wants the key", () => {
    const h = new Harness();
    h.do(addWorker("w1"), addClient("c1"), addClient("c2"));
    h.do(graph("c1", [task("x")], ["x"]), desires("c2", ["x"]));
    expect(h.run(cancel("c1", ["x"]))).toEqual(["cancelled c1 x"]);
    expect(h.state("x")).toBe("processing");
    expect(h.run(finished("w1", "x"))).toEqual(["memory c2 x"]);
  });

  it("cancelling a pending reduction releases its inputs too", () => {
    const h = new Harness({ workerSaturation: Infinity });
    h.do(addWorker("w1"), addClient("c1"));
    h.do(graph("c1", [task("p-0"), task("p-1"), task("total", ["p-0", "p-1"])], ["total"]));
    h.do(finished("w1", "p-0"));
    expect(h.run(cancel("c1", ["total"]))).toEqual(["cancelled c1 total", "free w1 p-0,p-1"]);
    expect(h.s.taskCount).toBe(0);
  });
});

describe("scatter and gather", () => {
  it("scattered data is in memory at once, feeds tasks, and gather routes per holder", () => {
    const h = new Harness({ workerSaturation: Infinity });
    h.do(addWorker("w1"), addWorker("w2"), addClient("c1"));
    expect(h.run({ type: "scatter", client: "c1", data: { x: 800, y: 16 }, workers: ["w2"] })).toEqual([]);
    expect([h.state("x"), h.s.whoHas("x")]).toEqual(["memory", ["w2"]]);
    expect(h.run(graph("c1", [task("f", ["x"])], ["f"]))).toEqual(["compute w2 f"]);
    h.do(finished("w2", "f"), { type: "add-keys", worker: "w1", keys: ["y", "unknown"], nbytes: { y: 16, unknown: 1 } });
    expect(h.s.whoHas("y")).toEqual(["w2", "w1"]);
    const out = h.do({ type: "gather", client: "c1", id: 7, keys: ["x", "f", "y", "nope"] });
    expect(out).toEqual([
      { type: "get-data", worker: "w2", client: "c1", id: 7, keys: ["x", "f", "y"] },
      { type: "gather-missing", client: "c1", id: 7, keys: ["nope"] },
    ]);
  });

  it("add-keys for keys not in memory tells the worker to drop them", () => {
    const h = new Harness();
    h.do(addWorker("w1"), addClient("c1"));
    expect(h.run({ type: "add-keys", worker: "w1", keys: ["stray"], nbytes: { stray: 1 } })).toEqual(["free w1 stray"]);
  });

  it("scattered data lost with its worker cannot be recomputed: LostData", () => {
    const h = new Harness();
    h.do(addWorker("w1"), addWorker("w2"), addClient("c1"));
    h.do({ type: "scatter", client: "c1", data: { s: 8 }, workers: ["w1"] });
    const out = h.do(removeWorker("w1"));
    expect(out).toEqual([
      {
        type: "key-erred",
        client: "c1",
        key: "s",
        error: {
          name: "LostData",
          message: 'skein: scattered key "s" was lost with the workers holding it and has no lineage to recompute it',
          stack: "",
          key: "s",
          fn: "scatter",
          worker: "",
        },
      },
    ]);
  });
});

describe("instruction order and batching", () => {
  it("free-keys merge per worker within a batch, but never jump over a compute-task", () => {
    const h = new Harness({ workerSaturation: Infinity });
    h.do(addWorker("w1"), addClient("c1"), graph("c1", [task("x"), task("y"), task("z")], ["x", "y", "z"]));
    // Release x and y, resubmit x, release z: one batch.
    const out = h.run(releases("c1", ["x", "y"]), graph("c1", [task("x")], ["x"]), releases("c1", ["z"]));
    expect(out).toEqual(["free w1 x,y", "compute w1 x", "free w1 z"]);
  });

  it("a released lineage key wanted again is recomputed; a memory key is reported at once", () => {
    const h = new Harness();
    h.do(addWorker("w1"), addClient("c1"), graph("c1", [task("a"), task("b", ["a"])], ["b"]));
    h.do(finished("w1", "a"), finished("w1", "b"));
    expect(h.state("a")).toBe("released");
    expect(h.run(desires("c2", ["a", "b"]))).toEqual(["memory c2 b", "compute w1 a"]);
  });

  it("add-keys from the worker still computing that key is left alone", () => {
    const h = new Harness();
    h.do(addWorker("w1"), addWorker("w2"), addClient("c1"), graph("c1", [task("x")], ["x"]));
    expect(h.run({ type: "add-keys", worker: "w1", keys: ["x"], nbytes: { x: 1 } })).toEqual([]);
    expect(h.run({ type: "add-keys", worker: "w2", keys: ["x"], nbytes: { x: 1 } })).toEqual(["free w2 x"]);
    expect(h.state("x")).toBe("processing");
  });

  it("an erred key nobody wants is forgotten at once", () => {
    const h = new Harness();
    h.do(addWorker("w1"), addClient("c1"), graph("c1", [task("x")], ["x"]), releases("c1", ["x"]));
    expect(h.s.taskCount).toBe(0);
    h.do(graph("c1", [task("y")], ["y"]));
    h.do(releases("c1", ["y"]));
    expect(h.run(erred("w1", "y"))).toEqual([]); // already released: stale
    expect(h.s.taskCount).toBe(0);
  });
});

describe("events and the transition log", () => {
  it("a recorded stimulus log replays through JSON to identical instructions", () => {
    const h = new Harness({ allowedFailures: 1 });
    const script: SchedulerEvent[] = [
      addWorker("w1"),
      addWorker("w2", { resources: { GPU: 2 } }),
      addClient("c1"),
      graph("c1", [task("a"), task("b", ["a"], { resources: { GPU: 1 } }), task("c", ["a", "b"]), task("d")], ["c", "d"]),
      finished("w1", "a", { nbytes: 10, value: { v: [1, 2] } }),
      removeWorker("w2"),
      addWorker("w3", { resources: { GPU: 1 } }),
      finished("w3", "b"),
      erred("w3", "c"),
      { type: "scatter", client: "c1", data: { s: 3 }, workers: ["w1"] },
      { type: "gather", client: "c1", id: 1, keys: ["d", "s"] },
      releases("c1", ["c"]),
    ];
    const outs: SchedulerInstruction[][] = script.map((e) => h.do(e));
    const recorded = h.recorded.map((e) => stimulusToJSON(e));
    const replay = new SchedulerState({ allowedFailures: 1 });
    const replayed = recorded.map((text) => replay.handle(stimulusFromJSON(text)));
    expect(replayed.map((o) => stimulusToJSON(o))).toEqual(outs.map((o) => stimulusToJSON(o)));
    // Run blobs survive the round trip as bytes, typed values as their own type.
    const first = stimulusFromJSON<SchedulerInstruction[]>(stimulusToJSON(outs[3]))[0];
    expect(first.type === "compute-task" && first.msg.run).toEqual(run("a"));
    const ev = finished("w1", "f", { value: { w: new Float64Array([1.5, -2]), b: Buffer.from("hi") } });
    const back = stimulusFromJSON(stimulusToJSON(ev));
    expect(back).toEqual({ ...ev, value: { w: new Float64Array([1.5, -2]), b: new Uint8Array([104, 105]) } });
    expect(back.type === "task-finished" && (back.value as { w: unknown }).w).toBeInstanceOf(Float64Array);
  });

  it("stories record key, start, finish, stimulus and injected time; the log is bounded", () => {
    let t = 100;
    const s = new SchedulerState({ now: () => t, transitionLogSize: 4 });
    s.handle(addWorker("w1"));
    s.handle(graph("c1", [task("x")], ["x"]), "graph-1");
    t = 200;
    s.handle(finished("w1", "x"), "done-1");
    expect(s.story("x")).toEqual([
      { key: "x", start: "released", finish: "waiting", stimulusId: "graph-1", time: 100 },
      { key: "x", start: "waiting", finish: "processing", stimulusId: "graph-1", time: 100 },
      { key: "x", start: "processing", finish: "memory", stimulusId: "done-1", time: 200 },
    ]);
    s.handle(graph("c1", [task("y")], ["y"]));
    // 5 transitions into 4 slots: x's oldest entry was overwritten.
    expect(s.story("x").map((r) => r.finish)).toEqual(["processing", "memory"]);
  });

  it("an illegal transition throws with the key's story", () => {
    const s = new SchedulerState();
    s.handle(addWorker("w1"));
    s.handle(graph("c1", [task("x")], ["x"]), "g");
    const internals = s as unknown as { transition(ts: unknown, finish: number): void; tasks: Map<string, unknown> };
    expect(() => internals.transition(internals.tasks.get("x"), 1 /* waiting */)).toThrow(
      'skein scheduler: illegal transition processing>waiting for key "x" (stimulus g); story:\n' +
        "  released>waiting stimulus=g time=0\n  waiting>processing stimulus=g time=0",
    );
  });

  it("the legal transition table", () => {
    expect(legalTransitions().sort()).toEqual(
      [
        "released>waiting",
        "released>memory",
        "released>erred",
        "released>forgotten",
        "waiting>processing",
        "waiting>released",
        "waiting>erred",
        "queued>processing",
        "queued>released",
        "queued>erred",
        "no-worker>processing",
        "no-worker>released",
        "no-worker>erred",
        "processing>memory",
        "processing>released",
        "processing>erred",
        "memory>released",
        "erred>released",
        "erred>forgotten",
      ].sort(),
    );
  });

  it("remove-client releases everything it wanted", () => {
    const h = new Harness();
    h.do(addWorker("w1"), addClient("c1"), graph("c1", [task("a"), task("b")], ["a", "b"]));
    h.do(finished("w1", "a"));
    expect(h.run({ type: "remove-client", client: "c1" })).toEqual(["free w1 a,b"]);
    expect(h.s.taskCount).toBe(0);
  });

  it("client-desires-keys on an unknown key reports it cancelled", () => {
    const h = new Harness();
    expect(h.do(desires("c1", ["gone"]))).toEqual([
      { type: "keys-cancelled", client: "c1", keys: ["gone"], reason: 'skein scheduler: unknown key(s) "gone"' },
    ]);
  });
});
