/**
 * Float64 scratch columns inside a WebAssembly memory, one arena per thread, so that the SIMD
 * kernels of estimators/kernels read the columns where the Parquet decoder wrote them instead
 * of copying 128 bytes a row into wasm first.
 *
 * The memory is made at its full size and never grows: growing would detach the ArrayBuffer
 * under every column handed out. (A shared memory keeps views valid across growth, but V8 copies
 * into shared buffers with relaxed atomics, which made decoding into them four times slower.)
 * Untouched pages cost address space only; pages once used stay resident, as in the byte pool.
 * Space given back is reused (best fit, neighbours merged). When a request does not fit, `take`
 * returns undefined and the caller uses ordinary memory.
 */

const PAGE = 65536;
/** Regions are whole pages: few of them, and each column starts 16-byte aligned. */
const GRAIN = PAGE;
/**
 * Addressable bytes kept past the last region: kernels that work on pairs of doubles read (and
 * write into their own scratch) one double past an odd length.
 */
const TAIL = 16;

interface Region {
  start: number;
  size: number;
}

export class F64Arena {
  /** Undefined when the memory could not be made (a low address-space limit, say): then every `take` fails. */
  readonly memory: WebAssembly.Memory | undefined;
  private readonly buffer: ArrayBuffer | undefined;
  /** Usable bytes: the memory minus TAIL. */
  private readonly limit: number;
  /** Regions in use: start -> size. */
  private readonly taken = new Map<number, number>();
  /** Free regions below `top`, sorted by start, never adjacent. */
  private readonly free: Region[] = [];
  private top = 0;

  constructor(bytes = 256 << 20) {
    const pages = Math.max(1, Math.ceil(bytes / PAGE));
    try {
      this.memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
      this.buffer = this.memory.buffer as ArrayBuffer;
      this.limit = pages * PAGE - TAIL;
    } catch {
      // V8 reserves address space for each wasm memory; where that is refused, scratch
      // columns are ordinary memory and the kernels' JavaScript fallbacks run.
      this.limit = 0;
    }
  }

  /** `n` doubles of scratch (not zeroed), or undefined when the arena is full. */
  take(n: number): Float64Array | undefined {
    const buffer = this.buffer;
    if (buffer === undefined) return undefined;
    const size = Math.max(GRAIN, Math.ceil((n * 8) / GRAIN) * GRAIN);
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      if (this.free[i].size >= size && (best < 0 || this.free[i].size < this.free[best].size)) best = i;
    }
    let start: number;
    if (best >= 0) {
      const r = this.free[best];
      start = r.start;
      if (r.size === size) this.free.splice(best, 1);
      else {
        r.start += size;
        r.size -= size;
      }
    } else {
      if (this.top + size > this.limit) return undefined;
      start = this.top;
      this.top += size;
    }
    this.taken.set(start, size);
    return new Float64Array(buffer, start, n);
  }

  /**
   * Give back a view returned by `take`. Returns false for memory that is not this arena's
   * (the caller may own it some other way); views of the arena that `take` did not return, or
   * returned already, are ignored.
   */
  give(view: ArrayBufferView): boolean {
    if (this.buffer === undefined || view.buffer !== this.buffer) return false;
    const start = view.byteOffset;
    const size = this.taken.get(start);
    if (size === undefined) return true;
    this.taken.delete(start);
    this.release(start, size);
    return true;
  }

  /** Byte offset of `view` in the arena's memory, or -1 when it lives elsewhere. */
  offsetOf(view: ArrayBufferView): number {
    return this.buffer !== undefined && view.buffer === this.buffer ? view.byteOffset : -1;
  }

  /** Bytes handed out and not given back (for tests). */
  takenBytes(): number {
    let sum = 0;
    for (const size of this.taken.values()) sum += size;
    return sum;
  }

  private release(start: number, size: number): void {
    let i = 0;
    while (i < this.free.length && this.free[i].start < start) i++;
    this.free.splice(i, 0, { start, size });
    // Merge with the following region, then the preceding one.
    const next = this.free[i + 1];
    if (next && start + size === next.start) {
      this.free[i].size += next.size;
      this.free.splice(i + 1, 1);
    }
    const prev = this.free[i - 1];
    if (prev && prev.start + prev.size === start) {
      prev.size += this.free[i].size;
      this.free.splice(i, 1);
    }
    // A free region at the top goes back to the bump pointer.
    const last = this.free[this.free.length - 1];
    if (last && last.start + last.size === this.top) {
      this.top = last.start;
      this.free.pop();
    }
  }
}

let threadArena: F64Arena | undefined;

/** This thread's arena, made on first use. */
export function scratchArena(): F64Arena {
  threadArena ??= new F64Arena();
  return threadArena;
}
