/**
 * writeParquetFile -> readRowGroups gives back identical values, for every codec this Node can
 * write and every dtype; DuckDB (an independent reader) agrees on what was written; a failed
 * write leaves nothing behind.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import {
  readFooter,
  readRowGroups,
  toMatrix,
  writableCompressions,
  writeParquetFile,
  type ColumnArray,
  type ColumnBatch,
  type WriteCompression,
} from "../src/data/parquet/index.js";
import { matrix } from "../src/data/matrix.js";
import { openDuck, tempDir, type Duck } from "./fixtures/parquet/helpers.js";

const ROWS = 1000;
const BIG = 2n ** 60n;

/** Every dtype the writer takes, with nulls where the type allows them. */
function sampleBatch(): ColumnBatch {
  const d = Float64Array.from({ length: ROWS }, (_, i) => (i % 7 === 3 ? NaN : i * 0.25 - 100));
  const columns = new Map<string, ColumnArray>([
    ["d", d],
    ["dense", Float64Array.from({ length: ROWS }, (_, i) => Math.sin(i) * 1e6)],
    ["f", Float32Array.from({ length: ROWS }, (_, i) => i / 8 - 3)],
    ["i", Int32Array.from({ length: ROWS }, (_, i) => (i * 7919) % 2001 - 1000)],
    ["l", BigInt64Array.from({ length: ROWS }, (_, i) => BigInt(i) * 4_000_000_000n - 1n)],
    ["big", BigInt64Array.from({ length: ROWS }, (_, i) => (i % 2 ? BIG + BigInt(i) : -BIG - BigInt(i)))],
    ["b", Uint8Array.from({ length: ROWS }, (_, i) => (i % 3 === 0 ? 1 : 0))],
    ["s", Array.from({ length: ROWS }, (_, i) => (i % 10 === 0 ? null : `id-${i % 37}-é`))],
    ["low", Float64Array.from({ length: ROWS }, (_, i) => i % 4)],
  ]);
  return { rows: ROWS, columns, nullCounts: new Map([["d", 143]]) };
}

/** What the reader returns for each written column. */
function expected(name: string, a: ColumnArray): ColumnArray {
  if (a instanceof Float32Array) return Float64Array.from(a);
  if (name === "l") return Float64Array.from(a as BigInt64Array, (v) => Number(v));
  return a;
}

let tmp: ReturnType<typeof tempDir>;
let duck: Duck;
beforeAll(async () => {
  tmp = tempDir("pq-roundtrip");
  duck = await openDuck();
});
afterAll(() => {
  duck.close();
  tmp.remove();
});

describe("round trips", () => {
  for (const compression of writableCompressions) {
    it(`${compression}: every dtype comes back identical, over several row groups`, async () => {
      const batch = sampleBatch();
      const path = tmp.path(`all-${compression}.parquet`);
      await writeParquetFile(path, batch, { compression, rowGroupSize: 128 });

      const info = await readFooter(path);
      expect(info.numRows).toBe(ROWS);
      expect(info.rowGroups.map((g) => g.numRows)).toEqual([128, 128, 128, 128, 128, 128, 128, 104]);
      const codec = compression.toUpperCase();
      for (const g of info.rowGroups) for (const c of g.columns) expect(c.codec).toBe(codec);
      expect(info.columns.map((c) => [c.name, c.physicalType, c.nullable])).toEqual([
        ["d", "DOUBLE", true],
        ["dense", "DOUBLE", false],
        ["f", "FLOAT", false],
        ["i", "INT32", false],
        ["l", "INT64", false],
        ["big", "INT64", false],
        ["b", "BOOLEAN", false],
        ["s", "BYTE_ARRAY", true],
        ["low", "DOUBLE", false],
      ]);

      const back = await readRowGroups(path);
      expect(back.rows).toBe(ROWS);
      for (const [name, a] of batch.columns) expect(back.columns.get(name), name).toEqual(expected(name, a));
      expect(back.columns.get("i")).toBeInstanceOf(Int32Array);
      expect(back.columns.get("big")).toBeInstanceOf(BigInt64Array);
      expect(back.columns.get("b")).toBeInstanceOf(Uint8Array);
      expect(Object.fromEntries(back.nullCounts)).toEqual({ d: 143, dense: 0, f: 0, i: 0, l: 0, big: 0, b: 0, s: 100, low: 0 });
    });
  }

  it("zstd: written on every Node (node:zlib from 22.15, WebAssembly before) and read back by DuckDB", async () => {
    const path = tmp.path("zstd.parquet");
    const x = Float64Array.from({ length: 5000 }, (_, i) => (i % 17) * 0.25);
    await writeParquetFile(path, { rows: x.length, columns: new Map([["x", x]]) }, { compression: "zstd" });
    const info = await readFooter(path);
    for (const g of info.rowGroups) for (const c of g.columns) expect(c.codec).toBe("ZSTD");
    expect((await readRowGroups(path)).columns.get("x")).toEqual(x);
    const [r] = await duck.rows(`SELECT sum(x) AS s, count(*) AS n FROM read_parquet('${path}')`);
    expect([Number(r.s), Number(r.n)]).toEqual([x.reduce((a, b) => a + b, 0), 5000]);
  });

  it("reads chosen row groups in the order asked, and projected columns", async () => {
    const batch = sampleBatch();
    const path = tmp.path("subset.parquet");
    await writeParquetFile(path, batch, { rowGroupSize: 100 });
    const info = await readFooter(path);
    const back = await readRowGroups(path, { rowGroups: [7, 2], columns: ["s", "i"], info });
    expect(back.rows).toBe(200);
    expect([...back.columns.keys()]).toEqual(["s", "i"]);
    const i = batch.columns.get("i") as Int32Array;
    const s = batch.columns.get("s") as (string | null)[];
    expect(back.columns.get("i")).toEqual(Int32Array.from([...i.subarray(700, 800), ...i.subarray(200, 300)]));
    expect(back.columns.get("s")).toEqual([...s.slice(700, 800), ...s.slice(200, 300)]);
    expect(Object.fromEntries(back.nullCounts)).toEqual({ s: 20, i: 0 });

    const none = await readRowGroups(path, { rowGroups: [], columns: ["d", "i", "b", "s"] });
    expect(none.rows).toBe(0);
    expect(none.columns.get("d")).toEqual(new Float64Array(0));
    expect(none.columns.get("i")).toEqual(new Int32Array(0));
    expect(none.columns.get("b")).toEqual(new Uint8Array(0));
    expect(none.columns.get("s")).toEqual([]);
  });

  it("keeps footer statistics per row group", async () => {
    const path = tmp.path("stats.parquet");
    await writeParquetFile(path, sampleBatch(), { rowGroupSize: 500 });
    const info = await readFooter(path);
    const stat = (g: number, col: string) => info.rowGroups[g].columns.find((c) => c.path === col)?.stats;
    const i = (sampleBatch().columns.get("i") as Int32Array).subarray(0, 500);
    expect(stat(0, "i")).toMatchObject({ min: Math.min(...i), max: Math.max(...i), nullCount: 0 });
    expect(stat(0, "d")).toMatchObject({ min: -100, max: 24.75, nullCount: 71 });
    expect(stat(1, "d")).toMatchObject({ min: 25.25, max: 149.75, nullCount: 72 });
    expect(stat(0, "l")).toMatchObject({ min: -1, max: 499 * 4_000_000_000 - 1 });
    expect(stat(0, "big")).toMatchObject({ min: -BIG - 498n, max: BIG + 499n });
    expect(stat(0, "s")).toMatchObject({ nullCount: 50 });
    expect(stat(0, "b")).toMatchObject({ min: false, max: true });
  });

  it("DuckDB reads what skein wrote, for every codec", async () => {
    for (const compression of writableCompressions) {
      const path = tmp.path(`duck-${compression}.parquet`);
      await writeParquetFile(path, sampleBatch(), { compression: compression as WriteCompression, rowGroupSize: 300 });
      const [r] = await duck.rows(
        `SELECT count(*) AS n, sum(d) AS sd, count(d) AS cd, sum(f) AS sf, sum(i) AS si, min(i) AS mi, max(l) AS ml,
                sum(b::INTEGER) AS sb, count(s) AS cs, min(s) AS ms, max(big) AS mb, sum(low) AS sl
         FROM read_parquet('${path}')`,
      );
      const b = sampleBatch();
      const d = b.columns.get("d") as Float64Array;
      let sd = 0;
      for (const v of d) if (!Number.isNaN(v)) sd += v;
      let si = 0;
      for (const v of b.columns.get("i") as Int32Array) si += v;
      expect(r, compression).toEqual({
        n: 1000n,
        sd,
        cd: 857n,
        sf: 59437.5,
        si: BigInt(si),
        mi: -1000,
        ml: 999n * 4_000_000_000n - 1n,
        sb: 334n,
        cs: 900n,
        ms: "id-0-é",
        mb: BIG + 999n,
        sl: 1500,
      });
    }
  });

  it("writes a named Matrix; toMatrix gives it back", async () => {
    const m = matrix(50, 3, Float64Array.from({ length: 150 }, (_, k) => k * 1.5 - 7), ["a", "b", "c"]);
    const path = tmp.path("matrix.parquet");
    await writeParquetFile(path, m, { compression: "lz4_raw", rowGroupSize: 16 });
    const back = toMatrix(await readRowGroups(path), ["a", "b", "c"]);
    expect(back).toEqual(m);
    const unnamed = { rows: 2, cols: 1, data: Float64Array.of(1, 2) };
    await expect(writeParquetFile(tmp.path("unnamed.parquet"), unnamed)).rejects.toThrow(
      `skein parquet: ${tmp.path("unnamed.parquet")}: a Matrix needs column names (matrix.columns or options.columns)`,
    );
    await writeParquetFile(tmp.path("named.parquet"), unnamed, { columns: ["x"] });
    expect((await readRowGroups(tmp.path("named.parquet"))).columns.get("x")).toEqual(Float64Array.of(1, 2));
  });

  it("an empty batch makes a valid file with no row groups", async () => {
    const path = tmp.path("empty.parquet");
    await writeParquetFile(path, { rows: 0, columns: new Map([["x", new Float64Array(0)]]) });
    const info = await readFooter(path);
    expect(info.numRows).toBe(0);
    expect(info.rowGroups).toEqual([]);
    const back = await readRowGroups(path);
    expect(back.rows).toBe(0);
    expect(back.columns.get("x")).toEqual(new Float64Array(0));
    const [r] = await duck.rows(`SELECT count(*) AS n FROM read_parquet('${path}')`);
    expect(r.n).toBe(0n);
  });
});

describe("atomic writes", () => {
  it("a write failing after several row groups leaves no file, temporary or final", async () => {
    const { dir, path, remove } = tempDir("pq-atomic");
    try {
      const s: unknown[] = Array.from({ length: 1000 }, (_, i) => `v${i}`);
      s[950] = 42; // row group 9 of 10: groups 0..8 are already in the temporary file
      const batch = { rows: 1000, columns: new Map<string, ColumnArray>([["s", s as string[]]]) };
      const out = path("out.parquet");
      await expect(writeParquetFile(out, batch, { rowGroupSize: 100 })).rejects.toThrow(
        `skein parquet: ${out}: write failed, nothing written (parquet expected Uint8Array value, got number)`,
      );
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      remove();
    }
  });

  it("a failed rewrite leaves the previous file intact", async () => {
    const { dir, path, remove } = tempDir("pq-atomic2");
    try {
      const out = path("out.parquet");
      await writeParquetFile(out, { rows: 2, columns: new Map([["x", Float64Array.of(1, 2)]]) });
      const before = readFileSync(out);
      const bad = { rows: 2, columns: new Map<string, ColumnArray>([["s", ["ok", 7 as unknown as string]]]) };
      await expect(writeParquetFile(out, bad)).rejects.toThrow(/^skein parquet: .*: write failed, nothing written/);
      expect(readFileSync(out)).toEqual(before);
      expect(readdirSync(dir)).toEqual(["out.parquet"]);
      // and a successful rewrite replaces it whole
      await writeParquetFile(out, { rows: 1, columns: new Map([["y", Float64Array.of(9)]]) });
      expect(Object.fromEntries((await readRowGroups(out)).columns)).toEqual({ y: Float64Array.of(9) });
    } finally {
      remove();
    }
  });

  it("refuses bad input before creating anything", async () => {
    const { dir, path, remove } = tempDir("pq-atomic3");
    try {
      const out = path("x.parquet");
      await expect(
        writeParquetFile(out, { rows: 3, columns: new Map([["x", Float64Array.of(1, 2)]]) }),
      ).rejects.toThrow(`skein parquet: ${out}: column "x" has 2 values, the batch 3 rows`);
      await expect(
        writeParquetFile(out, { rows: 1, columns: new Map([["x", Float64Array.of(1)]]) }, { rowGroupSize: 0 }),
      ).rejects.toThrow(`skein parquet: ${out}: rowGroupSize must be a positive integer, got 0`);
      await expect(
        writeParquetFile(out, { rows: 1, columns: new Map([["x", Float64Array.of(1)]]) }, { compression: "lzo" as WriteCompression }),
      ).rejects.toThrow(`skein parquet: ${out}: unknown compression "lzo" (use one of ${writableCompressions.join(", ")})`);
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      remove();
    }
  });
});
