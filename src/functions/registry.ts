/**
 * Explicit (module, export) names for functions: the fallback when inspection cannot tell
 * (bundled code, functions built at runtime, non-file modules such as `skein:` URLs).
 * Registered pairs win over inspection and are trusted without importing the module.
 */
import type { FnRef } from "../graph/spec.js";
import { normaliseModuleUrl } from "./url.js";

const refs = new WeakMap<Function, FnRef>();
// Reverse direction, for workers in the same process: "module\0name" -> function.
const functions = new Map<string, Function>();

export function refId(ref: FnRef): string {
  return `${ref.module}\0${ref.name}`;
}

/**
 * Names every function in `exports` as (moduleUrl, property name). Typical use, at the top of
 * the module that defines them: `register(import.meta.url, { inc, add })`.
 */
export function register(moduleUrl: string, exports: Readonly<Record<string, unknown>>): void {
  const module = normaliseModuleUrl(moduleUrl);
  for (const name of Object.keys(exports)) {
    const fn = exports[name];
    if (typeof fn !== "function") continue;
    const ref: FnRef = Object.freeze({ module, name });
    refs.set(fn, ref);
    functions.set(refId(ref), fn);
  }
}

export function registeredRef(fn: Function): FnRef | undefined {
  return refs.get(fn);
}

export function registeredFunction(ref: FnRef): Function | undefined {
  return functions.size === 0 ? undefined : functions.get(refId(ref));
}
