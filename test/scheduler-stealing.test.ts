/**
 * Work stealing in the pure scheduler state machine: an idle worker takes queued tasks from a
 * backlogged one, but only once the victim confirms it had not started them.
 */
import { describe, expect, it } from "vitest";
import { Harness, addClient, addWorker, balance, finished, graph, stealResponse, task } from "./scheduler-helpers.js";

/** w1 alone runs `a`, then gets b-0..b-3 (all need a); then w2 joins with nothing to do. */
function backlogged(opts: { aBytes?: number; bOpts?: { workers?: string[] } } = {}): Harness {
  const h = new Harness();
  h.run(addWorker("w1"), addClient("c1"));
  const bs = [0, 1, 2, 3].map((i) => task(`b-${i}`, ["a"], opts.bOpts ?? {}));
  h.run(graph("c1", [task("a"), ...bs], bs.map((b) => b.key)));
  expect(h.run(finished("w1", "a", { nbytes: opts.aBytes ?? 8 }))).toEqual(["compute w1 b-0", "compute w1 b-1", "compute w1 b-2", "compute w1 b-3"]);
  expect(h.run(addWorker("w2"))).toEqual([]);
  return h;
}

describe("work stealing", () => {
  it("an idle worker steals the victim's last task once the victim says it had not started it", () => {
    const h = backlogged();
    expect(h.run(balance)).toEqual(["steal w1 b-3"]);
    // Asked already: a second round does not ask again, nor hand w2 more than its one thread.
    expect(h.run(balance)).toEqual([]);
    expect(h.run(stealResponse("w1", "b-3", "ready"))).toEqual(["compute w2 b-3"]);
    expect(h.processingOn("b-3")).toBe("w2");
    expect(h.s.stolen).toBe(1);
    expect(h.s.story("b-3").at(-1)).toMatchObject({ start: "processing", finish: "processing" });
    expect(h.run(balance)).toEqual([]); // w2 is busy now
    // Its result lands normally and the stolen copy on w1 is never asked for again.
    expect(h.run(finished("w2", "b-3", { value: 3 }))).toEqual(["memory c1 b-3=3"]);
  });

  it("leaves a task the victim already started where it is", () => {
    const h = backlogged();
    expect(h.run(balance)).toEqual(["steal w1 b-3"]);
    expect(h.run(stealResponse("w1", "b-3", "executing"))).toEqual([]);
    expect(h.processingOn("b-3")).toBe("w1");
    expect(h.s.stolen).toBe(0);
    // The steal is over: the next round may try again.
    expect(h.run(balance)).toEqual(["steal w1 b-3"]);
  });

  it("ignores a late answer for a task that finished on the victim meanwhile", () => {
    const h = backlogged();
    h.run(balance);
    expect(h.run(finished("w1", "b-3", { value: 3 }))).toEqual(["memory c1 b-3=3"]);
    expect(h.run(stealResponse("w1", "b-3", "memory"))).toEqual([]);
    expect(h.state("b-3")).toBe("memory");
  });

  it("re-places a released task when the thief left before the answer came", () => {
    const h = backlogged();
    h.run(balance);
    h.run({ type: "remove-worker", worker: "w2", reason: "gone" });
    expect(h.run(stealResponse("w1", "b-3", "ready"))).toEqual(["compute w1 b-3"]);
    expect(h.processingOn("b-3")).toBe("w1");
  });

  it("does not steal when moving the inputs costs more than waiting", () => {
    // 1 GB input: ~10 s to move at the assumed 100 MB/s, against ~30 ms of backlog.
    const h = backlogged({ aBytes: 1e9 });
    expect(h.run(balance)).toEqual([]);
  });

  it("moves everything it can off a paused worker, whatever the transfer cost", () => {
    const h = backlogged({ aBytes: 1e9 });
    h.run({ type: "worker-status", worker: "w1", status: "paused" });
    expect(h.run(balance)).toEqual(["steal w1 b-3"]); // w2 has one thread free
  });

  it("never moves a task restricted to its worker", () => {
    const h = backlogged({ bOpts: { workers: ["w1"] } });
    expect(h.run(balance)).toEqual([]);
  });
});
