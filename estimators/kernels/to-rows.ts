/**
 * Row-major blocks of float64 feature columns (rows.wat), for models that take rows. Columns
 * must be in this thread's scratch arena, as a fused read-and-predict task's are; `RowBlocks.open`
 * returns undefined otherwise, or without wasm SIMD, and the caller copies with a JavaScript loop.
 */
import { scratchArena, type F64Arena } from "../../src/data/f64-arena.js";
import { ColumnAddresses } from "./columns.js";
import { wasmKernels } from "./instance.js";
import { ROWS_WASM } from "./rows-wasm.js";

interface Kernels {
  toRows(cols: number, p: number, n: number, out: number): void;
}

export class RowBlocks {
  private constructor(
    private readonly k: Kernels,
    private readonly arena: F64Arena,
    private readonly columns: ColumnAddresses,
    private readonly scratch: Float64Array,
    private readonly block: Float64Array,
  ) {}

  /** Blocks of up to `rows` rows of the columns `x`. Call `close()` when done. */
  static open(x: readonly Float64Array[], rows: number): RowBlocks | undefined {
    const arena = scratchArena();
    // Staging would copy the columns once more before transposing: the JS loop does better.
    const { bases, outside } = ColumnAddresses.locate(arena, x);
    if (outside > 0) return undefined;
    const k = wasmKernels<Kernels>(ROWS_WASM);
    if (!k) return undefined;
    const words = Math.ceil(x.length / 2);
    const scratch = arena.take(words + rows * x.length);
    if (!scratch) return undefined;
    const table = new Int32Array(scratch.buffer, scratch.byteOffset, x.length);
    const block = new Float64Array(scratch.buffer, scratch.byteOffset + words * 8, rows * x.length);
    return new RowBlocks(k, arena, new ColumnAddresses(x, bases, table), scratch, block);
  }

  /** Rows lo .. lo + n as a row-major block: a view of scratch, valid until the next call. */
  rows(lo: number, n: number): Float64Array {
    this.columns.load(lo, n);
    const table = this.columns.table;
    this.k.toRows(table.byteOffset, table.length, n, this.block.byteOffset);
    return this.block.subarray(0, n * table.length);
  }

  close(): void {
    this.arena.give(this.scratch);
  }
}
