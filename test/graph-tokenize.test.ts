import { describe, expect, test } from "vitest";
import { Call, KeyRef } from "../src/graph/spec.js";
import { tokenize, uniqueKey } from "../src/graph/tokenize.js";

const HEX16 = /^[0-9a-f]{16}$/;

describe("tokenize", () => {
  test("16 hex digits, equal for equal contents", () => {
    const t = tokenize({ module: "file:///m.ts", name: "inc" }, [1, "a", { b: [2, 3] }]);
    expect(t).toMatch(HEX16);
    expect(tokenize({ name: "inc", module: "file:///m.ts" }, [1, "a", { b: [2, 3] }])).toBe(t);
    expect(tokenize()).toMatch(HEX16);
  });

  test("object key order does not matter, Map order does", () => {
    expect(tokenize({ a: 1, b: 2 })).toBe(tokenize({ b: 2, a: 1 }));
    const m1 = new Map([["a", 1], ["b", 2]]);
    const m2 = new Map([["b", 2], ["a", 1]]);
    expect(tokenize(m1)).toBe(tokenize(new Map(m1)));
    expect(tokenize(m1)).not.toBe(tokenize(m2));
  });

  test("types are told apart", () => {
    const values: unknown[] = [
      1, "1", [1], { 0: 1 }, true, false, null, undefined, 1n, 0, -0, NaN, "", [], {}, [[]], [undefined],
      new KeyRef("x"), { key: "x" }, "x",
      new Call({ module: "m", name: "f" }, [1]), { fn: { module: "m", name: "f" }, args: [1] },
      new Float64Array([1, 2]), new Float32Array([1, 2]), [1, 2], new Uint8Array([1, 2]), new Int8Array([1, 2]),
      new Set([1]), new Map([[1, 1]]), new Date(5), 5, /a/g, /a/,
    ];
    const tokens = values.map((v) => tokenize(v));
    expect(new Set(tokens).size).toBe(values.length);
    expect(tokenize(1, 2)).not.toBe(tokenize([1, 2]));
    expect(tokenize("ab", "c")).not.toBe(tokenize("a", "bc"));
  });

  test("typed arrays hash by content, whatever the view offset", () => {
    const a = new Float64Array([1.5, 2.5, 3.5]);
    expect(tokenize(a)).toBe(tokenize(Float64Array.from(a)));
    expect(tokenize(a)).not.toBe(tokenize(new Float64Array([1.5, 2.5, 3.25])));
    const bytes = new Uint8Array([9, 1, 2, 3, 4, 5, 6, 7]);
    const unaligned = bytes.subarray(1, 8); // byteOffset 1, 7 bytes: word path + tail
    expect(tokenize(unaligned)).toBe(tokenize(new Uint8Array([1, 2, 3, 4, 5, 6, 7])));
    expect(tokenize(unaligned)).not.toBe(tokenize(new Uint8Array([1, 2, 3, 4, 5, 6, 8])));
    expect(tokenize(new Uint8Array([1, 2, 3]).buffer)).toBe(tokenize(new Uint8Array([1, 2, 3]).buffer));
  });

  test("class instances include the class name", () => {
    class A {
      x = 1;
    }
    class B {
      x = 1;
    }
    expect(tokenize(new A())).toBe(tokenize(new A()));
    expect(tokenize(new A())).not.toBe(tokenize(new B()));
    expect(tokenize(new A())).not.toBe(tokenize({ x: 1 }));
  });

  test("cycles terminate and shared (non-cyclic) values hash like copies", () => {
    const a: unknown[] = [1];
    a.push(a);
    const b: unknown[] = [1];
    b.push(b);
    expect(tokenize(a)).toBe(tokenize(b));
    const shared = { v: 1 };
    expect(tokenize([shared, shared])).toBe(tokenize([{ v: 1 }, { v: 1 }]));
  });

  test("no collisions among 100,000 small integers and strings", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 50_000; i++) {
      seen.add(tokenize(i));
      seen.add(tokenize(`x${i}`));
    }
    expect(seen.size).toBe(100_000);
  });

  test("NaN hashes the same whatever its payload", () => {
    const weird = new Float64Array(new Uint32Array([1, 0x7ff80000]).buffer)[0];
    expect(tokenize(weird)).toBe(tokenize(NaN));
  });
});

describe("uniqueKey", () => {
  test("fresh keys with the name as prefix", () => {
    const a = uniqueKey("inc");
    const b = uniqueKey("inc");
    expect(a).toMatch(/^inc-[0-9a-f]{16}$/);
    expect(b).toMatch(/^inc-[0-9a-f]{16}$/);
    expect(a).not.toBe(b);
  });
});
