import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client, delayed, progress, ProgressReporter } from "../src/index.js";
import { fail, inc } from "./fixtures/tasks.js";

/** A stream that keeps what is written; `isTTY` as asked. */
function sink(isTTY = false): Writable & { text: () => string; isTTY: boolean } {
  const chunks: string[] = [];
  const w = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  }) as Writable & { text: () => string; isTTY: boolean };
  w.text = () => chunks.join("");
  w.isTTY = isTTY;
  return w;
}

/** A clock that advances 500 ms per reading. */
function clock(): () => number {
  let t = 0;
  return () => (t += 500) - 500;
}

describe("ProgressReporter, plain lines", () => {
  it("prints start, each quarter and the end", () => {
    const out = sink();
    const r = new ProgressReporter(8, { stream: out, label: "files", unit: "files", now: clock() });
    for (let i = 0; i < 8; i++) r.tick();
    r.done();
    r.done();
    expect(out.text()).toBe(
      [
        "files: 0/8 files",
        "files: 2/8 files (25%) 0.5s",
        "files: 4/8 files (50%) 1.0s",
        "files: 6/8 files (75%) 1.5s",
        "files: 8/8 files done in 2.0s",
        "",
      ].join("\n"),
    );
    expect(r.completed).toBe(8);
  });

  it("prints one line for a big tick, counts failures, and says stopped when short", () => {
    const out = sink();
    const r = new ProgressReporter(10, { stream: out, now: clock() });
    r.tick(6);
    r.fail(1);
    r.done();
    r.tick(3); // after done: ignored
    expect(out.text()).toBe(["progress: 0/10 tasks", "progress: 6/10 tasks (60%) 0.5s", "progress: 7/10 tasks stopped in 1.0s, 1 erred", ""].join("\n"));
    expect([r.completed, r.erred]).toEqual([7, 1]);
  });

  it("grows its total", () => {
    const out = sink();
    const r = new ProgressReporter(0, { stream: out, now: clock() });
    r.addTotal(2);
    r.tick(2);
    r.done();
    expect(out.text()).toBe("progress: 0/0 tasks\nprogress: 2/2 tasks done in 0.5s\n");
  });

  it("rejects a bad total or step", () => {
    expect(() => new ProgressReporter(-1, { stream: sink() })).toThrow("skein progress: total must be a non-negative integer, got -1");
    expect(() => new ProgressReporter(1, { stream: sink(), step: 0 })).toThrow("skein progress: step must be in (0, 1], got 0");
  });
});

describe("ProgressReporter, terminal bar", () => {
  it("draws a cli-progress bar on a TTY stream", () => {
    const out = sink(true);
    const r = new ProgressReporter(4, { stream: out, label: "fit" });
    r.tick(3);
    r.fail();
    r.done();
    const text = out.text();
    expect(text).toContain("fit [");
    expect(text).toContain("4/4 100%");
    expect(text).toContain("| 1 erred");
  });
});

describe("progress(futures)", () => {
  let client: Client;
  beforeAll(async () => {
    client = await Client.connect({ processes: false, nWorkers: 1, threadsPerWorker: 2 });
  });
  afterAll(async () => {
    await client?.close();
  });

  it("resolves once every future is done, failures included, without rejecting", async () => {
    const out = sink();
    const futures = [...client.map(inc, [1, 2, 3]), client.submit(fail, 1)];
    await progress(futures, { stream: out, label: "run", now: clock() });
    expect(futures.map((f) => f.status).sort()).toEqual(["error", "finished", "finished", "finished"]);
    const lines = out.text().trimEnd().split("\n");
    expect(lines[0]).toBe("run: 0/4 tasks");
    expect(lines[lines.length - 1]).toMatch(/^run: 4\/4 tasks done in \d+\.\ds, 1 erred$/);
    expect(await client.gather(futures.slice(0, 3))).toEqual([2, 3, 4]);
  });

  it("counts futures on one key once and takes a single future", async () => {
    const out = sink();
    const a = client.submit(inc, 10);
    const b = client.submit(inc, 10);
    await progress([a, b], { stream: out, now: clock() });
    expect(out.text()).toBe("progress: 0/1 tasks\nprogress: 1/1 tasks done in 0.5s\n");
    const out2 = sink();
    await progress(a, { stream: out2, now: clock() });
    expect(out2.text()).toBe("progress: 0/1 tasks\nprogress: 1/1 tasks done in 0.5s\n");
  });

  it("resolves at once for no futures", async () => {
    const out = sink();
    await progress([], { stream: out, now: clock() });
    expect(out.text()).toBe("progress: 0/0 tasks\nprogress: 0/0 tasks done in 0.5s\n");
  });

  it("follows client.compute(..., { progress })", async () => {
    const out = sink();
    const d = delayed(inc)(delayed(inc)(1));
    const f = client.compute(d, { progress: { stream: out, label: "compute", now: clock() } });
    expect(await f.result()).toBe(3);
    await client.wait([f]);
    // The display ends in the same tick the future settles.
    expect(out.text()).toBe("compute: 0/1 tasks\ncompute: 1/1 tasks done in 0.5s\n");
  });
});
