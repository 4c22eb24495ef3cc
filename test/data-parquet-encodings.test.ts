/**
 * Encodings and page formats from arrow-rs (via parquet-wasm): data page v1 and v2, PLAIN,
 * dictionaries, BYTE_STREAM_SPLIT, DELTA_BINARY_PACKED, RLE booleans, every codec including the
 * deprecated Hadoop-framed LZ4, nulls everywhere. Each value is checked against its formula,
 * and the whole batch against hyparquet's own row reader as a second opinion.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parquetReadObjects, asyncBufferFromFile } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import { readFooter, readRowGroups, type ReadBatch } from "../src/data/parquet/index.js";
import { tempDir } from "./fixtures/parquet/helpers.js";
import { WASM_COLUMNS, WASM_ROWS, wasmParquet, type WasmWriteOptions } from "./fixtures/parquet/wasm-table.js";

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/parquet/${name}`, import.meta.url));

function expectFormulas(batch: ReadBatch, label: string): void {
  expect(batch.rows).toBe(WASM_ROWS);
  for (const [name, f] of Object.entries(WASM_COLUMNS)) {
    const col = batch.columns.get(name) as ArrayLike<number | string | null>;
    const want = Array.from({ length: WASM_ROWS }, (_, i) => f(i));
    expect(Array.from(col), `${label}: ${name}`).toEqual(want);
  }
  expect(Object.fromEntries(batch.nullCounts), label).toEqual({ d: 143, f: 0, i: 91, l: 0, b: 77, s: 59 });
}

/** hyparquet's row reader on the same file, as skein returns it (null -> NaN, bool -> 0/1). */
async function hyparquetColumns(path: string): Promise<Record<string, unknown[]>> {
  const rows = await parquetReadObjects({ file: await asyncBufferFromFile(path), compressors });
  const out: Record<string, unknown[]> = {};
  for (const name of Object.keys(WASM_COLUMNS)) {
    out[name] = rows.map((r) => {
      const v = r[name];
      if (v === null || v === undefined) return name === "s" ? null : NaN;
      if (typeof v === "boolean") return v ? 1 : 0;
      if (typeof v === "bigint") return Number(v);
      return v;
    });
  }
  return out;
}

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir("pq-encodings");
});
afterAll(() => tmp.remove());

const VARIANTS: (WasmWriteOptions & { name: string })[] = [
  { name: "v2 zstd byte-stream-split + delta", version: "V2", compression: "ZSTD", specialEncodings: true },
  { name: "v2 snappy dictionaries", version: "V2", compression: "SNAPPY" },
  { name: "v1 gzip byte-stream-split + delta", version: "V1", compression: "GZIP", specialEncodings: true },
  { name: "v1 brotli plain", version: "V1", compression: "BROTLI", dictionary: false },
  { name: "v2 lz4_raw plain", version: "V2", compression: "LZ4_RAW", dictionary: false },
  { name: "v1 lz4 (hadoop) dictionaries", version: "V1", compression: "LZ4" },
  { name: "v2 uncompressed dictionaries", version: "V2", compression: "UNCOMPRESSED" },
];

describe("files written by parquet-wasm (arrow-rs)", () => {
  for (const v of VARIANTS) {
    it(`${v.name}: every value as its formula says, and as hyparquet reads it`, async () => {
      const path = tmp.path(`${v.name.replace(/[^a-z0-9]+/g, "-")}.parquet`);
      writeFileSync(path, wasmParquet(v));
      const info = await readFooter(path);
      expect(info.rowGroups.map((g) => g.numRows)).toEqual([400, 400, 200]);
      const batch = await readRowGroups(path);
      expectFormulas(batch, v.name);
      const theirs = await hyparquetColumns(path);
      for (const [name, values] of Object.entries(theirs)) expect(Array.from(batch.columns.get(name) as ArrayLike<unknown>), name).toEqual(values);
    });
  }

  it("shipped fixture: data page v2, zstd, byte-stream-split, delta, RLE booleans", async () => {
    const path = fixture("wasm-v2-zstd-bss-delta.parquet");
    const info = await readFooter(path);
    const d = info.rowGroups[0].columns[0];
    expect(d.encodings).toContain("BYTE_STREAM_SPLIT");
    expect(info.rowGroups[0].columns[2].encodings).toContain("DELTA_BINARY_PACKED");
    expect(info.createdBy).toMatch(/parquet-rs/);
    expectFormulas(await readRowGroups(path), "fixture v2");
    // row group by row group, out of order
    const part = await readRowGroups(path, { rowGroups: [2, 0], columns: ["l", "s"] });
    const idx = [...Array.from({ length: 200 }, (_, k) => 800 + k), ...Array.from({ length: 400 }, (_, k) => k)];
    expect(Array.from(part.columns.get("l") as Float64Array)).toEqual(idx.map((i) => WASM_COLUMNS.l(i)));
    expect(part.columns.get("s")).toEqual(idx.map((i) => WASM_COLUMNS.s(i)));
  });

  it("shipped fixture: data page v1, Hadoop-framed LZ4, dictionaries", async () => {
    const path = fixture("wasm-v1-lz4-hadoop.parquet");
    const info = await readFooter(path);
    expect(info.rowGroups[0].columns.every((c) => c.codec === "LZ4")).toBe(true);
    expectFormulas(await readRowGroups(path), "fixture lz4");
  });

  it("footer statistics of arrow-rs files bound the values", async () => {
    const info = await readFooter(fixture("wasm-v2-zstd-bss-delta.parquet"));
    const g1 = info.rowGroups[1];
    const stat = (name: string) => g1.columns[info.columns.findIndex((c) => c.name === name)].stats;
    const values = (name: string) =>
      Array.from({ length: 400 }, (_, k) => WASM_COLUMNS[name](400 + k)).filter((x) => x !== null && !Number.isNaN(x)) as number[];
    expect(stat("d")).toMatchObject({ min: Math.min(...values("d")), max: Math.max(...values("d")), nullCount: 57 });
    expect(stat("l")).toMatchObject({ min: Math.min(...values("l")), max: Math.max(...values("l")), nullCount: 0 });
    expect(stat("s")).toMatchObject({ min: "id-0", max: "id-9" });
  });
});
