import { describe, expect, test } from "vitest";
import { GraphError } from "../src/errors.js";
import type { Key } from "../src/graph/spec.js";
import { validateGraph } from "../src/graph/validate.js";

const graph = (o: Record<string, Key[]>): Map<Key, Key[]> => new Map(Object.entries(o));

function message(f: () => void): string {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(GraphError);
    return (err as Error).message;
  }
  throw new Error("expected a GraphError");
}

describe("validateGraph", () => {
  test("accepts valid graphs, with dependencies known outside the graph", () => {
    expect(() => validateGraph(graph({ x: [], y: ["x"], z: ["x", "y"] }))).not.toThrow();
    expect(() => validateGraph(graph({ y: ["held"] }), (k) => k === "held")).not.toThrow();
    expect(() => validateGraph(new Map())).not.toThrow();
  });

  test("missing keys", () => {
    expect(message(() => validateGraph(graph({ x: [], z: ["x", "q"] })))).toBe(
      'skein graph: task "z" depends on missing key "q"',
    );
    const many = graph({ a: ["m1", "m2"], b: ["m3"], c: ["m4", "m5", "m6"], d: ["m7"] });
    expect(message(() => validateGraph(many))).toBe(
      'skein graph: task "a" depends on missing key "m1"; task "a" depends on missing key "m2"; ' +
        'task "b" depends on missing key "m3"; task "c" depends on missing key "m4"; ' +
        'task "c" depends on missing key "m5"; and 2 more missing dependencies',
    );
  });

  test("cycles print their path", () => {
    expect(message(() => validateGraph(graph({ a: ["b"], b: ["c"], c: ["a"] })))).toBe(
      "skein graph: cycle between tasks a -> b -> c -> a",
    );
    expect(message(() => validateGraph(graph({ x: [], a: ["a"] })))).toBe("skein graph: cycle between tasks a -> a");
    // The cycle is found even when the DFS enters it from outside.
    expect(message(() => validateGraph(graph({ top: ["p"], p: ["q", "x"], x: [], q: ["r"], r: ["p"] })))).toBe(
      "skein graph: cycle between tasks p -> q -> r -> p",
    );
    expect(message(() => validateGraph(graph({ "a b": ["c"], c: ["a b"] })))).toBe(
      'skein graph: cycle between tasks "a b" -> c -> "a b"',
    );
  });

  test("a 1,000,000-task chain: valid, then closed into a cycle", () => {
    const n = 1_000_000;
    const deps = new Map<Key, Key[]>();
    deps.set("c-0", []);
    for (let i = 1; i < n; i++) deps.set(`c-${i}`, [`c-${i - 1}`]);
    expect(() => validateGraph(deps)).not.toThrow();

    deps.set("c-0", [`c-${n - 1}`]);
    const first = ["c-0"];
    for (let i = n - 1; first.length < 10; i--) first.push(`c-${i}`);
    const last: string[] = [];
    for (let i = 9; i >= 1; i--) last.push(`c-${i}`);
    last.push("c-0");
    expect(message(() => validateGraph(deps))).toBe(
      `skein graph: cycle between tasks ${first.join(" -> ")} -> ... (${n + 1 - 20} more) ... -> ${last.join(" -> ")}`,
    );
  });

  test("a 1,000,000-task tree reduction", () => {
    const deps = new Map<Key, Key[]>();
    let level: Key[] = [];
    for (let i = 0; i < 500_000; i++) {
      deps.set(`leaf-${i}`, []);
      level.push(`leaf-${i}`);
    }
    for (let l = 1; level.length > 1; l++) {
      const up: Key[] = [];
      for (let i = 0; i < level.length; i += 2) {
        const k = `sum-${l}-${i >> 1}`;
        deps.set(k, level.slice(i, i + 2));
        up.push(k);
      }
      level = up;
    }
    expect(deps.size).toBeGreaterThan(999_000);
    expect(() => validateGraph(deps)).not.toThrow();
  });
});
