/**
 * The wasm SIMD kernels of glm.wat, for feature columns that live in this thread's scratch
 * arena (the columns of a fused read-and-predict task do). `GlmSimd.open` returns undefined when
 * a column is elsewhere or wasm SIMD is unavailable; the caller then runs its JavaScript loops,
 * which give the same bits.
 */
import { scratchArena, type F64Arena } from "../../src/data/f64-arena.js";
import { GLM_WASM } from "./glm-wasm.js";

interface Kernels {
  scores(cols: number, p: number, w: number, b: number, n: number, eta: number): number;
  expit(eta: number, n: number, o0: number, o1: number): void;
  expInPlace(at: number, n: number): void;
}

let kernels: Kernels | null | undefined;

/** This thread's instance (null when it cannot be made: no wasm SIMD here). */
function threadKernels(arena: F64Arena): Kernels | null {
  if (kernels !== undefined) return kernels;
  try {
    const module = new WebAssembly.Module(Buffer.from(GLM_WASM, "base64"));
    kernels = new WebAssembly.Instance(module, { env: { memory: arena.memory, exp: Math.exp } }).exports as unknown as Kernels;
  } catch {
    kernels = null;
  }
  return kernels;
}

/**
 * Scores and link functions over blocks of at most `block` rows. Scratch layout (one arena
 * region): column addresses (i32), coefficients, then `rows` score blocks and two output blocks,
 * each block one double longer than `block` for the kernels' odd tail.
 */
export class GlmSimd {
  /** Scores: block k (coefficient row k) starts at k * stride. An arena view. */
  readonly eta: Float64Array;
  readonly stride: number;
  private readonly addresses: Int32Array;
  private readonly at: { cols: number; coef: number; eta: number; o0: number; o1: number };

  private constructor(
    private readonly k: Kernels,
    private readonly arena: F64Arena,
    private readonly bases: Int32Array,
    private readonly scratch: Float64Array,
    coef: Float64Array,
    rows: number,
    block: number,
  ) {
    const p = bases.length;
    this.stride = block + 2;
    const colWords = Math.ceil(p / 2);
    const base = scratch.byteOffset;
    this.at = {
      cols: base,
      coef: base + colWords * 8,
      eta: base + (colWords + coef.length) * 8,
      o0: base + (colWords + coef.length + rows * this.stride) * 8,
      o1: base + (colWords + coef.length + (rows + 1) * this.stride) * 8,
    };
    const buffer = scratch.buffer;
    this.addresses = new Int32Array(buffer, this.at.cols, p);
    new Float64Array(buffer, this.at.coef, coef.length).set(coef);
    this.eta = new Float64Array(buffer, this.at.eta, rows * this.stride);
  }

  /**
   * Kernels for `x` (every column must be in this thread's arena), coefficient rows of length
   * x.length in `coef`, blocks of up to `block` rows. Call `close()` when done.
   */
  static open(x: readonly Float64Array[], coef: Float64Array, rows: number, block: number): GlmSimd | undefined {
    const arena = scratchArena();
    const bases = new Int32Array(x.length);
    for (let j = 0; j < x.length; j++) {
      const at = arena.offsetOf(x[j]);
      if (at < 0) return undefined;
      bases[j] = at;
    }
    const k = threadKernels(arena);
    if (!k) return undefined;
    const scratch = arena.take(Math.ceil(x.length / 2) + coef.length + (rows + 2) * (block + 2));
    if (!scratch) return undefined;
    return new GlmSimd(k, arena, bases, scratch, coef, rows, block);
  }

  /**
   * Block `k` of eta = intercept + coefficient row k . x for rows lo .. lo + n. False when a
   * score is not finite (the caller finds out why).
   */
  scores(k: number, intercept: number, lo: number, n: number): boolean {
    const p = this.bases.length;
    for (let j = 0; j < p; j++) this.addresses[j] = this.bases[j] + lo * 8;
    return this.k.scores(this.at.cols, p, this.at.coef + k * p * 8, intercept, n, this.at.eta + k * this.stride * 8) === 0;
  }

  /** Binary probabilities from block 0: outs[1][at + i] = sigmoid(eta[i]), outs[0] = 1 - that. */
  expit(n: number, out0: Float64Array, out1: Float64Array, at: number): void {
    this.k.expit(this.at.eta, n, this.at.o0, this.at.o1);
    const buffer = this.scratch.buffer;
    out0.set(new Float64Array(buffer, this.at.o0, n), at);
    out1.set(new Float64Array(buffer, this.at.o1, n), at);
  }

  /** exp of the first n scores of block 0, in place. */
  expInPlace(n: number): void {
    this.k.expInPlace(this.at.eta, n);
  }

  close(): void {
    this.arena.give(this.scratch);
  }
}
