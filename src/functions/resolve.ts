/**
 * `resolveExport(fn)`: locate `fn` (sync, from V8) and check by importing its module that the
 * workers will find it under that name. Done once per function; later calls hit the cache
 * (`resolvedRef` serves them synchronously).
 */
import { realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { FunctionReferenceError } from "../errors.js";
import type { FnRef } from "../graph/spec.js";
import { importModule } from "./load.js";
import { locateFunction } from "./locate.js";
import { registeredRef } from "./registry.js";

let entryUrl: string | null | undefined;
/** file: URL of the script node was started with (null in a REPL or with -e). */
export function entryModuleUrl(): string | null {
  if (entryUrl === undefined) {
    try {
      entryUrl = process.argv[1] ? pathToFileURL(realpathSync(process.argv[1])).href : null;
    } catch {
      entryUrl = null;
    }
  }
  return entryUrl;
}

const resolved = new WeakMap<Function, FnRef>();
const inFlight = new WeakMap<Function, Promise<FnRef>>();

/**
 * Checks that module `ref.module` exports `fn` as `ref.name`. Returns `ref`, or the corrected
 * ref when `fn` is exported under another name (`export { f as g }`, `export default f`).
 */
export async function verifyExport(ref: FnRef, fn: Function): Promise<FnRef> {
  // The entry script is usually still evaluating (`if (isMain(import.meta)) await main()`):
  // importing it would wait for its own top-level await and never return. Its functions are
  // trusted by name; a missing export then fails on the worker with the same clear message.
  if (ref.module === entryModuleUrl()) return ref;
  let ns: Readonly<Record<string, unknown>>;
  try {
    ns = await importModule(ref.module);
  } catch (err) {
    const cause = err instanceof Error ? err.message : String(err);
    throw new FunctionReferenceError(
      `skein: cannot import module "${ref.module}" for function "${ref.name}": ${cause}`,
      { cause: err },
    );
  }
  const same = ns[ref.name];
  if (same === fn) return ref;
  for (const name of Object.keys(ns)) {
    if (ns[name] === fn) return Object.freeze({ module: ref.module, name });
  }
  // The module may be loaded twice (once by a transforming test runner, once natively): an
  // export with the same name and the same source is the same function to a worker.
  if (typeof same === "function" && same.toString() === fn.toString()) return ref;
  throw new FunctionReferenceError(
    `skein: function "${ref.name}" is not exported by module "${ref.module}"; ` +
      "export it from that module so the workers can import it",
  );
}

/** The verified reference to `fn` if `resolveExport(fn)` already succeeded (or it is registered). */
export function resolvedRef(fn: Function): FnRef | undefined {
  return registeredRef(fn) ?? resolved.get(fn);
}

export function resolveExport(fn: unknown): Promise<FnRef> {
  if (typeof fn === "function") {
    const known = resolvedRef(fn);
    if (known) return Promise.resolve(known);
    const running = inFlight.get(fn);
    if (running) return running;
  }
  let ref: FnRef;
  try {
    ref = locateFunction(fn);
  } catch (err) {
    return Promise.reject(err);
  }
  const f = fn as Function;
  const p = verifyExport(ref, f).then(
    (good) => {
      resolved.set(f, good);
      inFlight.delete(f);
      return good;
    },
    (err: unknown) => {
      inFlight.delete(f);
      throw err;
    },
  );
  inFlight.set(f, p);
  return p;
}
