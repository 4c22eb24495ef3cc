import { pathToFileURL } from "node:url";
import { describe, expect, test } from "vitest";
import { SkeinError } from "../src/errors.js";
import { evaluateRun, substitute } from "../src/graph/evaluate.js";
import { Call, KeyRef, type FnRef, type Key } from "../src/graph/spec.js";

const tasksUrl = pathToFileURL(`${import.meta.dirname}/fixtures/tasks.ts`).href;
const fn = (name: string): FnRef => ({ module: tasksUrl, name });
const data = (o: Record<Key, unknown>): Map<Key, unknown> => new Map(Object.entries(o));

describe("substitute", () => {
  test("replaces KeyRefs deep inside arrays, objects and Maps", () => {
    const untouched = { keep: [1, 2] };
    const value = [new KeyRef("x"), { a: [new KeyRef("y")], u: untouched }, new Map([["m", new KeyRef("x")]]), untouched];
    const out = substitute(value, data({ x: 1, y: "why" }));
    expect(out).toEqual([1, { a: ["why"], u: { keep: [1, 2] } }, new Map([["m", 1]]), { keep: [1, 2] }]);
    expect(out[3]).toBe(untouched);
    expect((out[1] as { u: unknown }).u).toBe(untouched);
    expect(value[0]).toBeInstanceOf(KeyRef); // input unchanged
  });

  test("returns the value itself when there is nothing to replace", () => {
    const value = [1, [2, { a: 3 }], new Float64Array(4)];
    expect(substitute(value, new Map())).toBe(value);
  });

  test("substituted values are leaves, and undefined values are allowed", () => {
    const inner = [new KeyRef("y")];
    const out = substitute([new KeyRef("x"), new KeyRef("u")], data({ x: inner, u: undefined }));
    expect(out[0]).toBe(inner);
    expect(out[1]).toBeUndefined();
  });

  test("a KeyRef without data fails clearly", () => {
    expect(() => substitute([new KeyRef("q")], new Map())).toThrow(SkeinError);
    expect(() => substitute([new KeyRef("q")], new Map())).toThrow(
      'skein worker: task argument refers to key "q", which is not in local data',
    );
  });
});

describe("evaluateRun", () => {
  test("calls the function with dependency values", async () => {
    expect(await evaluateRun({ fn: fn("inc"), args: [new KeyRef("x")] }, data({ x: 1 }))).toBe(2);
    expect(await evaluateRun({ fn: fn("add"), args: [new KeyRef("x"), 10] }, data({ x: 1 }))).toBe(11);
    expect(await evaluateRun({ fn: fn("sum"), args: [[new KeyRef("x"), new KeyRef("y"), 3]] }, data({ x: 1, y: 2 }))).toBe(6);
  });

  test("awaits async functions", async () => {
    expect(await evaluateRun({ fn: fn("slowInc"), args: [new KeyRef("x"), 1] }, data({ x: 41 }))).toBe(42);
    expect(await evaluateRun({ fn: fn("asyncDouble"), args: [21] }, new Map())).toBe(42);
  });

  test("fn: null gives the substituted value", async () => {
    expect(await evaluateRun({ fn: null, args: [new KeyRef("x")] }, data({ x: "v" }))).toBe("v");
    expect(await evaluateRun({ fn: null, args: [[new KeyRef("x"), new KeyRef("y")]] }, data({ x: 1, y: 2 }))).toEqual([1, 2]);
    expect(await evaluateRun({ fn: null, args: [7] }, new Map())).toBe(7);
  });

  test("nested Calls run innermost first, also inside lists", async () => {
    // add(inc(x), double(inc(2))) = add(2, 6)
    const run = {
      fn: fn("add"),
      args: [new Call(fn("inc"), [new KeyRef("x")]), new Call(fn("double"), [new Call(fn("inc"), [2])])],
    };
    expect(await evaluateRun(run, data({ x: 1 }))).toBe(8);
    const list = { fn: null, args: [[new Call(fn("slowInc"), [new KeyRef("x"), 1]), { y: new KeyRef("y") }]] };
    expect(await evaluateRun(list, data({ x: 1, y: 5 }))).toEqual([2, { y: 5 }]);
  });

  test("a Call inside a dependency's value is data, not code", async () => {
    const stored = new Call(fn("fail"), []);
    const run = { fn: fn("identity"), args: [new KeyRef("x"), new Call(fn("inc"), [1])] };
    expect(await evaluateRun(run, data({ x: stored }))).toBe(stored);
  });

  test("errors from the function propagate", async () => {
    await expect(evaluateRun({ fn: fn("fail"), args: [] }, new Map())).rejects.toThrow("boom");
    await expect(evaluateRun({ fn: fn("nope"), args: [] }, new Map())).rejects.toThrow(
      `skein: module "${tasksUrl}" has no export "nope"`,
    );
    await expect(evaluateRun({ fn: fn("inc"), args: [new KeyRef("gone")] }, new Map())).rejects.toThrow(
      'skein worker: task argument refers to key "gone", which is not in local data',
    );
  });
});
