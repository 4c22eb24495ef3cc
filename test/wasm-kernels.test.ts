/**
 * The wasm SIMD kernels (estimators/kernels): the committed modules match their .wat sources,
 * and the kernels give bit-for-bit the results of the JavaScript loops they replace. The
 * predictColumns tests in glm-estimators.test.ts run every GLM kind through them.
 */
import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { giveF64, takeF64 } from "../src/data/byte-pool.js";
import { GlmSimd } from "../estimators/kernels/glm-simd.js";
import { RowBlocks } from "../estimators/kernels/to-rows.js";
// @ts-expect-error: a plain .mjs build script without type declarations
import { KERNELS, generated } from "../scripts/build-wasm.mjs";

describe("the .wat sources", () => {
  it("are assembled into the *-wasm.ts modules as committed (run `npm run build:wasm` after editing one)", async () => {
    for (const kernel of KERNELS as { wat: string; ts: string }[]) {
      expect(readFileSync(new URL(`../${kernel.ts}`, import.meta.url), "utf8"), kernel.ts).toBe(await generated(kernel));
    }
  });
});

describe("SIMD exp", () => {
  const taken: Float64Array[] = [];
  afterAll(() => taken.splice(0).forEach(giveF64));

  /** exp of every value through the kernel: scores with one coefficient 1 and intercept 0, then exp in place. */
  function kernelExp(values: Float64Array): Float64Array {
    const col = takeF64(values.length);
    taken.push(col);
    col.set(values);
    const out = new Float64Array(values.length);
    const k = GlmSimd.open([col], new Float64Array([1]), 1, 1024) as GlmSimd;
    expect(k).toBeDefined();
    try {
      for (let a = 0; a < values.length; a += 1024) {
        const n = Math.min(1024, values.length - a);
        k.load(a, n);
        k.scores(0, 0, n);
        k.expInPlace(n);
        out.set(k.eta.subarray(0, n), a);
      }
    } finally {
      k.close();
    }
    return out;
  }

  function mismatches(values: Float64Array): string[] {
    const got = kernelExp(values);
    const bad: string[] = [];
    for (let i = 0; i < values.length; i++) {
      // 0 + 1 * -0 is +0; exp gives 1 for both.
      if (!Object.is(got[i], Math.exp(values[i] + 0))) bad.push(`exp(${values[i]}) = ${got[i]}, Math.exp gives ${Math.exp(values[i])}`);
    }
    return bad.slice(0, 5);
  }

  it("equals Math.exp (fdlibm) bit for bit at every branch edge of fdlibm's exp", () => {
    const f = new Float64Array(1);
    const u = new Uint32Array(f.buffer);
    const fromWords = (hi: number, lo: number) => {
      u[1] = hi;
      u[0] = lo;
      return f[0];
    };
    const edges = [
      0, 2 ** -28, fromWords(0x3fd62e42, 0xffffffff), fromWords(0x3fd62e43, 0), 0.5 * Math.LN2, fromWords(0x3ff0a2b1, 0xffffffff), fromWords(0x3ff0a2b2, 0),
      1.5 * Math.LN2, 1, 10, 707.9999999999999, 708, 709.782712893384, 709.79, 745.1332191019411, 746, 1e300, Infinity, NaN, 5e-324, 1e-310,
    ];
    const values: number[] = [];
    for (const e of edges) for (const s of [1, -1]) for (const d of [-2, -1, 0, 1, 2]) values.push(s * (e + d * (e === 0 ? 5e-324 : e * 2 ** -52)));
    expect(mismatches(Float64Array.from(values))).toEqual([]);
  });

  it("equals Math.exp bit for bit on a million random arguments over its whole range", () => {
    let seed = 12345;
    const rand = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const values = new Float64Array(1_000_001);
    for (let i = 0; i < values.length; i++) {
      const scale = [1e-9, 0.3, 1, 3, 20, 200, 710, 750][i % 8];
      values[i] = (rand() * 2 - 1) * scale;
    }
    expect(mismatches(values)).toEqual([]);
  });
});

describe("RowBlocks (columns -> row-major blocks)", () => {
  it("copies rows lo .. lo + n of every column, for odd and even widths and lengths", () => {
    for (const p of [1, 3, 16]) {
      const rows = 1001;
      const cols = Array.from({ length: p }, (_, j) => {
        const c = takeF64(rows);
        for (let i = 0; i < rows; i++) c[i] = j * 10_000 + i + 0.25;
        return c;
      });
      const blocks = RowBlocks.open(cols, 300) as RowBlocks;
      expect(blocks).toBeDefined();
      try {
        for (const [lo, n] of [[0, 300], [1, 299], [700, 300], [1000, 1], [5, 0]]) {
          const got = blocks.rows(lo, n);
          const want = new Float64Array(n * p);
          for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) want[i * p + j] = cols[j][lo + i];
          expect(Array.from(got), `p ${p}, rows ${lo}+${n}`).toEqual(Array.from(want));
        }
      } finally {
        blocks.close();
        cols.forEach(giveF64);
      }
    }
  });

  it("declines columns outside the scratch arena", () => {
    expect(RowBlocks.open([new Float64Array(10)], 10)).toBeUndefined();
  });
});
