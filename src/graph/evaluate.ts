/**
 * Worker side: run a RunSpec against the values of its dependencies. KeyRefs are replaced by
 * values (copying only the containers that hold refs), nested Calls run innermost first, and
 * async functions are awaited.
 */
import { SkeinError } from "../errors.js";
import { loadFunction, loadFunctionCached } from "../functions/load.js";
import { noteCall } from "../functions/thread-bound.js";
import { Call, KeyRef, type FnRef, type Key, type RunSpec } from "./spec.js";
import { isPlainObject } from "../plain.js";

// Walk state, module-level so the walk needs no closure (substitute is synchronous).
const EMPTY: ReadonlyMap<Key, unknown> = new Map();
let data = EMPTY;
let sawCall = false;

function missing(key: Key): never {
  throw new SkeinError(`skein worker: task argument refers to key "${key}", which is not in local data`);
}

function sub(v: unknown): unknown {
  if (typeof v !== "object" || v === null) return v;
  if (v instanceof KeyRef) {
    const x = data.get(v.key);
    if (x === undefined && !data.has(v.key)) missing(v.key);
    return x;
  }
  if (ArrayBuffer.isView(v)) return v;
  if (Array.isArray(v)) return subArray(v);
  if (v instanceof Call) {
    sawCall = true;
    const args = subArray(v.args);
    return args === v.args ? v : new Call(v.fn, args);
  }
  if (v instanceof Map) {
    let out: Map<unknown, unknown> | null = null;
    for (const [k, x] of v) {
      const e = sub(x);
      if (e !== x && out === null) out = new Map(v);
      if (out !== null) out.set(k, e);
    }
    return out ?? v;
  }
  if (isPlainObject(v)) {
    const rec = v as Record<string, unknown>;
    let out: Record<string, unknown> | null = null;
    for (const k of Object.keys(rec)) {
      const x = rec[k];
      const e = sub(x);
      if (e !== x && out === null) out = { ...rec };
      if (out !== null) out[k] = e;
    }
    return out ?? v;
  }
  return v;
}

function subArray(a: readonly unknown[]): readonly unknown[] {
  let out: unknown[] | null = null;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const e = sub(x);
    if (e !== x && out === null) out = a.slice();
    if (out !== null) out[i] = e;
  }
  return out ?? a;
}

function substituteTracked<T>(value: T, values: ReadonlyMap<Key, unknown>): T {
  data = values;
  sawCall = false;
  try {
    return sub(value) as T;
  } finally {
    data = EMPTY;
  }
}

/**
 * `value` with every KeyRef replaced by its entry in `values` (deep through arrays, plain
 * objects, Maps and Call arguments). Containers without refs are returned as they are.
 */
export function substitute<T>(value: T, values: ReadonlyMap<Key, unknown>): T {
  return substituteTracked(value, values);
}

async function callFn(ref: FnRef, args: readonly unknown[]): Promise<unknown> {
  return await call(loadFunctionCached(ref) ?? (await loadFunction(ref)), args);
}

function call(fn: Function, args: readonly unknown[]): unknown {
  noteCall(fn);
  return (fn as (...a: unknown[]) => unknown)(...args);
}

/**
 * Evaluates an argument tree that contains Calls: KeyRefs become values (which are leaves: a
 * dependency's value is never walked), Calls run innermost first. Only used when a Call is
 * present, so the common path stays synchronous.
 */
async function evalTree(v: unknown, values: ReadonlyMap<Key, unknown>): Promise<unknown> {
  if (typeof v !== "object" || v === null || ArrayBuffer.isView(v)) return v;
  if (v instanceof KeyRef) {
    const x = values.get(v.key);
    if (x === undefined && !values.has(v.key)) missing(v.key);
    return x;
  }
  if (v instanceof Call) return callFn(v.fn, (await evalTree(v.args, values)) as unknown[]);
  if (Array.isArray(v)) {
    let out: unknown[] | null = null;
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      const e = await evalTree(x, values);
      if (e !== x && out === null) out = v.slice();
      if (out !== null) out[i] = e;
    }
    return out ?? v;
  }
  if (v instanceof Map) {
    let out: Map<unknown, unknown> | null = null;
    for (const [k, x] of v) {
      const e = await evalTree(x, values);
      if (e !== x && out === null) out = new Map(v);
      if (out !== null) out.set(k, e);
    }
    return out ?? v;
  }
  if (isPlainObject(v)) {
    const rec = v as Record<string, unknown>;
    let out: Record<string, unknown> | null = null;
    for (const k of Object.keys(rec)) {
      const x = rec[k];
      const e = await evalTree(x, values);
      if (e !== x && out === null) out = { ...rec };
      if (out !== null) out[k] = e;
    }
    return out ?? v;
  }
  return v;
}

/**
 * The value of a task: `fn(...args)` with KeyRefs replaced by `values` and nested Calls run
 * first; for `fn: null`, the substituted `args[0]`.
 */
export async function evaluateRun(run: RunSpec, values: ReadonlyMap<Key, unknown>): Promise<unknown> {
  return startRun(run, values);
}

/**
 * evaluateRun without its promise where none is needed: a synchronous function whose module is
 * loaded runs at once and its value comes back as is (errors are thrown); otherwise a promise.
 * A caller timing the task then times the call, not the microtasks queued before its own.
 */
export function startRun(run: RunSpec, values: ReadonlyMap<Key, unknown>): unknown {
  const args = substituteTracked(run.args, values);
  if (sawCall) return evalTree(run.args, values).then((a) => (run.fn === null ? (a as unknown[])[0] : callFn(run.fn, a as unknown[])));
  if (run.fn === null) return args[0];
  const fn = loadFunctionCached(run.fn);
  return fn === undefined ? loadFunction(run.fn).then((f) => call(f, args)) : call(fn, args);
}
