/** readCsv: per file and per byte block (line-aligned), dtype inference, quoting, projection. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "../src/index.js";
import { readCsv } from "../src/data/index.js";

let client: Client;
let dir: string;

beforeAll(async () => {
  client = await Client.connect({ processes: false, nWorkers: 2 });
  dir = mkdtempSync(join(tmpdir(), "skein-data-csv-"));
  for (let f = 0; f < 3; f++) {
    const lines = ["a,b,name"];
    for (let i = 0; i < 100; i++) {
      const r = f * 100 + i;
      lines.push(`${r},${r % 7 === 0 ? "" : r / 4},${r % 10 === 0 ? '"x, ""quoted"""' : `n${r}`}`);
    }
    writeFileSync(join(dir, `data-${f}.csv`), lines.join(f === 1 ? "\r\n" : "\n") + "\n");
  }
});

afterAll(async () => {
  await client?.close();
  rmSync(dir, { recursive: true, force: true });
});

function sum(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === a[i]) s += a[i];
  return s;
}

describe("readCsv", () => {
  it("reads one partition per file with inferred dtypes", async () => {
    const f = await readCsv(join(dir, "*.csv"));
    expect(f.schema).toEqual([
      { name: "a", dtype: "float64" },
      { name: "b", dtype: "float64" },
      { name: "name", dtype: "string" },
    ]);
    expect(f.npartitions).toBe(3);
    expect(f.rows).toEqual([undefined, undefined, undefined]);
    const all = await f.compute();
    expect(all.rows).toBe(300);
    expect(sum(all.columns.get("a") as Float64Array)).toBe(44850);
    let expectedB = 0;
    for (let r = 0; r < 300; r++) if (r % 7 !== 0) expectedB += r / 4;
    expect(sum(all.columns.get("b") as Float64Array)).toBeCloseTo(expectedB, 9);
    expect(Number.isNaN((all.columns.get("b") as Float64Array)[7])).toBe(true);
    const names = all.columns.get("name") as string[];
    expect([names[10], names[11], names[111]]).toEqual(['x, "quoted"', "n11", "n111"]);
  });

  it("splits files in byte blocks aligned on lines, whatever the block size", async () => {
    for (const blocksize of [1, 37, 500, "1KiB"]) {
      const f = await readCsv(dir, { blocksize, columns: ["a"] });
      const all = await f.compute();
      expect(all.rows).toBe(300);
      expect(sum(all.columns.get("a") as Float64Array)).toBe(44850);
      expect(Array.from(all.columns.get("a") as Float64Array).slice(98, 102)).toEqual([98, 99, 100, 101]);
    }
    expect((await readCsv(dir, { blocksize: 500 })).npartitions).toBeGreaterThan(3);
  });

  it("takes dtype overrides and names its errors", async () => {
    const f = await readCsv(join(dir, "data-0.csv"), { dtypes: { a: "int32" } });
    const p = await f.compute();
    expect(p.columns.get("a")).toBeInstanceOf(Int32Array);
    await expect(readCsv(join(dir, "data-0.csv"), { columns: ["zz"] })).rejects.toThrow(
      `skein data: readCsv: no column "zz" in ${join(dir, "data-0.csv")} (columns: a, b, name)`,
    );
    await expect(readCsv(join(dir, "missing.csv"))).rejects.toThrow(`skein data: no such file or directory: ${join(dir, "missing.csv")}`);
  });
});
