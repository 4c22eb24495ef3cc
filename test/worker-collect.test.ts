/**
 * When a worker asks for a full garbage collection (src/worker/collect.ts): once enough bytes of
 * results were released, at most once per interval.
 */
import { describe, expect, it } from "vitest";
import { CollectPolicy, DEFAULT_COLLECT } from "../src/worker/collect.js";

describe("CollectPolicy", () => {
  it("is due once the released bytes reach the threshold, then counts afresh", () => {
    const p = new CollectPolicy({ thresholdBytes: 100, minIntervalMs: 10 });
    expect(p.released(60, 0)).toBe(false);
    expect(p.released(40, 1)).toBe(true);
    expect(p.released(99, 20)).toBe(false);
    expect(p.released(1, 21)).toBe(true);
  });

  it("waits out the interval, keeping the bytes released meanwhile", () => {
    const p = new CollectPolicy({ thresholdBytes: 100, minIntervalMs: 10 });
    expect(p.released(100, 0)).toBe(true);
    expect(p.released(500, 5)).toBe(false); // too soon
    expect(p.released(0, 9)).toBe(false);
    expect(p.released(0, 10)).toBe(true); // the 500 bytes are still owed
    expect(p.released(0, 30)).toBe(false);
  });

  it("spaces collections so that they take at most 5% of the time", () => {
    const p = new CollectPolicy({ thresholdBytes: 1, minIntervalMs: 10 });
    expect(p.released(1, 0)).toBe(true);
    p.collected(100); // a slow one: the next may come 1,900 ms later, not 10
    expect(p.released(1, 1000)).toBe(false);
    expect(p.released(1, 1899)).toBe(false);
    expect(p.released(1, 1900)).toBe(true);
    p.collected(0.1); // fast again: back to the minimum interval
    expect(p.released(1, 1910)).toBe(true);
  });

  it("defaults to 64 MiB and 500 ms", () => {
    expect(DEFAULT_COLLECT).toEqual({ thresholdBytes: 64 << 20, minIntervalMs: 500 });
    const p = new CollectPolicy();
    expect(p.released((64 << 20) - 1, 0)).toBe(false);
    expect(p.released(1, 0)).toBe(true);
  });
});
