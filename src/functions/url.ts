/**
 * Turns the script URL V8 reports for a function into the URL a worker process imports.
 *
 * Observed (Node 20): plain ESM and `node --import tsx` report `file:///abs/mod.ts`; vitest 4
 * reports the same `file://` URL of the source file; CommonJS reports `file://` too; tools on
 * top of vite may report a bare absolute path or `/@fs/abs/path`, sometimes with `?v=...`.
 * eval / `new Function` report "", `vm` scripts "evalmachine.<anonymous>", `node -e` "[eval]"
 * (or `file:///cwd/[eval1]` with --input-type=module), the REPL "REPL1".
 */
import { pathToFileURL } from "node:url";

export type ScriptOrigin =
  /** Importable by a worker: file:, data:, node: (public modules) or skein: URL. */
  | { readonly kind: "module"; readonly url: string }
  /** Not a module a worker can import; `where` says what it was, for the error message. */
  | { readonly kind: "outside"; readonly where: string };

const EVAL_BASENAME = /^\[eval\d*\]$/;

export function scriptOrigin(scriptUrl: string): ScriptOrigin {
  if (scriptUrl === "") return { kind: "outside", where: "eval code or new Function" };
  if (scriptUrl.startsWith("file:")) {
    const u = new URL(scriptUrl);
    const base = u.pathname.slice(u.pathname.lastIndexOf("/") + 1);
    if (EVAL_BASENAME.test(decodeURIComponent(base))) return { kind: "outside", where: "node -e / --eval code" };
    // Transform tools tag modules with queries (?v=hash, ?t=time); workers want the source file.
    u.search = "";
    u.hash = "";
    return { kind: "module", url: u.href };
  }
  if (scriptUrl.startsWith("data:") || scriptUrl.startsWith("skein:")) return { kind: "module", url: scriptUrl };
  if (scriptUrl.startsWith("node:")) {
    return scriptUrl.startsWith("node:internal/")
      ? { kind: "outside", where: `Node.js internals (${scriptUrl})` }
      : { kind: "module", url: scriptUrl };
  }
  let path = scriptUrl;
  if (path.startsWith("/@fs/")) path = path.slice(4);
  if (path.startsWith("/") || /^[A-Za-z]:[\\/]/.test(path)) {
    const q = path.search(/[?#]/);
    return { kind: "module", url: pathToFileURL(q < 0 ? path : path.slice(0, q)).href };
  }
  return { kind: "outside", where: scriptUrl.startsWith("REPL") ? "the REPL" : scriptUrl };
}

/** Normalises a module URL or absolute path given by a user (e.g. to `register`). */
export function normaliseModuleUrl(urlOrPath: string): string {
  const o = scriptOrigin(urlOrPath);
  return o.kind === "module" ? o.url : urlOrPath;
}
