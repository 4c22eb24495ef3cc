/**
 * The per-thread wasm arena for float64 scratch columns (src/data/f64-arena.ts) and the
 * byte-pool functions on top of it.
 */
import { describe, expect, it } from "vitest";
import { F64Arena, scratchArena } from "../src/data/f64-arena.js";
import { giveF64, takeF64 } from "../src/data/byte-pool.js";

const PAGE = 65536;

describe("F64Arena", () => {
  it("hands out page-aligned regions of its one memory, reuses what comes back, merges neighbours", () => {
    const arena = new F64Arena(8 * PAGE);
    const a = arena.take(10) as Float64Array;
    const b = arena.take(PAGE / 8 + 1) as Float64Array; // two pages
    const c = arena.take(3) as Float64Array;
    expect([a.byteOffset, b.byteOffset, c.byteOffset]).toEqual([0, PAGE, 3 * PAGE]);
    expect([a.length, b.length, c.length]).toEqual([10, PAGE / 8 + 1, 3]);
    expect(a.buffer).toBe(arena.memory?.buffer);
    expect(arena.offsetOf(b)).toBe(PAGE);
    expect(arena.offsetOf(new Float64Array(4))).toBe(-1);
    expect(arena.takenBytes()).toBe(4 * PAGE);

    // a and b merge into one free region of three pages, which a three-page request reuses.
    expect(arena.give(a)).toBe(true);
    expect(arena.give(b)).toBe(true);
    const d = arena.take((3 * PAGE) / 8) as Float64Array;
    expect(d.byteOffset).toBe(0);
    // Best fit: a one-page request goes to the freed top (c), not into a bigger hole.
    arena.give(c);
    const e = arena.take(1) as Float64Array;
    expect(e.byteOffset).toBe(3 * PAGE);
    arena.give(d);
    arena.give(e);
    expect(arena.takenBytes()).toBe(0);
    // Everything merged back: one request takes it all again (all but the last page, which
    // holds the kernels' tail).
    expect((arena.take((7 * PAGE) / 8) as Float64Array).byteOffset).toBe(0);
    expect(arena.take(1)).toBeUndefined();
  });

  it("returns undefined when a request does not fit, and keeps earlier views valid", () => {
    const arena = new F64Arena(4 * PAGE);
    const a = arena.take(PAGE / 8) as Float64Array;
    a.fill(7);
    expect(arena.take((4 * PAGE) / 8)).toBeUndefined();
    expect(arena.take((2 * PAGE) / 8)).toBeDefined();
    expect(a[0] + a[a.length - 1]).toBe(14);
  });

  it("ignores views it did not hand out, and a second give of the same view", () => {
    const arena = new F64Arena(4 * PAGE);
    const a = arena.take(100) as Float64Array;
    expect(arena.give(new Float64Array(100))).toBe(false); // not the arena's memory
    expect(arena.give(a.subarray(8))).toBe(true); // the arena's, but not a region start: ignored
    expect(arena.takenBytes()).toBe(PAGE);
    arena.give(a);
    arena.give(a);
    expect(arena.takenBytes()).toBe(0);
    expect((arena.take(1) as Float64Array).byteOffset).toBe(0);
    expect(arena.take(1)).toBeDefined();
  });

  it("hands out nothing when its memory cannot be made (here: more than wasm's 4 GiB)", () => {
    const arena = new F64Arena(2 ** 40);
    expect(arena.memory).toBeUndefined();
    expect(arena.take(1)).toBeUndefined();
    expect(arena.give(new Float64Array(1))).toBe(false);
    expect(arena.offsetOf(new Float64Array(1))).toBe(-1);
  });
});

describe("takeF64 / giveF64", () => {
  it("come from this thread's arena and go back to it", () => {
    const before = scratchArena().takenBytes();
    const a = takeF64(1000);
    expect(scratchArena().offsetOf(a)).toBeGreaterThanOrEqual(0);
    expect(scratchArena().takenBytes()).toBe(before + PAGE);
    giveF64(a);
    giveF64(new Float64Array(3)); // someone else's: ignored
    expect(scratchArena().takenBytes()).toBe(before);
  });
});
