import { pathToFileURL } from "node:url";
import { afterEach, describe, expect, test } from "vitest";
import { FunctionReferenceError, SkeinError } from "../src/errors.js";
import {
  Delayed,
  delayed,
  getDefaultComputer,
  setDefaultComputer,
  setExternalKeyOf,
  type DelayedComputer,
} from "../src/graph/delayed.js";
import { evaluateRun } from "../src/graph/evaluate.js";
import { KeyRef, type Key } from "../src/graph/spec.js";
import { tokenize } from "../src/graph/tokenize.js";
import { anonymous } from "./fixtures/refs.js";
import { add, double, inc, slowInc, sum } from "./fixtures/tasks.js";

const tasksUrl = pathToFileURL(`${import.meta.dirname}/fixtures/tasks.ts`).href;

/** Runs a Delayed's graph in this process, task by task: enough to check graphs end to end. */
class LocalComputer implements DelayedComputer {
  calls = 0;
  async computeDelayed<T>(d: Delayed<T>): Promise<T> {
    this.calls++;
    const values = new Map<Key, unknown>();
    for (const t of d.tasks()) values.set(t.key, await evaluateRun(t, values));
    return values.get(d.key) as T;
  }
}

afterEach(() => {
  setDefaultComputer(undefined);
  setExternalKeyOf(() => undefined);
});

describe("delayed", () => {
  test("deterministic keys from function and arguments", () => {
    const d = delayed(inc)(1);
    expect(d).toBeInstanceOf(Delayed);
    expect(d.key).toMatch(/^inc-[0-9a-f]{16}$/);
    expect(d.key).toBe(`inc-${tokenize(tasksUrl, "inc", [1])}`);
    expect(delayed(inc)(1).key).toBe(d.key);
    expect(delayed(inc)(2).key).not.toBe(d.key);
    expect(d.task).toEqual({ key: d.key, fn: { module: tasksUrl, name: "inc" }, args: [1], deps: [] });
    expect(String(d)).toBe(`Delayed(${d.key})`);
  });

  test("nested Delayed arguments become KeyRefs and their tasks join the graph", () => {
    const a = delayed(inc)(1);
    const b = delayed(add)(a, 10);
    expect(b.task.args).toEqual([new KeyRef(a.key), 10]);
    expect(b.task.deps).toEqual([a.key]);
    expect(b.tasks()).toEqual([a.task, b.task]);
    expect([...b.graph.keys()]).toEqual([a.key, b.key]);
    expect(b.key).not.toBe(delayed(add)(delayed(inc)(2), 10).key);
  });

  test("shared dependencies appear once, before their dependents", () => {
    const a = delayed(inc)(1);
    const b = delayed(double)(a);
    const c = delayed(add)(a, b);
    const s = delayed(sum)([b, c, a, 4]);
    expect(s.task.deps).toEqual([b.key, c.key, a.key]);
    const keys = s.tasks().map((t) => t.key);
    expect(keys).toEqual([a.key, b.key, c.key, s.key]);
  });

  test("pure: false gives a fresh key per call; name sets the prefix", () => {
    const impure = delayed(inc, { pure: false });
    const k1 = impure(1).key;
    const k2 = impure(1).key;
    expect(k1).toMatch(/^inc-[0-9a-f]{16}$/);
    expect(k1).not.toBe(k2);
    expect(delayed(inc, { name: "step" })(1).key).toMatch(/^step-[0-9a-f]{16}$/);
  });

  test("compute runs on the given client, or the default one", async () => {
    const c = new LocalComputer();
    const total = delayed(sum)([delayed(inc)(1), delayed(double)(delayed(slowInc)(2, 1)), 4]);
    expect(await total.compute(c)).toBe(2 + 6 + 4);

    await expect(total.compute()).rejects.toThrow(new SkeinError("skein: no client; call Client.connect() first or pass a client"));
    setDefaultComputer(c);
    expect(getDefaultComputer()).toBe(c);
    expect(await delayed(add)(delayed(inc)(1), 1).compute()).toBe(3);
    expect(c.calls).toBe(2);
  });

  test("a closing client clears the default only if it is still the default", () => {
    const first = new LocalComputer();
    const second = new LocalComputer();
    setDefaultComputer(first);
    setDefaultComputer(second);
    setDefaultComputer(undefined, first);
    expect(getDefaultComputer()).toBe(second);
    setDefaultComputer(undefined, second);
    expect(getDefaultComputer()).toBeUndefined();
  });

  test("other keyed values (Futures) become external dependencies", () => {
    class FakeFuture {
      constructor(readonly key: Key) {}
      result(): Promise<number> {
        return Promise.resolve(1);
      }
    }
    setExternalKeyOf((v) => (v instanceof FakeFuture ? v.key : undefined));
    const f = new FakeFuture("held-1");
    const d = delayed(add)(f, delayed(inc)(1));
    expect(d.task.deps).toEqual(["held-1", delayed(inc)(1).key]);
    expect(d.external).toEqual(new Map([["held-1", f]]));
    expect(d.tasks().map((t) => t.key)).toEqual([delayed(inc)(1).key, d.key]);
  });

  test("a 100,000-long chain of delayed calls", () => {
    let d: Delayed<number> = delayed(inc)(0);
    for (let i = 1; i < 100_000; i++) d = delayed(inc)(d);
    const tasks = d.tasks();
    expect(tasks.length).toBe(100_000);
    expect(tasks[0].args).toEqual([0]);
    expect(tasks[tasks.length - 1].key).toBe(d.key);
  });

  test("functions that workers cannot load are refused when wrapped", () => {
    expect(() => delayed(anonymous)).toThrow(FunctionReferenceError);
    expect(() => delayed(3 as unknown as () => void)).toThrow("skein: expected a function to run, got number 3");
  });
});
