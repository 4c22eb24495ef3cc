import { describe, expect, test } from "vitest";
import { SerializationError } from "../src/errors.js";
import { encodeArgs } from "../src/graph/build.js";
import { Call, KeyRef, type Key } from "../src/graph/spec.js";

class Fut {
  constructor(readonly key: Key) {}
}
const keyOf = (v: unknown): Key | undefined => (v instanceof Fut ? v.key : undefined);

describe("encodeArgs", () => {
  test("returns the same array when nothing stands for a key", () => {
    const args = [1, [2, 3], { a: "x" }, new Map([["m", 1]]), new Float64Array(3)];
    const out = encodeArgs(args, keyOf);
    expect(out.args).toBe(args);
    expect(out.deps).toEqual([]);
  });

  test("replaces keyed values deep inside arrays, objects, Maps and Calls", () => {
    const f1 = new Fut("a");
    const f2 = new Fut("b");
    const f3 = new Fut("c");
    const untouched = [7, 8];
    const map = new Map<string, unknown>([["m", f3], ["n", 1]]);
    const call = new Call({ module: "m", name: "g" }, [f2]);
    const args = [f1, [f2, 3, untouched], { a: f1, b: map, c: untouched }, call, 5];
    const out = encodeArgs(args, keyOf);
    expect(out.deps).toEqual(["a", "b", "c"]);
    expect(out.args).toEqual([
      new KeyRef("a"),
      [new KeyRef("b"), 3, [7, 8]],
      { a: new KeyRef("a"), b: new Map<string, unknown>([["m", new KeyRef("c")], ["n", 1]]), c: [7, 8] },
      new Call({ module: "m", name: "g" }, [new KeyRef("b")]),
      5,
    ]);
    // Copies only along the paths to refs; the input is not modified.
    expect((out.args[1] as unknown[])[2]).toBe(untouched);
    expect((out.args[2] as Record<string, unknown>).c).toBe(untouched);
    expect(args[0]).toBe(f1);
    expect(map.get("m")).toBe(f3);
    expect(call.args[0]).toBe(f2);
    expect(out.args[3]).toBeInstanceOf(Call);
  });

  test("existing KeyRefs count as dependencies; deps are de-duplicated in first-seen order", () => {
    const out = encodeArgs([new KeyRef("z"), new Fut("y"), [new Fut("z"), new Fut("y")]], keyOf);
    expect(out.deps).toEqual(["z", "y"]);
  });

  test("typed arrays and class instances are leaves", () => {
    let calls = 0;
    const counting = (v: unknown): Key | undefined => {
      calls++;
      return keyOf(v);
    };
    class Box {
      inner = new Fut("hidden");
    }
    const box = new Box();
    const arr = new Float64Array(1000);
    const out = encodeArgs([arr, box], counting);
    expect(out.args[0]).toBe(arr);
    expect(out.args[1]).toBe(box);
    expect(out.deps).toEqual([]);
    // The typed array is not even offered to keyOf; the instance is, but not walked into.
    expect(calls).toBe(1);
  });

  test("a cyclic argument fails clearly", () => {
    const a: unknown[] = [];
    a.push(a);
    expect(() => encodeArgs([a], keyOf)).toThrow(SerializationError);
    expect(() => encodeArgs([a], keyOf)).toThrow("skein: task arguments nested deeper than 1000 levels (a cyclic structure?)");
    // State is reset after a failure.
    expect(encodeArgs([new Fut("q")], keyOf).deps).toEqual(["q"]);
  });
});
