/**
 * The bookkeeping that decides which lone tasks a worker runs on its own event loop.
 */
import { describe, expect, it } from "vitest";
import { threadBound } from "../src/index.js";
import { noteCall, threadBoundCalls } from "../src/functions/thread-bound.js";
import { InlinePolicy } from "../src/worker/inline-policy.js";

const key = (prefix: string, i = 0) => `${prefix}-${(0xabc00000 + i).toString(16)}`;

describe("InlinePolicy", () => {
  it("allows a prefix after `streak` tiny runs in a row, in any key of that prefix", () => {
    const p = new InlinePolicy({ tinyMs: 1, streak: 3 });
    expect(p.allows(key("inc"))).toBe(false);
    p.observe(key("inc", 1), 0.1, false, false);
    p.observe(key("inc", 2), 0.1, false, false);
    expect(p.allows(key("inc", 9))).toBe(false);
    p.observe(key("inc", 3), 1, false, false);
    expect(p.allows(key("inc", 9))).toBe(true);
    expect(p.allows(key("add", 9))).toBe(false);
  });

  it("starts the streak over after a slower run, in a thread or inline", () => {
    const p = new InlinePolicy({ tinyMs: 1, streak: 2, barMs: 20 });
    for (const ms of [0.1, 0.1]) p.observe(key("f"), ms, false, false);
    expect(p.allows(key("f"))).toBe(true);
    p.observe(key("f"), 1.5, true, false);
    expect(p.allows(key("f"))).toBe(false);
    for (const ms of [0.1, 0.1]) p.observe(key("f"), ms, false, false);
    expect(p.allows(key("f"))).toBe(true);
    p.observe(key("f"), 30, false, false); // long in a thread: only the streak goes
    expect(p.allows(key("f"))).toBe(false);
    for (const ms of [0.1, 0.1]) p.observe(key("f"), ms, false, false);
    expect(p.allows(key("f"))).toBe(true);
  });

  it("bars a prefix for good after an inline run longer than barMs", () => {
    const p = new InlinePolicy({ tinyMs: 1, streak: 1, barMs: 20 });
    p.observe(key("g"), 0.1, false, false);
    expect(p.allows(key("g"))).toBe(true);
    p.observe(key("g"), 21, true, false);
    for (let i = 0; i < 10; i++) p.observe(key("g"), 0.1, false, false);
    expect(p.allows(key("g"))).toBe(false);
  });

  it("bars a prefix whose run called a threadBound function", () => {
    const p = new InlinePolicy({ tinyMs: 1, streak: 1 });
    p.observe(key("h"), 0.1, false, true);
    for (let i = 0; i < 10; i++) p.observe(key("h"), 0.1, false, false);
    expect(p.allows(key("h"))).toBe(false);
  });

  it("keys without a hash suffix are their own prefix", () => {
    const p = new InlinePolicy({ tinyMs: 1, streak: 1 });
    p.observe("x-1", 0.1, false, false);
    expect(p.allows("x-1")).toBe(true);
    expect(p.allows("x-2")).toBe(false);
  });

  it("forgets everything past maxPrefixes instead of growing", () => {
    const p = new InlinePolicy({ tinyMs: 1, streak: 1, maxPrefixes: 3 });
    for (const name of ["a", "b", "c"]) p.observe(name, 0.1, false, false);
    expect(p.allows("a")).toBe(true);
    p.observe("d", 0.1, false, false);
    expect(p.allows("a")).toBe(false);
    expect(p.allows("d")).toBe(true);
  });

  it("is off with tinyMs 0", () => {
    const p = new InlinePolicy({ tinyMs: 0, streak: 1 });
    p.observe(key("i"), 0, false, false);
    expect(p.enabled).toBe(false);
    expect(p.allows(key("i"))).toBe(false);
  });

  it("refuses settings that make no sense", () => {
    expect(() => new InlinePolicy({ streak: 0 })).toThrow("skein worker: inline policy needs tinyMs >= 0, streak >= 1, barMs >= tinyMs (got 1, 0, 20)");
    expect(() => new InlinePolicy({ tinyMs: 5, barMs: 2 })).toThrow("(got 5, 4, 2)");
    expect(() => new InlinePolicy({ tinyMs: Number.NaN })).toThrow("(got NaN, 4, 20)");
  });
});

describe("threadBound", () => {
  it("counts calls of marked functions only, and refuses what is not a function", () => {
    function marked(): void {}
    function plain(): void {}
    threadBound(marked);
    const before = threadBoundCalls();
    noteCall(plain);
    expect(threadBoundCalls()).toBe(before);
    noteCall(marked);
    expect(threadBoundCalls()).toBe(before + 1);
    expect(() => threadBound(marked, 42 as unknown as Function)).toThrow("skein: threadBound takes functions, got number");
  });
});
