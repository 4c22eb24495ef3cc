import { describe, expect, test } from "vitest";
import { FunctionReferenceError } from "../src/errors.js";
import { normalizeGraph } from "../src/graph/raw.js";
import { Call, KeyRef, type FnRef } from "../src/graph/spec.js";
import { add, inc, sum } from "./fixtures/tasks.js";

const locate = (fn: Function): FnRef => ({ module: "file:///tasks.ts", name: fn.name });
const ref = (name: string): FnRef => ({ module: "file:///tasks.ts", name });

describe("normalizeGraph", () => {
  test("dask's rules: tasks, references, lists, nested calls, literals", () => {
    const graph = {
      x: 1,
      y: [inc, "x"],
      z: [add, "x", "y"],
      w: ["x", "y"],
      v: [sum, ["x", "y"]],
      n: [add, [inc, "x"], 10],
      a: "x",
      s: [inc, "not-a-key"],
      o: { a: "x" },
      e: [],
    };
    expect(normalizeGraph(graph, locate)).toEqual([
      { key: "x", fn: null, args: [1], deps: [] },
      { key: "y", fn: ref("inc"), args: [new KeyRef("x")], deps: ["x"] },
      { key: "z", fn: ref("add"), args: [new KeyRef("x"), new KeyRef("y")], deps: ["x", "y"] },
      { key: "w", fn: null, args: [[new KeyRef("x"), new KeyRef("y")]], deps: ["x", "y"] },
      { key: "v", fn: ref("sum"), args: [[new KeyRef("x"), new KeyRef("y")]], deps: ["x", "y"] },
      { key: "n", fn: ref("add"), args: [new Call(ref("inc"), [new KeyRef("x")]), 10], deps: ["x"] },
      { key: "a", fn: null, args: [new KeyRef("x")], deps: ["x"] },
      { key: "s", fn: ref("inc"), args: ["not-a-key"], deps: [] },
      // Objects are literals, as in dask's task spec.
      { key: "o", fn: null, args: [{ a: "x" }], deps: [] },
      { key: "e", fn: null, args: [[]], deps: [] },
    ]);
  });

  test("class instances stay as they are", () => {
    const [t] = normalizeGraph({ n: [add, "x", 1], x: 2 }, locate);
    expect(t.args[0]).toBeInstanceOf(KeyRef);
    const [nested] = normalizeGraph({ n: [add, [inc, [inc, "x"]], 1], x: 2 }, locate);
    const outer = nested.args[0] as Call;
    expect(outer).toBeInstanceOf(Call);
    expect(outer.args[0]).toBeInstanceOf(Call);
  });

  test("dependencies are de-duplicated in first-seen order", () => {
    const [t] = normalizeGraph({ t: [sum, ["b", "a", "b", [add, "a", "c"]]], a: 1, b: 2, c: 3 }, locate);
    expect(t.deps).toEqual(["b", "a", "c"]);
  });

  test("locate errors name the task", () => {
    const failing = (fn: Function): FnRef => {
      throw new FunctionReferenceError(`skein: no module for "${fn.name}"`);
    };
    expect(() => normalizeGraph({ y: [add, [inc, 1], 2] }, failing)).toThrow('skein: no module for "add" (in task "y")');
  });
});
