/**
 * The hand-written hot paths against naive reference implementations: the RLE/bit-packed
 * hybrid decoder, INT32 delta decoding, the LZ4 block compressor and toMatrix.
 */
import { describe, expect, it } from "vitest";
import { decompressLz4Raw } from "hyparquet-compressors";
import { decodeHybrid } from "../src/data/parquet/rle.js";
import { deltaInt32 } from "../src/data/parquet/delta.js";
import { lz4CompressBlock } from "../src/data/parquet/lz4.js";
import { toMatrix } from "../src/data/parquet/to-matrix.js";
import type { ColumnArray } from "../src/data/parquet/index.js";
import { seededBytes } from "./fixtures/parquet/helpers.js";

// --- naive encoders (the reference) ---------------------------------------------------------

function uleb(v: number, out: number[]): void {
  do {
    let b = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) b |= 0x80;
    out.push(b);
  } while (v > 0);
}

/** Bits of `values` LSB-first, `width` bits each, padded to whole bytes. */
function packBits(values: number[], width: number): number[] {
  const bits: number[] = [];
  for (const v of values) for (let b = 0; b < width; b++) bits.push(Math.floor(v / 2 ** b) % 2);
  const out: number[] = [];
  for (let i = 0; i < bits.length; i += 8) {
    let byte = 0;
    for (let b = 0; b < 8 && i + b < bits.length; b++) byte |= bits[i + b] << b;
    out.push(byte);
  }
  return out;
}

/** Alternate RLE runs and bit-packed runs (groups of 8, the last one padded). */
function encodeHybrid(values: number[], width: number): Uint8Array {
  const out: number[] = [];
  let i = 0;
  let rle = true;
  while (i < values.length) {
    if (rle) {
      let run = 1;
      while (i + run < values.length && values[i + run] === values[i] && run < 300) run++;
      uleb(run * 2, out);
      const bytes = Math.ceil(width / 8);
      for (let b = 0; b < bytes; b++) out.push(Math.floor(values[i] / 2 ** (8 * b)) % 256);
      i += run;
    } else {
      const groups = Math.min(3, Math.ceil((values.length - i) / 8));
      const chunk = values.slice(i, i + groups * 8);
      while (chunk.length < groups * 8) chunk.push(0);
      uleb(groups * 2 + 1, out);
      out.push(...packBits(chunk, width));
      i += groups * 8;
    }
    rle = !rle;
  }
  return Uint8Array.from(out);
}

function zigzag(v: bigint): bigint {
  return v >= 0n ? v * 2n : -v * 2n - 1n;
}

function ulebBig(v: bigint, out: number[]): void {
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
}

/** DELTA_BINARY_PACKED with 64-bit arithmetic (as a writer that widens INT32 would do). */
function encodeDelta(values: bigint[], blockSize = 128, miniblocks = 4): Uint8Array {
  const out: number[] = [];
  ulebBig(BigInt(blockSize), out);
  ulebBig(BigInt(miniblocks), out);
  ulebBig(BigInt(values.length), out);
  ulebBig(zigzag(values[0] ?? 0n), out);
  const per = blockSize / miniblocks;
  for (let start = 1; start < values.length; start += blockSize) {
    const deltas: bigint[] = [];
    for (let k = start; k < Math.min(values.length, start + blockSize); k++) deltas.push(values[k] - values[k - 1]);
    const min = deltas.reduce((a, b) => (b < a ? b : a));
    ulebBig(zigzag(min), out);
    const widths: number[] = [];
    const bodies: number[][] = [];
    for (let m = 0; m < miniblocks; m++) {
      const part = deltas.slice(m * per, (m + 1) * per).map((d) => d - min);
      if (part.length === 0) {
        widths.push(0);
        bodies.push([]);
        continue;
      }
      const max = part.reduce((a, b) => (b > a ? b : a));
      const w = max === 0n ? 0 : max.toString(2).length;
      while (part.length < per) part.push(0n);
      widths.push(w);
      bodies.push(packBits(part.map(Number), w));
    }
    out.push(...widths);
    for (const b of bodies) out.push(...b);
  }
  return Uint8Array.from(out);
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe("RLE / bit-packed hybrid", () => {
  for (const width of [1, 2, 3, 7, 8, 9, 13, 16, 17, 24, 25, 31, 32]) {
    it(`width ${width}: decodes what the naive encoder wrote`, () => {
      const rnd = lcg(width);
      const max = 2 ** width;
      const values: number[] = [];
      for (let i = 0; i < 1000; i++) values.push(rnd() < 0.3 && i ? values[i - 1] : Math.floor(rnd() * max));
      const bytes = encodeHybrid(values, width);
      const out = width <= 8 ? new Uint8Array(1010) : new Int32Array(1010);
      const end = decodeHybrid(bytes, 0, bytes.length, width, values.length, out, 10);
      expect(end).toBe(bytes.length);
      const got = Array.from(out.subarray(10), (v) => (width === 32 ? v >>> 0 : v));
      expect(got).toEqual(values);
    });
  }

  it("width 0 writes zeros and consumes nothing", () => {
    const out = new Int32Array(4).fill(9);
    expect(decodeHybrid(new Uint8Array(0), 0, 0, 0, 3, out, 1)).toBe(0);
    expect(Array.from(out)).toEqual([9, 0, 0, 0]);
  });

  it("running out of bytes is an error, not zeros", () => {
    const bytes = encodeHybrid([1, 2, 3, 4, 5, 6, 7, 8, 9], 4);
    expect(() => decodeHybrid(bytes, 0, bytes.length - 1, 4, 9, new Uint8Array(9), 0)).toThrow(/^RLE data ends/);
    expect(() => decodeHybrid(bytes, 0, bytes.length, 4, 20, new Uint8Array(20), 0)).toThrow("RLE data ends after 9 of 20 values");
  });
});

describe("DELTA_BINARY_PACKED (INT32)", () => {
  it("decodes wrapping 32-bit sequences written with 64-bit arithmetic", () => {
    const rnd = lcg(5);
    const values: bigint[] = [];
    for (let i = 0; i < 777; i++) values.push(BigInt(Math.floor(rnd() * 2 ** 32)) - (i % 3 === 0 ? 2n ** 31n : 0n));
    // unsigned values above 2^31, as DuckDB writes UINTEGER
    values[5] = 4_000_000_000n;
    values[6] = 0n;
    const bytes = encodeDelta(values);
    const out = new Int32Array(780);
    const c = { pos: 0 };
    deltaInt32(bytes, c, values.length, out, 3);
    expect(Array.from(out.subarray(3))).toEqual(values.map((v) => Number(BigInt.asIntN(32, v))));
  });

  it("handles a first value whose zigzag varint exceeds 32 bits, and a single value", () => {
    const one = encodeDelta([4_000_000_001n]);
    const out = new Int32Array(1);
    deltaInt32(one, { pos: 0 }, 1, out, 0);
    expect(out[0] >>> 0).toBe(4_000_000_001);
  });

  it("reports data that ends early", () => {
    const bytes = encodeDelta(Array.from({ length: 300 }, (_, i) => BigInt(i * i)));
    expect(() => deltaInt32(bytes.subarray(0, 40), { pos: 0 }, 300, new Int32Array(300), 0)).toThrow(/^DELTA_BINARY_PACKED/);
  });
});

describe("LZ4 block compressor", () => {
  const inputs: [string, Uint8Array][] = [
    ["1 byte", Uint8Array.of(7)],
    ["12 bytes", seededBytes(12, 1)],
    ["13 zeros", new Uint8Array(13)],
    ["random 100 kB", seededBytes(100_000, 2)],
    ["zeros 100 kB", new Uint8Array(100_000)],
    ["doubles", new Uint8Array(Float64Array.from({ length: 20_000 }, (_, i) => i % 17).buffer)],
    ["text", new TextEncoder().encode("the quick brown fox jumps over the lazy dog. ".repeat(500))],
    ["long literal then match", Uint8Array.from([...seededBytes(300, 3), ...new Uint8Array(5000)])],
  ];
  for (let n = 1; n < 40; n += 3) inputs.push([`random ${n}`, seededBytes(n, n)]);
  for (const [name, input] of inputs) {
    it(`${name}: hyparquet-compressors' decoder gives the input back`, () => {
      const z = lz4CompressBlock(input);
      expect(z.length).toBeLessThanOrEqual(input.length + Math.ceil(input.length / 255) + 16);
      expect(decompressLz4Raw(z, input.length)).toEqual(input);
    });
  }

  it("compresses what repeats", () => {
    expect(lz4CompressBlock(new Uint8Array(100_000)).length).toBeLessThan(500);
  });
});

describe("toMatrix", () => {
  it("matches a naive row-major copy for every numeric column type, past several blocks", () => {
    const rows = 5000;
    const columns = new Map<string, ColumnArray>([
      ["f64", Float64Array.from({ length: rows }, (_, i) => i * 0.5 - 3)],
      ["i32", Int32Array.from({ length: rows }, (_, i) => (i * 7919) % 1000 - 500)],
      ["u8", Uint8Array.from({ length: rows }, (_, i) => i % 2)],
      ["f32", Float32Array.from({ length: rows }, (_, i) => i / 8)],
      ["i64", BigInt64Array.from({ length: rows }, (_, i) => BigInt(i) * -3_000_000_007n)],
      ["u64", BigUint64Array.from({ length: rows }, (_, i) => 2n ** 63n + BigInt(i))],
      ["s", Array.from({ length: rows }, () => "x")],
    ]);
    const names = ["u64", "f64", "i32", "u8", "f32", "i64"];
    const m = toMatrix({ rows, columns }, names);
    expect(m.rows).toBe(rows);
    expect(m.cols).toBe(6);
    expect(m.columns).toEqual(names);
    const naive = new Float64Array(rows * 6);
    for (let i = 0; i < rows; i++) {
      names.forEach((n, j) => {
        naive[i * 6 + j] = Number((columns.get(n) as ArrayLike<number | bigint>)[i]);
      });
    }
    expect(m.data).toEqual(naive);
  });

  it("takes every column by default and refuses strings and missing names", () => {
    const batch = { rows: 2, columns: new Map<string, ColumnArray>([["a", Float64Array.of(1, 2)], ["b", Int32Array.of(3, 4)]]) };
    expect(toMatrix(batch).data).toEqual(Float64Array.of(1, 3, 2, 4));
    expect(() => toMatrix(batch, ["a", "c"])).toThrow('skein matrix: no column "c" in the batch (columns: a, b)');
    const withStrings = { rows: 1, columns: new Map<string, ColumnArray>([["s", ["x"]]]) };
    expect(() => toMatrix(withStrings, ["s"])).toThrow('skein matrix: column "s" holds strings, not numbers');
    expect(toMatrix({ rows: 0, columns: new Map() }, [])).toEqual({ rows: 0, cols: 0, data: new Float64Array(0), columns: [] });
  });
});
