/**
 * One instance per thread of each wasm kernel module, all importing this thread's scratch arena
 * (src/data/f64-arena.ts) as their memory. null where it cannot be made (no wasm SIMD).
 */
import { scratchArena } from "../../src/data/f64-arena.js";

const instances = new Map<string, unknown>();
let enabled = true;

/** Turn the kernels off (or back on) in this thread: tests of the JavaScript loops use it. */
export function setWasmKernels(on: boolean): void {
  enabled = on;
}

/** The exports of the module in `base64` (a generated *-wasm.ts), instantiated once per thread. */
export function wasmKernels<T>(base64: string, imports: Record<string, unknown> = {}): T | null {
  if (!enabled) return null;
  let k = instances.get(base64);
  if (k === undefined) {
    const memory = scratchArena().memory;
    try {
      k = memory ? new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(base64, "base64")), { env: { memory, ...imports } }).exports : null;
    } catch {
      k = null;
    }
    instances.set(base64, k);
  }
  return k as T | null;
}
