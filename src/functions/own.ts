/** References to skein's own functions: their module's URL and export name, stable by construction. */
import type { FnRef } from "../graph/spec.js";
import { normaliseModuleUrl } from "./url.js";

/** `ownRef(import.meta.url, "identity")` inside the module that exports `identity`. */
export function ownRef(importMetaUrl: string, name: string): FnRef {
  return Object.freeze({ module: normaliseModuleUrl(importMetaUrl), name });
}
