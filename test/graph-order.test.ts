import { describe, expect, test } from "vitest";
import { GraphError } from "../src/errors.js";
import { compareKeys, orderGraph, planGraph } from "../src/graph/order.js";
import type { Key } from "../src/graph/spec.js";

const graph = (o: Record<string, Key[]>): Map<Key, Key[]> => new Map(Object.entries(o));

/** Keys by position; also checks that positions are exactly 0..n-1. */
function sequence(order: Map<Key, number>): Key[] {
  const seq = new Array<Key>(order.size);
  for (const [k, p] of order) {
    if (seq[p] !== undefined) throw new Error(`position ${p} given twice`);
    seq[p] = k;
  }
  return seq;
}

/**
 * Runs the tasks one at a time in `order` and returns the largest number of results held at
 * once: a result is held from its task's completion until its last dependent has run
 * (outputs are released as soon as they are computed).
 */
function peakHeld(deps: ReadonlyMap<Key, readonly Key[]>, order: Map<Key, number>): number {
  const waiting = new Map<Key, number>();
  for (const ds of deps.values()) for (const d of ds) waiting.set(d, (waiting.get(d) ?? 0) + 1);
  let held = 0;
  let peak = 0;
  for (const k of sequence(order)) {
    for (const d of deps.get(k)!) if (!deps.has(d)) throw new Error(`bad test graph: ${d}`);
    held++;
    peak = Math.max(peak, held);
    for (const d of deps.get(k)!) {
      const left = waiting.get(d)! - 1;
      waiting.set(d, left);
      if (left === 0) held--;
    }
    if (!waiting.has(k)) held--;
  }
  return peak;
}

/** A tree reduction over `leaves` tasks, pairwise; returns the graph and the root key. */
function treeReduction(leaves: number, withMap = false): { deps: Map<Key, Key[]>; root: Key } {
  const deps = new Map<Key, Key[]>();
  let level: Key[] = [];
  for (let i = 0; i < leaves; i++) {
    deps.set(`leaf-${i}`, []);
    if (withMap) {
      deps.set(`map-${i}`, [`leaf-${i}`]);
      level.push(`map-${i}`);
    } else level.push(`leaf-${i}`);
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
  return { deps, root: level[0] };
}

describe("compareKeys", () => {
  test("digit runs compare as numbers", () => {
    const keys = ["x-10", "x-9", "x-1", "b", "a", "x-100", "x-2a", "x-2", "x", "y-1", "x-02b"];
    expect(keys.sort(compareKeys)).toEqual(["a", "b", "x", "x-1", "x-2", "x-2a", "x-9", "x-02b", "x-10", "x-100", "y-1"]);
    expect(compareKeys("a", "a")).toBe(0);
    expect(Math.sign(compareKeys("sum-1-10", "sum-1-9"))).toBe(1);
    expect(Math.sign(compareKeys("ab", "a"))).toBe(1);
  });
});

describe("orderGraph", () => {
  test("a chain runs in dependency order", () => {
    const order = orderGraph(graph({ c: ["b"], b: ["a"], a: [] }));
    expect(sequence(order)).toEqual(["a", "b", "c"]);
    expect(order.get("a")).toBe(0);
  });

  test("every dependency runs before its dependents", () => {
    const deps = graph({ z: ["x", "y"], y: ["x"], x: [], w: ["z", "y"], v: [] });
    const order = orderGraph(deps);
    expect(order.size).toBe(5);
    for (const [k, ds] of deps) for (const d of ds) expect(order.get(d)!).toBeLessThan(order.get(k)!);
  });

  test("a tree reduction reduces pairwise before loading more leaves", () => {
    const { deps } = treeReduction(1024);
    const order = orderGraph(deps);
    expect(sequence(order).slice(0, 10)).toEqual([
      "leaf-0", "leaf-1", "sum-1-0", "leaf-2", "leaf-3", "sum-1-1", "sum-2-0", "leaf-4", "leaf-5", "sum-1-2",
    ]);
    // log2(1024) partial sums plus the pair being reduced.
    expect(peakHeld(deps, order)).toBeLessThanOrEqual(12);
  });

  test("independent chains run one after the other", () => {
    const deps = new Map<Key, Key[]>();
    // Inserted interleaved, so the order is not just insertion order.
    for (let i = 0; i < 5; i++) for (const c of ["a", "b", "c"]) deps.set(`${c}-${i}`, i === 0 ? [] : [`${c}-${i - 1}`]);
    const seq = sequence(orderGraph(deps));
    expect(seq).toEqual([
      "a-0", "a-1", "a-2", "a-3", "a-4",
      "b-0", "b-1", "b-2", "b-3", "b-4",
      "c-0", "c-1", "c-2", "c-3", "c-4",
    ]);
    // A chain step holds its input and its output.
    expect(peakHeld(deps, orderGraph(deps))).toBe(2);
  });

  test("the heavier dependency runs first", () => {
    // z reads a long chain and a single leaf: the chain first, so the leaf is not held while it runs.
    const deps = graph({ z: ["leaf", "c3"], leaf: [], c1: [], c2: ["c1"], c3: ["c2"] });
    expect(sequence(orderGraph(deps))).toEqual(["c1", "c2", "c3", "leaf", "z"]);
  });

  test("a shared input is computed once, before its first user", () => {
    const deps = graph({ out1: ["model", "d1"], out2: ["model", "d2"], model: [], d1: [], d2: [] });
    expect(sequence(orderGraph(deps))).toEqual(["d1", "model", "out1", "d2", "out2"]);
  });

  test("keys outside the graph are ignored", () => {
    expect(sequence(orderGraph(graph({ b: ["held", "a"], a: [] })))).toEqual(["a", "b"]);
  });

  test("cycles do not hang: every task still gets a position", () => {
    const order = orderGraph(graph({ a: ["b"], b: ["a"], c: [] }));
    expect(new Set(order.values())).toEqual(new Set([0, 1, 2]));
  });

  test("a 1,000,000-task map + tree reduction", () => {
    const { deps, root } = treeReduction(333_334, true);
    expect(deps.size).toBeGreaterThanOrEqual(1_000_000);
    const order = planGraph(deps);
    expect(order.size).toBe(deps.size);
    expect(order.get(root)).toBe(deps.size - 1);
    expect(sequence(order).slice(0, 7)).toEqual(["leaf-0", "map-0", "leaf-1", "map-1", "sum-1-0", "leaf-2", "map-2"]);
    expect(peakHeld(deps, order)).toBeLessThanOrEqual(21);
  });

  test("a 1,000,000-task chain", () => {
    const deps = new Map<Key, Key[]>([["c-0", []]]);
    for (let i = 1; i < 1_000_000; i++) deps.set(`c-${i}`, [`c-${i - 1}`]);
    const order = orderGraph(deps);
    expect(order.get("c-0")).toBe(0);
    expect(order.get("c-999999")).toBe(999_999);
  });
});

describe("planGraph", () => {
  test("validates and orders in one pass", () => {
    expect(sequence(planGraph(graph({ y: ["x", "held"], x: [] }), (k) => k === "held"))).toEqual(["x", "y"]);
    expect(() => planGraph(graph({ y: ["q"] }))).toThrow(new GraphError('skein graph: task "y" depends on missing key "q"'));
    expect(() => planGraph(graph({ a: ["b"], b: ["a"] }))).toThrow("skein graph: cycle between tasks a -> b -> a");
  });
});
