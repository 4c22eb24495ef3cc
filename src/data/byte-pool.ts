/**
 * Reusable scratch memory for the Parquet reader, one pool per thread. A fresh multi-MiB
 * allocation is zero pages that fault in 4 KiB at a time on first touch: on the machines we
 * measured, reading a file into fresh buffers ran at 3-4 GB/s and into reused ones at ~15 GB/s.
 * Buffers that only live while one partition is decoded (the read byte ranges; the columns of
 * a fused read-and-predict task) come from here and go back when done.
 *
 * The pool keeps at most POOL_BYTES; buffers given back beyond that are left to the GC.
 * Float64 columns (`takeF64`) come from the thread's wasm arena first (f64-arena.ts).
 */
import { scratchArena } from "./f64-arena.js";

const POOL_BYTES = 128 << 20;
/** Capacities round up to 1 MiB so that buffers of similar sizes are interchangeable. */
const GRAIN = 1 << 20;

const free: ArrayBuffer[] = [];
let freeBytes = 0;
/** Buffers this pool made: `giveBytes` ignores any other array, so a stray call cannot recycle live memory. */
const owned = new WeakSet<ArrayBuffer>();

/**
 * `n` bytes of scratch, not zeroed: a view over a pooled ArrayBuffer. Give it back with
 * `giveBytes` once nothing refers to it any more.
 */
export function takeBytes(n: number): Uint8Array {
  // Smallest free buffer that fits: keeps big ones for big requests.
  let best = -1;
  for (let i = 0; i < free.length; i++) {
    if (free[i].byteLength >= n && (best < 0 || free[i].byteLength < free[best].byteLength)) best = i;
  }
  if (best >= 0) {
    const buf = free[best];
    free.splice(best, 1);
    freeBytes -= buf.byteLength;
    return new Uint8Array(buf, 0, n);
  }
  const buf = new ArrayBuffer(Math.max(GRAIN, Math.ceil(n / GRAIN) * GRAIN));
  owned.add(buf);
  return new Uint8Array(buf, 0, n);
}

/**
 * Return scratch from `takeBytes` (any view over its buffer; views of other memory are
 * ignored). No view of it may be used after.
 */
export function giveBytes(view: ArrayBufferView): void {
  const buf = view.buffer;
  if (!(buf instanceof ArrayBuffer) || !owned.has(buf) || free.includes(buf)) return;
  free.push(buf);
  freeBytes += buf.byteLength;
  // Over budget: drop the smallest first (the big ones are the ones that are costly to fault in).
  while (freeBytes > POOL_BYTES) {
    let small = 0;
    for (let i = 1; i < free.length; i++) if (free[i].byteLength < free[small].byteLength) small = i;
    freeBytes -= free[small].byteLength;
    free.splice(small, 1);
  }
}

/** Bytes held for reuse (for tests). */
export function pooledBytes(): number {
  return freeBytes;
}

/**
 * `n` doubles of scratch, not zeroed: in this thread's wasm arena while it has room (so SIMD
 * kernels read them in place), else over pooled bytes. Give back with `giveF64`.
 */
export function takeF64(n: number): Float64Array {
  const inArena = scratchArena().take(n);
  if (inArena) return inArena;
  // Pooled buffers start at offset 0, so the doubles are aligned.
  return new Float64Array(takeBytes(n * 8).buffer, 0, n);
}

/** Return scratch from `takeF64`; other arrays are ignored. */
export function giveF64(view: Float64Array): void {
  if (!scratchArena().give(view)) giveBytes(view);
}
