/** Bag: JSON lines and text, per-record functions, reductions, toFrame. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "../src/index.js";
import { bagFromRecords, readJsonLines, readText } from "../src/data/index.js";
import { addNumbers, double, isOdd, plusValue, wordOf } from "./fixtures/data-tasks.js";

let client: Client;
let dir: string;

beforeAll(async () => {
  client = await Client.connect({ processes: false, nWorkers: 2 });
  dir = mkdtempSync(join(tmpdir(), "skein-data-bag-"));
  const words = ["apple", "pear", "apple", "fig", "apple", "pear"];
  for (let f = 0; f < 2; f++) {
    const lines = words.map((w, i) => JSON.stringify({ word: w, value: f * 10 + i }));
    writeFileSync(join(dir, `part-${f}.jsonl`), lines.join("\n") + "\n");
  }
  writeFileSync(join(dir, "text.txt"), "one\ntwo\r\nthree\n");
  writeFileSync(join(dir, "bad.jsonl"), '{"ok": 1}\n{nope\n');
});

afterAll(async () => {
  await client?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("Bag", () => {
  it("reads JSON lines and counts, plucks, takes", async () => {
    const b = await readJsonLines<{ word: string; value: number }>(join(dir, "part-*.jsonl"));
    expect(b.npartitions).toBe(2);
    expect(await b.count()).toBe(12);
    expect(await b.take(2)).toEqual([
      { word: "apple", value: 0 },
      { word: "pear", value: 1 },
    ]);
    const values = await b.pluck("value").compute();
    expect(values).toEqual([0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15]);
    const blocks = await readJsonLines(join(dir, "part-*.jsonl"), { blocksize: 16 });
    expect(blocks.npartitions).toBeGreaterThan(2);
    expect(await blocks.count()).toBe(12);
  });

  it("maps, filters, counts frequencies and folds by key", async () => {
    const b = await readJsonLines<{ word: string; value: number }>(join(dir, "part-*.jsonl"));
    expect(await b.pluck("value").map(double).filter(isOdd).count()).toBe(0);
    expect(await b.pluck("value").filter(isOdd).compute()).toEqual([1, 3, 5, 11, 13, 15]);
    expect(await b.map(wordOf).frequencies().compute()).toEqual([
      ["apple", 6],
      ["pear", 4],
      ["fig", 2],
    ]);
    const sums = await b.foldBy("word", plusValue, 0, addNumbers, 0).compute();
    expect(new Map(sums)).toEqual(new Map([["apple", 0 + 2 + 4 + 10 + 12 + 14], ["pear", 1 + 5 + 11 + 15], ["fig", 3 + 13]]));
    const byFn = await b.foldBy(wordOf, plusValue, 0, addNumbers).compute();
    expect(new Map(byFn).get("fig")).toBe(16);
  });

  it("turns records into a Frame", async () => {
    const b = await readJsonLines(join(dir, "part-*.jsonl"));
    const f = b.toFrame({ word: "string", value: "float64", missing: "float64" });
    const p = await f.compute();
    expect(p.rows).toBe(12);
    expect((p.columns.get("word") as string[])[3]).toBe("fig");
    expect(Array.from(p.columns.get("value") as Float64Array).reduce((a, x) => a + x, 0)).toBe(90);
    expect(Number.isNaN((p.columns.get("missing") as Float64Array)[0])).toBe(true);
    const grouped = await f.groupBy("word").agg({ value: ["count", "sum"] }).compute();
    expect(grouped.columns.get("word")).toEqual(["apple", "fig", "pear"]);
    expect(Array.from(grouped.columns.get("value_sum") as Float64Array)).toEqual([42, 16, 32]);
  });

  it("reads text lines, makes bags from records, and names bad JSON", async () => {
    expect(await (await readText(join(dir, "text.txt"))).compute()).toEqual(["one", "two", "three"]);
    const b = await bagFromRecords([1, 2, 3, 4, 5], { npartitions: 2 });
    expect(b.rows).toEqual([2, 3]);
    expect(await b.map(double).compute()).toEqual([2, 4, 6, 8, 10]);
    const bad = await readJsonLines(join(dir, "bad.jsonl"));
    await expect(bad.compute()).rejects.toThrow(`skein data: ${join(dir, "bad.jsonl")}: line 2 is not JSON`);
  });
});
