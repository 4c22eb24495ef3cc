/** groupBy().agg() as a tree reduction and describe(), against a direct computation. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "../src/index.js";
import { fromPartitions, makePartition, type FramePartition } from "../src/data/index.js";

let client: Client;

beforeAll(async () => {
  client = await Client.connect({ processes: false, nWorkers: 2 });
});

afterAll(async () => {
  await client?.close();
});

/** Rows i in [from, from + n): g = i % 3, h = "h" + (i % 2), v = i (NaN when i % 11 == 0). */
function part(from: number, n: number): FramePartition {
  const g = new Int32Array(n);
  const h: string[] = [];
  const v = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const i = from + k;
    g[k] = i % 3;
    h.push(`h${i % 2}`);
    v[k] = i % 11 === 0 ? NaN : i;
  }
  return makePartition({ g, h, v });
}

function stats(xs: number[]) {
  const n = xs.length;
  const sum = xs.reduce((a, x) => a + x, 0);
  const mean = sum / n;
  const m2 = xs.reduce((a, x) => a + (x - mean) ** 2, 0);
  return { count: n, sum, mean, std: Math.sqrt(m2 / (n - 1)), min: Math.min(...xs), max: Math.max(...xs) };
}

describe("groupBy", () => {
  it("aggregates across 20 partitions (tree of fan-in 8), empty ones included", async () => {
    const parts = Array.from({ length: 20 }, (_, i) => part(i * 50, i % 7 === 3 ? 0 : 50));
    const f = await fromPartitions(parts, { client });
    const res = await f.groupBy("g").agg({ v: ["count", "sum", "mean", "std", "min", "max"] }).compute();
    expect(Array.from(res.columns.get("g") as Int32Array)).toEqual([0, 1, 2]);
    for (let g = 0; g < 3; g++) {
      const xs: number[] = [];
      parts.forEach((p) => {
        const gg = p.columns.get("g") as Int32Array;
        const v = p.columns.get("v") as Float64Array;
        for (let k = 0; k < p.rows; k++) if (gg[k] === g && v[k] === v[k]) xs.push(v[k]);
      });
      const s = stats(xs);
      expect((res.columns.get("v_count") as Float64Array)[g]).toBe(s.count);
      expect((res.columns.get("v_sum") as Float64Array)[g]).toBe(s.sum);
      expect((res.columns.get("v_mean") as Float64Array)[g]).toBeCloseTo(s.mean, 10);
      expect((res.columns.get("v_std") as Float64Array)[g]).toBeCloseTo(s.std, 8);
      expect((res.columns.get("v_min") as Float64Array)[g]).toBe(s.min);
      expect((res.columns.get("v_max") as Float64Array)[g]).toBe(s.max);
    }
  });

  it("groups by several columns, strings included, sorted by key", async () => {
    const f = await fromPartitions([part(0, 12), part(12, 0), part(12, 6)], { client });
    const res = await f.groupBy(["h", "g"]).agg({ v: "max" }).compute();
    expect(res.columns.get("h")).toEqual(["h0", "h0", "h0", "h1", "h1", "h1"]);
    expect(Array.from(res.columns.get("g") as Int32Array)).toEqual([0, 1, 2, 0, 1, 2]);
    expect(Array.from(res.columns.get("v") as Float64Array)).toEqual([12, 16, 14, 15, 13, 17]);
  });

  it("describes numeric columns; refuses strings and unknown statistics", async () => {
    const f = await fromPartitions([part(1, 10), part(11, 0)], { client });
    const d = await f.describe().compute();
    expect(d.columns.get("stat")).toEqual(["count", "mean", "std", "min", "max"]);
    const s = stats([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(Array.from(d.columns.get("g") as Float64Array).slice(0, 2)).toEqual([10, 1]);
    const v = Array.from(d.columns.get("v") as Float64Array);
    expect(v[0]).toBe(10);
    expect(v[1]).toBe(s.mean);
    expect(v[2]).toBeCloseTo(s.std, 12);
    expect([v[3], v[4]]).toEqual([1, 10]);
    expect(() => f.groupBy("g").agg({ h: "sum" })).toThrow('skein data: agg: column "h" holds strings, not numbers');
    expect(() => f.groupBy("g").agg({ v: "median" as "sum" })).toThrow('skein data: agg: unknown statistic "median" for column "v" (use sum, mean, count, min, max, std)');
    expect(() => f.groupBy("zz")).toThrow('skein data: no column "zz" (columns: g, h, v)');
  });
});
