import type { Key } from "./spec.js";

/** `inc-3f2a9c0d` -> `inc`; `('sum', 3)`-style and plain keys unchanged (dask's key_split, simplified). */
export function keyPrefix(key: Key): string {
  const dash = key.lastIndexOf("-");
  return dash > 0 && /^[0-9a-f]{8,}$/.test(key.slice(dash + 1)) ? key.slice(0, dash) : key;
}
