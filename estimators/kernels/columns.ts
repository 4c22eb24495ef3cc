/**
 * Where a wasm kernel reads each feature column of a block of rows: an i32 table of addresses in
 * the scratch arena. Columns already in the arena are read in place; the others are copied block
 * by block into staging buffers (also in the arena) when the caller provides them.
 */
import type { F64Arena } from "../../src/data/f64-arena.js";

export class ColumnAddresses {
  /** Each column's staging buffer, undefined for the columns read in place. */
  private readonly staged: (Float64Array | undefined)[];

  /**
   * `table`: p i32 slots in the arena. `staging`: one buffer (at least a block long) per column
   * outside the arena, in column order; none when every column is in it.
   */
  constructor(
    private readonly x: readonly Float64Array[],
    /** Arena byte offset of each column's row 0, -1 for columns outside it. */
    private readonly bases: Int32Array,
    readonly table: Int32Array,
    staging: readonly Float64Array[] = [],
  ) {
    let s = 0;
    this.staged = Array.from(bases, (b) => (b >= 0 ? undefined : staging[s++]));
  }

  /** Arena offsets of the columns (-1: elsewhere), and how many are elsewhere. */
  static locate(arena: F64Arena, x: readonly Float64Array[]): { bases: Int32Array; outside: number } {
    const bases = Int32Array.from(x, (c) => arena.offsetOf(c));
    let outside = 0;
    for (const b of bases) if (b < 0) outside++;
    return { bases, outside };
  }

  /** Point the table at rows lo .. lo + n (n at most a block), staging the columns outside the arena. */
  load(lo: number, n: number): void {
    for (let j = 0; j < this.x.length; j++) {
      const stage = this.staged[j];
      if (stage === undefined) {
        this.table[j] = this.bases[j] + lo * 8;
        continue;
      }
      const col = this.x[j];
      // TypedArray.set from shared memory copies with relaxed atomics, slower than this loop.
      if (col.buffer instanceof SharedArrayBuffer) for (let i = 0; i < n; i++) stage[i] = col[lo + i];
      else stage.set(col.subarray(lo, lo + n));
      this.table[j] = stage.byteOffset;
    }
  }
}
