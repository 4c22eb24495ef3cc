import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import * as vm from "node:vm";
import { describe, expect, test } from "vitest";
import { FunctionReferenceError } from "../src/errors.js";
import { locateFunction, loadFunctionCached, normaliseModuleUrl, register, scriptOrigin } from "../src/functions/index.js";
import { triple } from "./fixtures/plain.mjs";
import { anonymous, arrowNamed, holder, notAFunction } from "./fixtures/refs.js";
import { add, inc, slowInc } from "./fixtures/tasks.js";

const fixture = (name: string): string => pathToFileURL(`${import.meta.dirname}/fixtures/${name}`).href;
const tasksUrl = fixture("tasks.ts");

function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a throw");
}

describe("locateFunction", () => {
  test("finds the file:// URL of the source module under vitest", () => {
    expect(locateFunction(inc)).toEqual({ module: tasksUrl, name: "inc" });
    expect(locateFunction(add)).toEqual({ module: tasksUrl, name: "add" });
    expect(locateFunction(slowInc)).toEqual({ module: tasksUrl, name: "slowInc" });
  });

  test("caches per function", () => {
    expect(locateFunction(inc)).toBe(locateFunction(inc));
  });

  test("plain ESM, CommonJS and named arrow functions", () => {
    expect(locateFunction(triple)).toEqual({ module: fixture("plain.mjs"), name: "triple" });
    const { quadruple } = createRequire(import.meta.url)("./fixtures/tasks-cjs.cjs") as { quadruple: Function };
    expect(locateFunction(quadruple)).toEqual({ module: fixture("tasks-cjs.cjs"), name: "quadruple" });
    expect(locateFunction(arrowNamed)).toEqual({ module: fixture("refs.ts"), name: "arrowNamed" });
  });

  test("data: URL modules keep their URL", async () => {
    const src = "export function fromData(x) { return x + 7; }";
    const url = `data:text/javascript,${encodeURIComponent(src)}`;
    const ns = (await import(/* @vite-ignore */ url)) as { fromData: Function };
    expect(locateFunction(ns.fromData)).toEqual({ module: url, name: "fromData" });
  });

  test("rejects non-functions with the value in the message", () => {
    const err = thrown(() => locateFunction(3));
    expect(err).toBeInstanceOf(FunctionReferenceError);
    expect(err.message).toBe("skein: expected a function to run, got number 3");
    expect(thrown(() => locateFunction(notAFunction)).message).toBe("skein: expected a function to run, got number 3");
    expect(thrown(() => locateFunction("inc")).message).toBe('skein: expected a function to run, got string "inc"');
    expect(thrown(() => locateFunction(undefined)).message).toBe("skein: expected a function to run, got undefined");
  });

  test("rejects anonymous functions", () => {
    const err = thrown(() => locateFunction(anonymous));
    expect(err).toBeInstanceOf(FunctionReferenceError);
    expect(err.message).toBe(
      "skein: cannot run an anonymous function: workers load functions by module and export name; " +
        "define a named function and export it from a module the workers can import",
    );
  });

  test("rejects functions defined by eval, new Function and vm", () => {
    const ev = (0, eval)("(function ev(x) { return x; })") as Function;
    expect(thrown(() => locateFunction(ev)).message).toBe(
      'skein: function "ev" was defined outside a file module (in eval code or new Function); ' +
        "export it from a module the workers can import",
    );
    expect(thrown(() => locateFunction(new Function("x", "return x"))).message).toBe(
      'skein: function "anonymous" was defined outside a file module (in eval code or new Function); ' +
        "export it from a module the workers can import",
    );
    const vmf = vm.runInThisContext("(function vmf() {})") as Function;
    expect(thrown(() => locateFunction(vmf)).message).toBe(
      'skein: function "vmf" was defined outside a file module (in evalmachine.<anonymous>); ' +
        "export it from a module the workers can import",
    );
  });

  test("rejects bound and built-in functions", () => {
    expect(thrown(() => locateFunction(inc.bind(null))).message).toBe(
      'skein: cannot run bound function "bound inc": bound arguments cannot travel to workers; ' +
        "pass them as task arguments to a function exported from a module the workers can import",
    );
    expect(thrown(() => locateFunction(Math.max)).message).toBe(
      'skein: function "max" is built into JavaScript or Node.js and has no module the workers can import; ' +
        "call it from a function exported from your own module",
    );
  });

  test("register names functions explicitly and wins over inspection", () => {
    function registeredOnly(x: number): number {
      return x;
    }
    register("skein:test/registry", { registeredOnly, notAFunction: 3 });
    const ref = locateFunction(registeredOnly);
    expect(ref).toEqual({ module: "skein:test/registry", name: "registeredOnly" });
    // In-process workers find registered functions without importing anything.
    expect(loadFunctionCached(ref)).toBe(registeredOnly);
    expect(loadFunctionCached({ module: "skein:test/registry", name: "notAFunction" })).toBeUndefined();

    function alsoHere(): void {}
    register("/tmp/somewhere/mod.ts", { renamedHere: alsoHere });
    expect(locateFunction(alsoHere)).toEqual({ module: "file:///tmp/somewhere/mod.ts", name: "renamedHere" });
  });
});

describe("scriptOrigin", () => {
  test("normalises what V8 and transforming loaders report", () => {
    expect(scriptOrigin("file:///a/b.ts")).toEqual({ kind: "module", url: "file:///a/b.ts" });
    expect(scriptOrigin("file:///a/b.ts?v=123#x")).toEqual({ kind: "module", url: "file:///a/b.ts" });
    expect(scriptOrigin("/a/b c.ts?t=1")).toEqual({ kind: "module", url: "file:///a/b%20c.ts" });
    expect(scriptOrigin("/@fs/a/b.ts")).toEqual({ kind: "module", url: "file:///a/b.ts" });
    expect(scriptOrigin("node:path")).toEqual({ kind: "module", url: "node:path" });
    expect(scriptOrigin("skein:x")).toEqual({ kind: "module", url: "skein:x" });
    expect(scriptOrigin("")).toEqual({ kind: "outside", where: "eval code or new Function" });
    expect(scriptOrigin("[eval]")).toEqual({ kind: "outside", where: "[eval]" });
    expect(scriptOrigin("file:///cwd/[eval1]")).toEqual({ kind: "outside", where: "node -e / --eval code" });
    expect(scriptOrigin("REPL3")).toEqual({ kind: "outside", where: "the REPL" });
    expect(scriptOrigin("node:internal/util")).toEqual({ kind: "outside", where: "Node.js internals (node:internal/util)" });
    expect(normaliseModuleUrl("/x/y.js")).toBe("file:///x/y.js");
  });
});
