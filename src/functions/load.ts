/**
 * Worker side: from a FnRef back to a function. Modules are imported once and kept; the sync
 * `loadFunctionCached` serves every task after the first from the same module.
 */
import { FunctionReferenceError, describeValue } from "../errors.js";
import type { FnRef } from "../graph/spec.js";
import { registeredFunction } from "./registry.js";

type Namespace = Readonly<Record<string, unknown>>;

const namespaces = new Map<string, Namespace>();
const pending = new Map<string, Promise<Namespace>>();

/** Imports `url` once per process. A failed import is not cached, so it can be retried. */
export function importModule(url: string): Promise<Namespace> {
  const ns = namespaces.get(url);
  if (ns) return Promise.resolve(ns);
  let p = pending.get(url);
  if (!p) {
    p = (import(url) as Promise<Namespace>).then(
      (loaded) => {
        namespaces.set(url, loaded);
        pending.delete(url);
        return loaded;
      },
      (err: unknown) => {
        pending.delete(url);
        throw err;
      },
    );
    pending.set(url, p);
  }
  return p;
}

/** The namespace of `url` if it is already imported. */
export function importedModule(url: string): Namespace | undefined {
  return namespaces.get(url);
}

function exportOf(ns: Namespace, ref: FnRef): Function {
  const fn = ns[ref.name];
  if (typeof fn === "function") return fn;
  if (!(ref.name in ns)) {
    throw new FunctionReferenceError(
      `skein: module "${ref.module}" has no export "${ref.name}"; export the function from that module so the workers can import it`,
    );
  }
  throw new FunctionReferenceError(
    `skein: export "${ref.name}" of module "${ref.module}" is not a function (got ${describeValue(fn)})`,
  );
}

/** Fast path: the function if its module is already loaded (or it was registered), else undefined. */
export function loadFunctionCached(ref: FnRef): Function | undefined {
  const ns = namespaces.get(ref.module);
  if (ns) return exportOf(ns, ref);
  return registeredFunction(ref);
}

export async function loadFunction(ref: FnRef): Promise<Function> {
  const cached = loadFunctionCached(ref);
  if (cached) return cached;
  let ns: Namespace;
  try {
    ns = await importModule(ref.module);
  } catch (err) {
    const cause = err instanceof Error ? err.message : String(err);
    throw new FunctionReferenceError(
      `skein: cannot import module "${ref.module}" for function "${ref.name}": ${cause}`,
      { cause: err },
    );
  }
  return exportOf(ns, ref);
}
