/**
 * Where was a function defined? V8 knows: the inspector reports a function's
 * `[[FunctionLocation]]` (a scriptId), and `Debugger.scriptParsed` events map scriptIds to URLs.
 *
 * A session connected to the current thread answers `post` synchronously (checked below), so
 * this lookup is synchronous. The Debugger domain is enabled only to collect the
 * scriptId -> URL table (enabling replays `scriptParsed` for every loaded script) and is
 * disabled right after; it is refreshed when a function comes from a script not yet seen.
 */
import { createRequire } from "node:module";
import type { Session } from "node:inspector";
import { FunctionReferenceError } from "../errors.js";

export type FunctionSite =
  /** Defined in the script with this URL (as V8 reports it; see url.ts). */
  | { readonly kind: "script"; readonly scriptUrl: string }
  /** Built into the engine or Node (no source location). */
  | { readonly kind: "native" }
  /** Made by `Function.prototype.bind`. */
  | { readonly kind: "bound" };

// A property on `process`, not globalThis: the inspector evaluates in the main context, and
// `process` is shared even with vm contexts that have their own globalThis.
const SLOT = "__skeinLocateSlot";
const GROUP = "skein-locate";

let session: Session | undefined;
let unavailable: string | undefined;
const scriptUrls = new Map<string, string>();

function open(): Session {
  if (session) return session;
  if (unavailable !== undefined) throw new FunctionReferenceError(unavailable);
  try {
    const inspector = createRequire(import.meta.url)("node:inspector") as typeof import("node:inspector");
    const s = new inspector.Session();
    s.connect();
    s.on("Debugger.scriptParsed", (m) => {
      scriptUrls.set(m.params.scriptId, m.params.url);
    });
    session = s;
    return s;
  } catch (err) {
    unavailable =
      `skein: cannot find where functions are defined: node:inspector is unavailable (${(err as Error).message}); ` +
      "name your functions explicitly with register(import.meta.url, { myFunction })";
    throw new FunctionReferenceError(unavailable);
  }
}

function notSync(method: string): never {
  throw new FunctionReferenceError(`skein: inspector call ${method} did not answer synchronously; use register(import.meta.url, { ... })`);
}

/** Re-reads the scriptId -> URL table. Costs ~0.1 ms per loaded script. */
function refreshScripts(s: Session): void {
  let done = false;
  s.post("Debugger.enable", () => {
    done = true;
  });
  if (!done) notSync("Debugger.enable");
  s.post("Debugger.disable");
}

export function functionSite(fn: Function): FunctionSite {
  const s = open();
  const holder = process as unknown as Record<string, unknown>;
  holder[SLOT] = fn;
  let objectId: string | undefined;
  let failure: Error | null = null;
  try {
    s.post("Runtime.evaluate", { expression: `process.${SLOT}`, objectGroup: GROUP, silent: true }, (err, res) => {
      failure = err;
      objectId = res?.result.objectId;
    });
  } finally {
    delete holder[SLOT];
  }
  if (failure) throw failure;
  if (objectId === undefined) notSync("Runtime.evaluate");

  let site: FunctionSite | undefined;
  let scriptId: string | undefined;
  s.post("Runtime.getProperties", { objectId, ownProperties: true }, (err, res) => {
    if (err) {
      failure = err;
      return;
    }
    site = { kind: "native" };
    for (const p of res.internalProperties ?? []) {
      if (p.name === "[[FunctionLocation]]") scriptId = (p.value?.value as { scriptId: string }).scriptId;
      else if (p.name === "[[TargetFunction]]") site = { kind: "bound" };
    }
  });
  s.post("Runtime.releaseObjectGroup", { objectGroup: GROUP });
  if (failure) throw failure;
  if (site === undefined) notSync("Runtime.getProperties");
  if (scriptId === undefined) return site;

  let url = scriptUrls.get(scriptId);
  if (url === undefined) {
    refreshScripts(s);
    url = scriptUrls.get(scriptId) ?? "";
  }
  return { kind: "script", scriptUrl: url };
}
