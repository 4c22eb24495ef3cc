export { locateFunction } from "./locate.js";
export { register } from "./registry.js";
export { threadBound } from "./thread-bound.js";
export { entryModuleUrl, resolveExport, resolvedRef, verifyExport } from "./resolve.js";
export { importModule, loadFunction, loadFunctionCached } from "./load.js";
export { ownRef } from "./own.js";
export { normaliseModuleUrl, scriptOrigin } from "./url.js";
export type { ScriptOrigin } from "./url.js";
