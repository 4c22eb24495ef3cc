/**
 * The wasm SIMD kernels of glm.wat. They read feature columns in this thread's scratch arena (a
 * fused read-and-predict task decodes into it) in place and stage others block by block.
 * `GlmSimd.open` returns undefined when wasm SIMD is unavailable; the caller then runs its
 * JavaScript loops, which give the same bits.
 */
import { scratchArena, type F64Arena } from "../../src/data/f64-arena.js";
import { ColumnAddresses } from "./columns.js";
import { GLM_WASM } from "./glm-wasm.js";
import { wasmKernels } from "./instance.js";

interface Kernels {
  scores(cols: number, p: number, w: number, b: number, n: number, eta: number): number;
  expit(eta: number, n: number, o0: number, o1: number): void;
  expInPlace(at: number, n: number): void;
}

/**
 * Scores and link functions over blocks of at most `block` rows: `load` a block, then `scores`
 * for each coefficient row, then a link. Columns in this thread's arena are read where they are;
 * others are copied block by block into staging (the copy costs less than the scalar loops
 * save). Scratch layout (one arena region): column addresses (i32), coefficients, `rows` score
 * blocks, two output blocks, then one staging block per column that needs it; every block is
 * two doubles longer than `block`, for the kernels' odd tail.
 */
export class GlmSimd {
  /** Scores: block k (coefficient row k) starts at k * stride. An arena view. */
  readonly eta: Float64Array;
  readonly stride: number;
  private readonly columns: ColumnAddresses;
  private readonly at: { coef: number; eta: number; o0: number; o1: number };
  private readonly out0: Float64Array;
  private readonly out1: Float64Array;

  private constructor(
    private readonly k: Kernels,
    private readonly arena: F64Arena,
    x: readonly Float64Array[],
    bases: Int32Array,
    private readonly scratch: Float64Array,
    coef: Float64Array,
    rows: number,
    block: number,
  ) {
    const p = x.length;
    this.stride = block + 2;
    const colWords = Math.ceil(p / 2);
    const base = scratch.byteOffset;
    const etaWords = colWords + coef.length;
    this.at = {
      coef: base + colWords * 8,
      eta: base + etaWords * 8,
      o0: base + (etaWords + rows * this.stride) * 8,
      o1: base + (etaWords + (rows + 1) * this.stride) * 8,
    };
    const buffer = scratch.buffer;
    new Float64Array(buffer, this.at.coef, coef.length).set(coef);
    this.eta = new Float64Array(buffer, this.at.eta, rows * this.stride);
    this.out0 = new Float64Array(buffer, this.at.o0, this.stride);
    this.out1 = new Float64Array(buffer, this.at.o1, this.stride);
    const staging: Float64Array[] = [];
    let next = this.at.o1 + this.stride * 8;
    for (const b of bases) {
      if (b >= 0) continue;
      staging.push(new Float64Array(buffer, next, this.stride));
      next += this.stride * 8;
    }
    this.columns = new ColumnAddresses(x, bases, new Int32Array(buffer, base, p), staging);
  }

  /**
   * Kernels for columns `x`, coefficient rows of length x.length in `coef`, blocks of up to
   * `block` rows; undefined without wasm SIMD, or when the arena is full. Call `close()` when done.
   */
  static open(x: readonly Float64Array[], coef: Float64Array, rows: number, block: number): GlmSimd | undefined {
    const arena = scratchArena();
    const k = wasmKernels<Kernels>(GLM_WASM, { exp: Math.exp });
    if (!k) return undefined;
    const { bases, outside } = ColumnAddresses.locate(arena, x);
    const scratch = arena.take(Math.ceil(x.length / 2) + coef.length + (rows + 2 + outside) * (block + 2));
    if (!scratch) return undefined;
    return new GlmSimd(k, arena, x, bases, scratch, coef, rows, block);
  }

  /** Point the kernels at rows lo .. lo + n (n <= block), staging the columns outside the arena. */
  load(lo: number, n: number): void {
    this.columns.load(lo, n);
  }

  /**
   * Block `k` of eta = intercept + coefficient row k . x for the rows loaded. False when a
   * score is not finite (the caller finds out why).
   */
  scores(k: number, intercept: number, n: number): boolean {
    const table = this.columns.table;
    return this.k.scores(table.byteOffset, table.length, this.at.coef + k * table.length * 8, intercept, n, this.at.eta + k * this.stride * 8) === 0;
  }

  /** Binary probabilities from block 0: outs[1][at + i] = sigmoid(eta[i]), outs[0] = 1 - that. */
  expit(n: number, out0: Float64Array, out1: Float64Array, at: number): void {
    this.k.expit(this.at.eta, n, this.at.o0, this.at.o1);
    out0.set(this.out0.subarray(0, n), at);
    out1.set(this.out1.subarray(0, n), at);
  }

  /** exp of the first n scores of block 0, in place. */
  expInPlace(n: number): void {
    this.k.expInPlace(this.at.eta, n);
  }

  close(): void {
    this.arena.give(this.scratch);
  }
}
