/**
 * Dask-style raw graphs: `{ x: 1, y: [inc, "x"], z: [add, "x", "y"], w: ["x", "y"] }`.
 *
 * Rules (as dask's): an array whose first element is a function is a task, and nested task
 * arrays inside arguments become Calls; a string equal to a key of the graph is a reference
 * (KeyRef) wherever it appears in an argument list or list; any other value is a literal.
 * A top-level value that is not a task gives a `fn: null` task (a literal, an alias, a list).
 */
import { FunctionReferenceError } from "../errors.js";
import { Call, KeyRef, type FnRef, type Key } from "./spec.js";
import type { NormalizedTask } from "./task.js";

export type { NormalizedTask } from "./task.js";

export type RawGraph = Readonly<Record<string, unknown>>;
export type Locate = (fn: Function) => FnRef;

const hasOwn = Object.prototype.hasOwnProperty;

class Normalizer {
  deps: Key[] = [];
  private seen = new Set<Key>();

  constructor(
    private readonly graph: RawGraph,
    private readonly locate: Locate,
    private readonly taskKey: Key,
  ) {}

  fnRef(fn: Function): FnRef {
    try {
      return this.locate(fn);
    } catch (err) {
      if (err instanceof FunctionReferenceError) {
        throw new FunctionReferenceError(`${err.message} (in task "${this.taskKey}")`, { cause: err });
      }
      throw err;
    }
  }

  arg(v: unknown): unknown {
    if (typeof v === "string") {
      if (!hasOwn.call(this.graph, v)) return v;
      if (!this.seen.has(v)) {
        this.seen.add(v);
        this.deps.push(v);
      }
      return new KeyRef(v);
    }
    if (!Array.isArray(v)) return v;
    if (v.length > 0 && typeof v[0] === "function") return new Call(this.fnRef(v[0] as Function), this.list(v, 1));
    return this.list(v, 0);
  }

  list(a: readonly unknown[], from: number): unknown[] {
    const out = new Array<unknown>(a.length - from);
    for (let i = from; i < a.length; i++) out[i - from] = this.arg(a[i]);
    return out;
  }
}

/** Normalizes every entry of `graph`; `locate` names functions (locateFunction in practice). */
export function normalizeGraph(graph: RawGraph, locate: Locate): NormalizedTask[] {
  const tasks: NormalizedTask[] = [];
  for (const key of Object.keys(graph)) {
    const v = graph[key];
    const n = new Normalizer(graph, locate, key);
    if (Array.isArray(v) && v.length > 0 && typeof v[0] === "function") {
      const fn = n.fnRef(v[0] as Function);
      const args = n.list(v, 1);
      tasks.push({ key, fn, args, deps: n.deps });
    } else {
      const value = n.arg(v);
      tasks.push({ key, fn: null, args: [value], deps: n.deps });
    }
  }
  return tasks;
}
