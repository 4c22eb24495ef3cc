/**
 * The executor with real worker threads, running fixture functions by module URL.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packRun } from "../src/comm/serialize.js";
import { KeyRef } from "../src/graph/spec.js";
import { Executor, type ExecResult } from "../src/worker/executor.js";

const TASKS = new URL("./fixtures/tasks.ts", import.meta.url).href;

function task(key: string, name: string, args: unknown[], data: Map<string, unknown> = new Map()) {
  return { key, run: packRun({ fn: { module: TASKS, name }, args }), data };
}

function ok(r: ExecResult): Extract<ExecResult, { ok: true }> {
  if (!r.ok) throw new Error(`expected success, got ${r.error.stack}`);
  return r;
}

function failed(r: ExecResult): Extract<ExecResult, { ok: false }> {
  if (r.ok) throw new Error(`expected failure, got ${String(r.value)}`);
  return r;
}

describe("Executor", () => {
  let ex: Executor;
  beforeAll(async () => {
    ex = new Executor({ nthreads: 2 });
    await ex.ready();
  });
  afterAll(async () => {
    await ex.close();
  });

  it("runs a task in a thread and reports value, size, type and times", async () => {
    const before = Date.now();
    const r = ok(await ex.run(task("inc-1", "inc", [41])));
    expect(r).toMatchObject({ key: "inc-1", ok: true, value: 42, nbytes: 8, typeName: "number" });
    expect(r.start).toBeGreaterThanOrEqual(before - 1);
    expect(r.stop).toBeGreaterThanOrEqual(r.start);
  });

  it("substitutes dependencies from the data it is given", async () => {
    const r = ok(await ex.run(task("add-1", "add", [new KeyRef("a"), 1], new Map([["a", 5]]))));
    expect(r.value).toBe(6);
  });

  it("reports a thrown error with the remote stack", async () => {
    const r = failed(await ex.run(task("fail-1", "fail", [])));
    expect(r.error.name).toBe("Error");
    expect(r.error.message).toBe("boom");
    expect(r.error.stack).toMatch(/^Error: boom\n\s+at fail \(.*fixtures\/tasks\.ts/);
  });

  it("refuses a result that cannot leave the process, naming what and where", async () => {
    const r = failed(await ex.run(task("sock-1", "withSocket", [])));
    expect(r.error.name).toBe("SerializationError");
    expect(r.error.message).toBe(
      'skein: task "sock-1" returned a value that cannot be sent between processes: an instance of Socket at result.sock',
    );
  });

  it("replaces a thread that exits and runs the tasks queued behind", async () => {
    // Same tick: the three tasks may land on one thread, behind the one that kills it.
    const [dead, a, b] = await Promise.all([
      ex.run(task("exit-1", "exitNow", [3])),
      ex.run(task("inc-2", "inc", [1])),
      ex.run(task("inc-3", "inc", [2])),
    ]);
    expect(failed(dead).error.message).toBe(
      'skein worker: the thread running task "exit-1" died (exit code 3); a task must not call process.exit() and must fit in memory (the thread was replaced)',
    );
    expect(ok(a).value).toBe(2);
    expect(ok(b).value).toBe(3);
    expect(ok(await ex.run(task("inc-4", "inc", [9]))).value).toBe(10);
  });

  it("returns a 10 MB Float64Array in shared memory", async () => {
    const n = (10 * 2 ** 20) / 8;
    const r = ok(await ex.run(task("big", "float64Range", [n])));
    const a = r.value as Float64Array;
    expect(a).toBeInstanceOf(Float64Array);
    expect(a.length).toBe(n);
    expect(a[n - 1]).toBe(n - 1);
    expect(a.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(r.nbytes).toBe(10 * 2 ** 20);
    expect(r.typeName).toBe("Float64Array");
    // Passed back into a task, the shared array is read in place.
    const s = ok(await ex.run(task("sum", "sumShared", [new KeyRef("big")], new Map([["big", a]]))));
    expect(s.value).toEqual({ sum: (n * (n - 1)) / 2, shared: true });
  });

  it("runs a burst of tiny tasks, batched, each with its own result", async () => {
    const results = await Promise.all(Array.from({ length: 500 }, (_, i) => ex.run(task(`i-${i}`, "inc", [i]))));
    expect(results.map((r) => ok(r).value)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    expect(ex.outstanding).toBe(0);
  });
});

describe("Executor thread flags", () => {
  it("starts threads under the parent's flags, including ones threads refuse", async () => {
    const ex = new Executor({ nthreads: 1, execArgv: ["--conditions=source", "--expose-gc", "--import", "tsx", "--inspect=0", "-e", "process.exit(9)"] });
    try {
      expect(ok(await ex.run(task("f", "inc", [1]))).value).toBe(2);
      // --conditions survives (without it "skein" could resolve to a second copy of the package);
      // the process-wide --expose-gc is left out, as threads refuse it (and have it anyway).
      expect(ok(await ex.run(task("g", "execArgvHere", []))).value).toEqual(["--conditions=source"]);
    } finally {
      await ex.close();
    }
  });

  it("keeps --conditions when a thread refuses some other flag", async () => {
    const ex = new Executor({ nthreads: 1, execArgv: ["--conditions", "source", "--no-deprecation", "--title=x"] });
    try {
      expect(ok(await ex.run(task("h", "execArgvHere", []))).value).toEqual(["--conditions", "source"]);
    } finally {
      await ex.close();
    }
  });
});

describe("Executor with transferResults", () => {
  it("transfers result buffers instead of copying them", async () => {
    const ex = new Executor({ nthreads: 1, sharedMinBytes: Infinity, transferResults: true });
    try {
      const r = ok(await ex.run(task("t", "float64Range", [1000])));
      const a = r.value as Float64Array;
      expect(a.buffer).toBeInstanceOf(ArrayBuffer);
      expect(a[999]).toBe(999);
    } finally {
      await ex.close();
    }
  });
});
