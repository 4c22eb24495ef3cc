/**
 * readParquet / writeParquet on a LocalCluster: round trips through a directory of part files,
 * overwrite rules, hive folders, filters (row groups skipped on the client, rows filtered on the
 * workers), globs, and corrupt files whose errors name the file and spare other partitions.
 */
import { mkdtempSync, mkdirSync, openSync, readdirSync, rmSync, writeFileSync, writeSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "../src/index.js";
import { fromPartitions, makePartition, readFooter, readParquet, writeParquet, writeParquetFile, type FramePartition } from "../src/data/index.js";

let client: Client;
let dir: string;

beforeAll(async () => {
  client = await Client.connect({ processes: false, nWorkers: 2 });
  dir = mkdtempSync(join(tmpdir(), "skein-data-pq-"));
});

afterAll(async () => {
  await client?.close();
  rmSync(dir, { recursive: true, force: true });
});

function part(from: number, n: number): FramePartition {
  const a = new Float64Array(n);
  const k = new Int32Array(n);
  const s: string[] = [];
  for (let i = 0; i < n; i++) {
    a[i] = from + i;
    k[i] = (from + i) % 3;
    s.push(`s${(from + i) % 5}`);
  }
  return makePartition({ a, k, s });
}

function sum(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}

describe("writeParquet / readParquet", () => {
  it("round-trips a frame through one file per partition, empty partitions included", async () => {
    const f = await fromPartitions([part(0, 40), part(40, 0), part(40, 60)], { client });
    const out = join(dir, "round");
    const written = await writeParquet(f, out, { compression: "gzip", rowGroupSize: 16 });
    expect(written.map((w) => [w.path.slice(out.length + 1), w.rows])).toEqual([
      ["part-00000.parquet", 40],
      ["part-00001.parquet", 0],
      ["part-00002.parquet", 60],
    ]);
    expect(readdirSync(out).sort()).toEqual(["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]);
    const back = await readParquet(out);
    expect(back.schema).toEqual([
      { name: "a", dtype: "float64" },
      { name: "k", dtype: "int32" },
      { name: "s", dtype: "string" },
    ]);
    // 40 rows in 3 row groups, 0, 60 rows in 4: one partition per non-empty row group.
    expect(back.rows).toEqual([16, 16, 8, 16, 16, 16, 12]);
    const all = await back.compute();
    expect(all.rows).toBe(100);
    expect(sum(all.columns.get("a") as Float64Array)).toBe(4950);
    expect(sum(all.columns.get("k") as Int32Array)).toBe(99);
    expect((all.columns.get("s") as string[]).slice(0, 6)).toEqual(["s0", "s1", "s2", "s3", "s4", "s0"]);
    const two = await readParquet(out, { rowGroupsPerPartition: 2, columns: ["k", "a"] });
    expect(two.rows).toEqual([32, 8, 32, 28]);
    expect(two.columns).toEqual(["k", "a"]);
    expect(sum((await two.compute()).columns.get("a") as Float64Array)).toBe(4950);
  });

  it("refuses a non-empty directory unless overwrite is set", async () => {
    const f = await fromPartitions([part(0, 5)], { client });
    const out = join(dir, "busy");
    mkdirSync(out);
    writeFileSync(join(out, "keep.txt"), "x");
    await expect(writeParquet(f, out)).rejects.toThrow(
      `skein data: writeParquet: output directory ${out} is not empty (1 entries); pass overwrite: true to replace it`,
    );
    await writeParquet(f, out, { overwrite: true });
    expect(readdirSync(out)).toEqual(["part-00000.parquet"]);
    expect(await (await readParquet(out)).count()).toBe(5);
  });

  it("reads hive folders as columns and skips folders, row groups and rows by filters", async () => {
    const root = join(dir, "hive");
    for (const year of [2020, 2021]) {
      for (const city of ["a b", "x"]) {
        const d = join(root, `year=${year}`, `city=${encodeURIComponent(city)}`);
        mkdirSync(d, { recursive: true });
        await writeParquetFile(join(d, "part-0.parquet"), part(year === 2020 ? 0 : 100, 100), { rowGroupSize: 25 });
      }
    }
    const all = await readParquet(root);
    expect(all.schema.slice(3)).toEqual([
      { name: "year", dtype: "float64" },
      { name: "city", dtype: "string" },
    ]);
    expect(all.npartitions).toBe(16);
    const got = await all.groupBy("year").agg({ a: "sum" }).compute();
    expect(Array.from(got.columns.get("year") as Float64Array)).toEqual([2020, 2021]);
    expect(Array.from(got.columns.get("a") as Float64Array)).toEqual([2 * 4950, 2 * 14950]);

    const y2021 = await readParquet(root, { filters: [["year", "==", 2021], ["city", "==", "a b"]] });
    expect(y2021.npartitions).toBe(4);
    // Only hive filters: whole files are kept or skipped, so row counts stay known.
    expect(y2021.rows).toEqual([25, 25, 25, 25]);
    expect(await y2021.count()).toBe(100);

    // a >= 190 only in the last row group of each 2021 file (rows 175..199): 2 of 16 row groups read.
    const high = await readParquet(root, { filters: [["a", ">=", 190]], columns: ["a", "city"] });
    expect(high.npartitions).toBe(2);
    const h = await high.compute();
    expect(h.rows).toBe(20);
    expect(sum(h.columns.get("a") as Float64Array)).toBe(2 * 1945);
    expect(new Set(h.columns.get("city") as string[])).toEqual(new Set(["a b", "x"]));

    // OR of ANDs: (year == 2020 and a < 2) or (k == 7).
    const or = await readParquet(root, { filters: [[["year", "==", 2020], ["a", "<", 2]], [["k", "==", 7]]] });
    expect(await or.count()).toBe(4);
    await expect(readParquet(root, { filters: [["nope", "==", 1]] })).rejects.toThrow('skein data: filter on unknown column "nope"');
  });

  it("expands globs", async () => {
    const out = join(dir, "round");
    const f = await readParquet(join(out, "part-0000[02].parquet"));
    expect(await f.count()).toBe(100);
    await expect(readParquet(join(out, "*.csv"))).rejects.toThrow(`skein data: no files match ${JSON.stringify(join(out, "*.csv"))}`);
  });

  it("names a corrupt file, fails only its partitions, and keeps the others", async () => {
    const out = join(dir, "corrupt");
    await writeParquet(await fromPartitions([part(0, 10), part(10, 10), part(20, 10)], { client }), out);
    const bad = join(out, "part-00001.parquet");
    const info = await readFooter(bad);
    const fd = openSync(bad, "r+");
    writeSync(fd, new Uint8Array(24).fill(0xff), 0, 24, info.rowGroups[0].columns[0].start);
    closeSync(fd);
    const f = await readParquet(out);
    const futures = f.toFutures();
    expect(await futures[0].result()).toMatchObject({ rows: 10 });
    expect(sum((await futures[2].result()).columns.get("a") as Float64Array)).toBe(245);
    const err = await futures[1].exception();
    expect(err?.message).toContain(`skein parquet: ${bad}: row group 0, column "a": cannot decode`);
    await expect(f.compute()).rejects.toThrow(`skein parquet: ${bad}: row group 0, column "a"`);

    // Writing it: the good partitions are written, the failed one leaves no file, not even a temporary one.
    const copy = join(dir, "copy");
    await expect(writeParquet(f, copy)).rejects.toThrow(`skein parquet: ${bad}: row group 0, column "a"`);
    expect(readdirSync(copy).sort()).toEqual(["part-00000.parquet", "part-00002.parquet"]);

    const truncated = join(dir, "truncated.parquet");
    writeFileSync(truncated, new Uint8Array(100).fill(7));
    await expect(readParquet(truncated)).rejects.toThrow(`skein parquet: ${truncated}:`);
  });
});

describe("readParquet with worker processes", () => {
  let pc: Client;
  beforeAll(async () => {
    pc = await Client.connect({ nWorkers: 2 });
  }, 60_000);
  afterAll(async () => {
    await pc?.close();
  });

  it("reads on the workers and sums columns", async () => {
    const f = await readParquet(join(dir, "round"));
    const sums = await f.select(["a"]).describe().compute({ client: pc });
    expect(Array.from(sums.columns.get("a") as Float64Array).slice(0, 2)).toEqual([100, 49.5]);
    const out = join(dir, "from-processes");
    const written = await writeParquet(f.repartition(2), out, { client: pc, compression: "snappy" });
    expect(written.map((w) => w.rows)).toEqual([50, 50]);
    expect(await (await readParquet(out)).count({ client: pc })).toBe(100);
  });
});
