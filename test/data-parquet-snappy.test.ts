/**
 * The snappy decoder that writes into a caller's buffer (src/data/parquet/snappy.ts), against
 * hysnappy's compressor and hand-built blocks; the scratch pool the reader draws from; and
 * readRowGroups with scratch columns.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { snappyCompress } from "hyparquet-writer/src/snappy.js";
import { snappyDecompressInto, snappyLength } from "../src/data/parquet/snappy.js";
import { giveBytes, pooledBytes, takeBytes } from "../src/data/byte-pool.js";
import { scratchArena } from "../src/data/f64-arena.js";
import { readRowGroups, releaseColumns } from "../src/data/parquet/read.js";
import { writeParquetFile } from "../src/data/parquet/index.js";
import { seededBytes } from "./fixtures/parquet/helpers.js";

function decode(block: Uint8Array): Uint8Array {
  const out = new Uint8Array(snappyLength(block).length);
  snappyDecompressInto(block, out);
  return out;
}

/** A block from raw elements: the varint length, then the given bytes. */
function block(length: number, ...elements: number[][]): Uint8Array {
  const head: number[] = [];
  let v = length;
  do {
    head.push((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
    v = Math.floor(v / 128);
  } while (v > 0);
  return Uint8Array.from([...head, ...elements.flat()]);
}

describe("snappyDecompressInto", () => {
  const inputs: [string, Uint8Array][] = [
    ["random bytes (long literals)", seededBytes(300_000, 1)],
    ["float64 normals (mostly literals, some copies)", new Uint8Array(Float64Array.from({ length: 40_000 }, (_, i) => Math.sin(i) * 1e3 + (i % 7)).buffer)],
    ["repetitive text (many short copies)", new TextEncoder().encode("abcabcabd".repeat(20_000) + "tail")],
    ["one repeated byte (overlapping copies)", new Uint8Array(70_000).fill(7)],
    ["empty", new Uint8Array(0)],
  ];
  for (const [name, data] of inputs) {
    it(`round-trips ${name} compressed by hysnappy`, () => {
      const compressed = snappyCompress(data);
      expect(Buffer.from(decode(compressed)).equals(Buffer.from(data))).toBe(true);
    });
  }

  it("decodes every element form: literal lengths in 1-4 extra bytes and the three copy kinds", () => {
    const lit = Array.from(seededBytes(70_000, 2));
    // Literal of 70,000 bytes: tag 62 << 2 (3 extra length bytes), then copy kinds 1, 2 and 3.
    const len3 = 70_000 - 1;
    const b = block(70_000 + 4 + 10 + 20, [62 << 2, len3 & 0xff, (len3 >> 8) & 0xff, len3 >> 16], lit, [1 | ((4 - 4) << 2) | (0 << 5), 100], [2 | ((10 - 1) << 2), 0x10, 0x27], [3 | ((20 - 1) << 2), 0x60, 0xea, 0, 0]);
    const out = decode(b);
    const want = [...lit];
    for (const [len, off] of [[4, 100], [10, 10_000], [20, 60_000]]) {
      const at = want.length;
      for (let i = 0; i < len; i++) want.push(want[at - off + i]);
    }
    expect(Array.from(out)).toEqual(want);
  });

  it("refuses malformed blocks with a reason, never reading or writing out of bounds", () => {
    const cases: [string, Uint8Array, Uint8Array, RegExp][] = [
      ["declared length differs from the output", block(5, [4 << 2, 1, 2, 3, 4, 5]), new Uint8Array(4), /block holds 5 bytes, 4 expected/],
      ["literal past the input", block(5, [4 << 2, 1, 2]), new Uint8Array(5), /literal overruns/],
      ["literal past the output", block(2, [4 << 2, 1, 2, 3, 4, 5]), new Uint8Array(2), /literal overruns/],
      ["copy before the start", block(8, [3 << 2, 1, 2, 3, 4], [1 | (0 << 2), 9]), new Uint8Array(8), /copy offset 9 at output byte 4/],
      ["zero offset", block(8, [3 << 2, 1, 2, 3, 4], [1, 0]), new Uint8Array(8), /copy offset 0/],
      ["cut-off copy", block(8, [3 << 2, 1, 2, 3, 4], [2 | (3 << 2), 1]), new Uint8Array(8), /copy element cut off/],
      ["ends early", block(9, [3 << 2, 1, 2, 3, 4]), new Uint8Array(9), /ends after 4 of 9 bytes/],
      ["bad preamble", Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80]), new Uint8Array(0), /bad length preamble/],
    ];
    for (const [what, input, out, err] of cases) expect(() => snappyDecompressInto(input, out), what).toThrow(err);
  });
});

describe("byte pool", () => {
  it("hands a given-back buffer out again, ignores memory it did not make, and keeps at most its budget", () => {
    const a = takeBytes(3 << 20);
    const buf = a.buffer;
    const before = pooledBytes();
    giveBytes(a);
    giveBytes(new Uint8Array(a.buffer, 8, 8)); // a second view of the same buffer: counted once
    expect(pooledBytes()).toBe(before + buf.byteLength);
    const b = takeBytes(2 << 20);
    expect(b.buffer).toBe(buf);
    expect(b.length).toBe(2 << 20);
    giveBytes(new Float64Array(1 << 20)); // not the pool's
    giveBytes(new Uint8Array(new SharedArrayBuffer(1 << 20)));
    expect(pooledBytes()).toBe(before);
    const many = Array.from({ length: 40 }, () => takeBytes(8 << 20));
    for (const m of many) giveBytes(m);
    expect(pooledBytes()).toBeLessThanOrEqual(128 << 20);
  });
});

describe("readRowGroups with scratch columns", () => {
  const dir = mkdtempSync(join(tmpdir(), "skein-scratch-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("gives the same values as fresh columns, and the columns go back to the arena", async () => {
    const rows = 300_000;
    const x = Float64Array.from({ length: rows }, (_, i) => Math.cos(i) * i);
    const n = Float64Array.from({ length: rows }, (_, i) => (i % 11 === 0 ? NaN : i / 3));
    const id = Int32Array.from({ length: rows }, (_, i) => i);
    for (const compression of ["snappy", "uncompressed", "zstd"] as const) {
      const path = join(dir, `${compression}.parquet`);
      await writeParquetFile(path, { rows, columns: new Map<string, Float64Array | Int32Array>([["x", x], ["n", n], ["id", id]]), nullCounts: new Map([["n", Math.ceil(rows / 11)]]) }, { compression, rowGroupSize: 100_000 });
      const fresh = await readRowGroups(path);
      const scratch = await readRowGroups(path, { scratchColumns: true });
      for (const name of ["x", "n", "id"]) expect(scratch.columns.get(name), `${compression} ${name}`).toEqual(fresh.columns.get(name));
      expect(scratch.nullCounts.get("n")).toBe(Math.ceil(rows / 11));
      // The float columns live in the thread's wasm arena, where SIMD kernels can read them.
      for (const name of ["x", "n"]) expect(scratchArena().offsetOf(scratch.columns.get(name) as Float64Array)).toBeGreaterThanOrEqual(0);
      const before = scratchArena().takenBytes();
      releaseColumns(scratch);
      expect(scratchArena().takenBytes(), compression).toBe(before - 2 * Math.ceil((rows * 8) / 65536) * 65536);
    }
  });
});
