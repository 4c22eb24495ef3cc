/**
 * The executor with real worker threads, running fixture functions by module URL.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packRun } from "../src/comm/serialize.js";
import { importModule } from "../src/functions/load.js";
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

describe("Executor: lone tiny tasks on the event loop", () => {
  /** Keys with a hash suffix, so that they share a prefix as real task keys do. */
  const hashed = (prefix: string, i: number) => `${prefix}-${(0x10000000 + i).toString(16)}`;
  let ex: Executor;
  let seq = 0;
  beforeAll(async () => {
    ex = new Executor({ nthreads: 1 });
    await ex.ready();
  });
  afterAll(async () => {
    await ex.close();
  });

  /** Runs `name` one task at a time until it has run inline `inline` times (at most `max` runs). */
  async function untilInline(name: string, inline: number, max = 60, data?: Map<string, unknown>, args: unknown[] = []) {
    const runs: ExecResult[] = [];
    let seen = 0;
    while (seen < inline && runs.length < max) {
      const r = await ex.run(task(hashed(name, seq++), name, args, data));
      runs.push(r);
      const thread = r.ok ? (typeof r.value === "number" ? r.value : (r.value as { thread: number }).thread) : Number(/thread (\d+)/.exec(r.error.message)?.[1]);
      if (thread === 0) seen++;
    }
    return { runs, seen };
  }

  it("runs a task inline only after four tiny runs of its prefix in a thread, once its module is loaded here", async () => {
    const first: unknown[] = [];
    for (let i = 0; i < 5; i++) first.push(ok(await ex.run(task(hashed("threadIdHere", seq++), "threadIdHere", []))).value);
    expect(first.every((t) => t !== 0)).toBe(true);
    // The fifth found its prefix eligible and started importing the module into this thread.
    await importModule(TASKS);
    const { runs, seen } = await untilInline("threadIdHere", 1);
    expect(seen).toBe(1);
    expect(ok(runs.at(-1)!).value).toBe(0);
  });

  it("never runs a threadBound function inline", async () => {
    for (let i = 0; i < 20; i++) expect(ok(await ex.run(task(hashed("boundThreadIdHere", i), "boundThreadIdHere", []))).value).not.toBe(0);
  });

  it("never runs a task inline with inlineMaxMs 0", async () => {
    const off = new Executor({ nthreads: 1, inlineMaxMs: 0 });
    try {
      for (let i = 0; i < 20; i++) expect(ok(await off.run(task(hashed("threadIdHere", i), "threadIdHere", []))).value).not.toBe(0);
    } finally {
      await off.close();
    }
  });

  it("gives an inline task its own copy of its inputs, as a thread gets", async () => {
    const xs = [1, 2];
    const { runs, seen } = await untilInline("pushOne", 2, 60, new Map([["xs", xs]]), [new KeyRef("xs")]);
    expect(seen).toBe(2);
    expect(runs.map((r) => (ok(r).value as { length: number }).length)).toEqual(runs.map(() => 3));
    expect(xs).toEqual([1, 2]);
  });

  it("keeps an inline task's value apart from the object its module keeps", async () => {
    const snapshots: number[] = [];
    const values: { calls: number; thread: number }[] = [];
    let inline = 0;
    for (let i = 0; inline < 2 && i < 60; i++) {
      const v = ok(await ex.run(task(hashed("keptObject", i), "keptObject", []))).value as { calls: number; thread: number };
      values.push(v);
      snapshots.push(v.calls);
      if (v.thread === 0) inline++;
    }
    expect(inline).toBe(2);
    expect(values.map((v) => v.calls)).toEqual(snapshots);
  });

  it("reports an inline task's error with its stack", async () => {
    const { runs, seen } = await untilInline("failHere", 1);
    expect(seen).toBe(1);
    const r = failed(runs.at(-1)!);
    expect(r.error.message).toBe("boom in thread 0");
    expect(r.error.stack).toMatch(/^Error: boom in thread 0\n\s+at failHere \(.*fixtures\/tasks\.ts/);
  });

  it("sends a prefix back to threads for good after an inline run longer than 20 ms", async () => {
    const { seen } = await untilInline("busyFor", 1, 60, undefined, [0]);
    expect(seen).toBe(1);
    expect(ok(await ex.run(task(hashed("busyFor", seq++), "busyFor", [30]))).value).toBe(0);
    for (let i = 0; i < 10; i++) expect(ok(await ex.run(task(hashed("busyFor", seq++), "busyFor", [0]))).value).not.toBe(0);
  });

  it("runs a task inline only while nothing else runs", async () => {
    const { seen } = await untilInline("threadIdHere", 1);
    expect(seen).toBe(1);
    const long = ex.run(task(hashed("busyFor", seq++), "busyFor", [50]));
    const tiny = ex.run(task(hashed("threadIdHere", seq++), "threadIdHere", []));
    expect(ok(await tiny).value).not.toBe(0);
    expect(ok(await long).value).not.toBe(0);
  });
});
