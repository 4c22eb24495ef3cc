/**
 * Result inspection: the plain-data check with its error paths, sizes, type names, and the
 * move of big typed arrays into shared memory (copy-on-write: inputs are never modified).
 */
import { Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { inspectValue, shareLargeArrays, sizeOf, typeName } from "../src/worker/values.js";

const plain = { sharedMinBytes: Infinity, transfer: false };

function problemOf(v: unknown): string | null {
  return inspectValue(v, plain).problem;
}

describe("inspectValue", () => {
  it("accepts plain data", () => {
    const v = { a: [1, "x", null, undefined, true, 3n], m: new Map<unknown, unknown>([["k", new Set([1])]]), d: new Date(0), f: new Float64Array(2) };
    expect(problemOf(v)).toBeNull();
    expect(problemOf(Object.create(null))).toBeNull();
  });

  it("names what cannot be sent and where", () => {
    expect(problemOf({ sock: new Socket() })).toBe("an instance of Socket at result.sock");
    expect(problemOf([1, { f: () => 1 }])).toBe("a function (f) at result[1].f");
    expect(problemOf({ "a b": [Symbol("s")] })).toBe('a symbol (Symbol(s)) at result["a b"][0]');
    expect(problemOf(new Map([["k", { p: Promise.resolve() }]]))).toBe('an instance of Promise at result.get("k").p');
    expect(problemOf(new Set([1, new WeakMap()]))).toBe("an instance of WeakMap at result.values()[1]");
    const cyclic: Record<string, unknown> = { a: {} };
    (cyclic.a as Record<string, unknown>).back = cyclic;
    expect(problemOf(cyclic)).toBe("a circular reference at result.a.back");
    class Point {
      x = 1;
    }
    expect(problemOf(new Point())).toBe("an instance of Point at result");
  });

  it("accepts shared (non-circular) references", () => {
    const shared = { n: 1 };
    expect(problemOf([shared, shared])).toBeNull();
  });

  it("measures typed arrays exactly", () => {
    expect(sizeOf(new Float64Array(1000))).toBe(8000);
    expect(sizeOf(new Float64Array(1000).subarray(10, 20))).toBe(80);
    expect(sizeOf({ a: new Uint8Array(100), b: new Int32Array(10) })).toBe(16 + 17 + 100 + 17 + 40);
  });

  it("gives short type names", () => {
    expect([1, "s", null, undefined, [], {}, new Map(), new Float32Array(1), 2n].map(typeName)).toEqual([
      "number", "string", "null", "undefined", "Array", "Object", "Map", "Float32Array", "bigint",
    ]);
  });

  it("lists whole buffers to transfer when asked", () => {
    const a = new Float64Array(4);
    const r = inspectValue({ a, b: a.subarray(1), c: new Uint8Array(8).subarray(2) }, { sharedMinBytes: Infinity, transfer: true });
    expect(r.transfer).toEqual([a.buffer]);
  });
});

describe("shareLargeArrays", () => {
  it("moves big typed arrays to shared memory without touching the original", () => {
    const big = new Float64Array(10_000).fill(2);
    const small = new Float64Array(4);
    const original = { x: { big, small }, list: [big], m: new Map([["b", big]]), s: new Set([big]) };
    const r = shareLargeArrays(original, 64 * 1024);
    const v = r.value as typeof original;
    expect(v).not.toBe(original);
    expect(original.x.big).toBe(big);
    expect(original.list[0]).toBe(big);
    expect(original.m.get("b")).toBe(big);
    expect(v.x.big.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(Array.from(v.x.big.subarray(0, 3))).toEqual([2, 2, 2]);
    expect(v.x.small).toBe(small);
    expect(v.list[0].buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(v.m.get("b")!.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect([...v.s][0].buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(r.nbytes).toBeGreaterThan(4 * 80_000);
  });

  it("keeps values with nothing to move as they are", () => {
    const v = { a: [1, 2], t: new Float64Array(3) };
    expect(shareLargeArrays(v, 64 * 1024).value).toBe(v);
    const shared = new Float64Array(new SharedArrayBuffer(800_000));
    expect(shareLargeArrays(shared, 1024).value).toBe(shared);
  });

  it("turns a big Buffer into a shared Uint8Array", () => {
    const r = shareLargeArrays(Buffer.alloc(100_000, 1), 1024).value as Uint8Array;
    expect(r.constructor).toBe(Uint8Array);
    expect(r.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(r.length).toBe(100_000);
  });
});
