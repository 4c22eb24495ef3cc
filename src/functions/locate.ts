/**
 * `locateFunction(fn)`: the (module URL, export name) a worker uses to load `fn`, found
 * synchronously from V8's record of where `fn` was defined. The export name is assumed to be
 * `fn.name`; `resolveExport` (resolve.ts) checks that by importing the module.
 */
import { FunctionReferenceError, describeValue } from "../errors.js";
import type { FnRef } from "../graph/spec.js";
import { functionSite } from "./inspect.js";
import { registeredRef } from "./registry.js";
import { scriptOrigin } from "./url.js";

const located = new WeakMap<Function, FnRef>();

export function locateFunction(fn: unknown): FnRef {
  if (typeof fn !== "function") {
    throw new FunctionReferenceError(`skein: expected a function to run, got ${describeValue(fn)}`);
  }
  const known = registeredRef(fn) ?? located.get(fn);
  if (known) return known;
  const name = fn.name;
  if (!name) {
    throw new FunctionReferenceError(
      "skein: cannot run an anonymous function: workers load functions by module and export name; " +
        "define a named function and export it from a module the workers can import",
    );
  }
  const site = functionSite(fn);
  if (site.kind === "bound") {
    throw new FunctionReferenceError(
      `skein: cannot run bound function "${name}": bound arguments cannot travel to workers; ` +
        "pass them as task arguments to a function exported from a module the workers can import",
    );
  }
  if (site.kind === "native") {
    throw new FunctionReferenceError(
      `skein: function "${name}" is built into JavaScript or Node.js and has no module the workers can import; ` +
        "call it from a function exported from your own module",
    );
  }
  const origin = scriptOrigin(site.scriptUrl);
  if (origin.kind === "outside") {
    throw new FunctionReferenceError(
      `skein: function "${name}" was defined outside a file module (in ${origin.where}); ` +
        "export it from a module the workers can import",
    );
  }
  const ref: FnRef = Object.freeze({ module: origin.url, name });
  located.set(fn, ref);
  return ref;
}
