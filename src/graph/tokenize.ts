/**
 * Deterministic content hashes for task keys: equal inputs give equal tokens in every process,
 * so `pure` tasks with the same function and arguments share a key (and a result).
 *
 * Two 32-bit murmur3-style lanes over a stream of 32-bit words give a 64-bit hex token. Values
 * are fed with a type tag first so that e.g. `"1"`, `1`, `[1]` and `{0: 1}` differ; typed arrays
 * are hashed by their bytes; objects by sorted keys; KeyRef and Call are tagged apart from
 * plain objects with the same fields.
 */
import { randomBytes } from "node:crypto";
import { Call, KeyRef } from "./spec.js";

const enum Tag {
  Undefined = 1,
  Null,
  True,
  False,
  Number,
  String,
  BigInt,
  Array,
  Object,
  Map,
  Set,
  TypedArray,
  ArrayBuffer,
  Date,
  RegExp,
  KeyRef,
  Call,
  Function,
  Symbol,
  Cycle,
  Part,
}

// Hasher state: module-level so hashing allocates nothing per word. tokenize is synchronous
// and not re-entrant, which makes this safe.
let h1 = 0;
let h2 = 0;
let words = 0;
const f64 = new Float64Array(1);
const f64words = new Uint32Array(f64.buffer);
/** Objects on the current path, for cycles: object -> depth. */
const path = new Map<object, number>();

function word(w: number): void {
  let k = Math.imul(w, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  h1 ^= Math.imul(k, 0x1b873593);
  h1 = (h1 << 13) | (h1 >>> 19);
  h1 = (Math.imul(h1, 5) + 0xe6546b64) | 0;
  let j = Math.imul(w, 0x85ebca6b);
  j = (j << 16) | (j >>> 16);
  h2 ^= Math.imul(j, 0xc2b2ae35);
  h2 = (h2 << 17) | (h2 >>> 15);
  h2 = (Math.imul(h2, 9) + 0x38495ab5 + h1) | 0;
  words++;
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function str(s: string): void {
  const n = s.length;
  word(n);
  let i = 0;
  for (; i + 1 < n; i += 2) word(s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16));
  if (i < n) word(s.charCodeAt(i));
}

function num(x: number): void {
  if (x !== x) {
    word(0x7ff80000);
    word(0);
    return;
  }
  f64[0] = x;
  word(f64words[0]);
  word(f64words[1]);
}

function bytes(buffer: ArrayBufferLike, offset: number, length: number): void {
  word(length);
  const whole = length >>> 2;
  if ((offset & 3) === 0) {
    const u32 = new Uint32Array(buffer, offset, whole);
    for (let i = 0; i < whole; i++) word(u32[i]);
  } else {
    const u8 = new Uint8Array(buffer, offset, whole << 2);
    for (let i = 0; i < whole << 2; i += 4) word(u8[i] | (u8[i + 1] << 8) | (u8[i + 2] << 16) | (u8[i + 3] << 24));
  }
  const tail = new Uint8Array(buffer, offset + (whole << 2), length & 3);
  let last = 0;
  for (let i = 0; i < tail.length; i++) last |= tail[i] << (8 * i);
  if (tail.length > 0) word(last);
}

function value(v: unknown): void {
  switch (typeof v) {
    case "undefined":
      word(Tag.Undefined);
      return;
    case "boolean":
      word(v ? Tag.True : Tag.False);
      return;
    case "number":
      word(Tag.Number);
      num(v);
      return;
    case "string":
      word(Tag.String);
      str(v);
      return;
    case "bigint":
      word(Tag.BigInt);
      str(v.toString(16));
      return;
    case "symbol":
      word(Tag.Symbol);
      str(v.description ?? "");
      return;
    case "function":
      // Functions in arguments cannot travel anyway; hash by source so distinct ones differ.
      word(Tag.Function);
      str(v.name);
      str(v.toString());
      return;
    default:
      if (v === null) {
        word(Tag.Null);
        return;
      }
      object(v as object);
  }
}

function object(o: object): void {
  const depth = path.get(o);
  if (depth !== undefined) {
    word(Tag.Cycle);
    word(path.size - depth);
    return;
  }
  if (o instanceof KeyRef) {
    word(Tag.KeyRef);
    str(o.key);
    return;
  }
  if (ArrayBuffer.isView(o)) {
    word(Tag.TypedArray);
    str(o.constructor.name);
    bytes(o.buffer, o.byteOffset, o.byteLength);
    return;
  }
  if (o instanceof ArrayBuffer || (typeof SharedArrayBuffer !== "undefined" && o instanceof SharedArrayBuffer)) {
    word(Tag.ArrayBuffer);
    bytes(o, 0, o.byteLength);
    return;
  }
  if (o instanceof Date) {
    word(Tag.Date);
    num(o.getTime());
    return;
  }
  if (o instanceof RegExp) {
    word(Tag.RegExp);
    str(o.source);
    str(o.flags);
    return;
  }
  path.set(o, path.size);
  if (Array.isArray(o)) {
    word(Tag.Array);
    word(o.length);
    for (let i = 0; i < o.length; i++) value(o[i]);
  } else if (o instanceof Call) {
    word(Tag.Call);
    str(o.fn.module);
    str(o.fn.name);
    word(o.args.length);
    for (let i = 0; i < o.args.length; i++) value(o.args[i]);
  } else if (o instanceof Map) {
    // Insertion order is part of a Map's meaning (iteration order), so it is hashed as is.
    word(Tag.Map);
    word(o.size);
    for (const [k, v] of o) {
      value(k);
      value(v);
    }
  } else if (o instanceof Set) {
    word(Tag.Set);
    word(o.size);
    for (const v of o) value(v);
  } else {
    word(Tag.Object);
    const proto = Object.getPrototypeOf(o) as { constructor?: { name?: string } } | null;
    str(proto === null || proto === Object.prototype ? "" : (proto.constructor?.name ?? "?"));
    const keys = Object.keys(o).sort();
    word(keys.length);
    const rec = o as Record<string, unknown>;
    for (const k of keys) {
      str(k);
      value(rec[k]);
    }
  }
  path.delete(o);
}

/** 64-bit hex hash of `parts`, equal for equal contents in any process. */
export function tokenize(...parts: unknown[]): string {
  h1 = 0x9747b28c;
  h2 = 0x2545f491;
  words = 0;
  path.clear();
  try {
    for (let i = 0; i < parts.length; i++) {
      word(Tag.Part);
      value(parts[i]);
    }
  } finally {
    path.clear();
  }
  h1 ^= words;
  h2 ^= words;
  h1 = (h1 + h2) | 0;
  h2 = (h2 + h1) | 0;
  const a = fmix(h1);
  const b = fmix(h2);
  const c = (a + b) >>> 0;
  const d = (b + c) >>> 0;
  return c.toString(16).padStart(8, "0") + d.toString(16).padStart(8, "0");
}

// Unique keys: a random per-process prefix (so clients sharing a scheduler do not collide)
// plus a counter.
const processPrefix = randomBytes(4).toString("hex");
let counter = 0;

/** A fresh key for an impure task: `name-<16 hex>`, never repeated. */
export function uniqueKey(name: string): string {
  counter++;
  return `${name}-${processPrefix}${counter.toString(16).padStart(8, "0")}`;
}
