/**
 * From user arguments to an argument tree: values that stand for a key (Futures, Delayed) are
 * replaced by KeyRefs, and the keys become the task's dependencies.
 */
import { SerializationError } from "../errors.js";
import { Call, KeyRef, type Key } from "./spec.js";
import { isPlainObject } from "../plain.js";

export interface EncodedArgs {
  readonly args: unknown[];
  readonly deps: Key[];
}

type KeyOf = (v: unknown) => Key | undefined;

const MAX_DEPTH = 1000;

// Walk state, module-level so the walk needs no closure. encodeArgs is not re-entrant
// (keyOf must not call it), which holds for Futures and Delayed.
const none: KeyOf = () => undefined;
let keyOf: KeyOf = none;
let deps: Key[] | null = null;
let seen: Set<Key> | null = null;

function addDep(key: Key): void {
  if (deps === null) {
    deps = [key];
    seen = new Set([key]);
  } else if (!seen!.has(key)) {
    seen!.add(key);
    deps.push(key);
  }
}

/** Returns `v` itself when nothing inside it stands for a key, else a copy with KeyRefs. */
function encode(v: unknown, depth: number): unknown {
  if (typeof v !== "object" || v === null) return v;
  if (ArrayBuffer.isView(v)) return v;
  const key = keyOf(v);
  if (key !== undefined) {
    addDep(key);
    return new KeyRef(key);
  }
  if (v instanceof KeyRef) {
    addDep(v.key);
    return v;
  }
  if (depth > MAX_DEPTH) {
    throw new SerializationError(`skein: task arguments nested deeper than ${MAX_DEPTH} levels (a cyclic structure?)`);
  }
  if (Array.isArray(v)) return encodeArray(v, depth);
  if (v instanceof Call) {
    const args = encodeArray(v.args, depth);
    return args === v.args ? v : new Call(v.fn, args);
  }
  if (v instanceof Map) {
    let out: Map<unknown, unknown> | null = null;
    for (const [k, x] of v) {
      const e = encode(x, depth + 1);
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
      const e = encode(x, depth + 1);
      if (e !== x && out === null) out = { ...rec };
      if (out !== null) out[k] = e;
    }
    return out ?? v;
  }
  return v;
}

function encodeArray(a: readonly unknown[], depth: number): readonly unknown[] {
  let out: unknown[] | null = null;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const e = encode(x, depth + 1);
    if (e !== x && out === null) out = a.slice();
    if (out !== null) out[i] = e;
  }
  return out ?? a;
}

/**
 * Replaces every value for which `keyOfValue` returns a key by a KeyRef (deep, through arrays,
 * plain objects, Maps and Calls; typed arrays are leaves). KeyRefs already present count as
 * dependencies too. Returns `args` itself, uncopied, when nothing was replaced; `deps` are
 * de-duplicated in first-seen order.
 */
export function encodeArgs(args: readonly unknown[], keyOfValue: KeyOf): EncodedArgs {
  keyOf = keyOfValue;
  deps = null;
  seen = null;
  try {
    const out = encodeArray(args, 0) as unknown[];
    return { args: out, deps: deps ?? [] };
  } finally {
    keyOf = none;
    deps = null;
    seen = null;
  }
}
