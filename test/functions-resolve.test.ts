import { execFile } from "node:child_process";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { describe, expect, test } from "vitest";
import { FunctionReferenceError } from "../src/errors.js";
import {
  loadFunction,
  loadFunctionCached,
  ownRef,
  resolveExport,
  resolvedRef,
  verifyExport,
} from "../src/functions/index.js";
import { tokenize } from "../src/graph/tokenize.js";
import defaultFn, { holder, renamed } from "./fixtures/refs.js";
import { add, double, inc } from "./fixtures/tasks.js";

const fixture = (name: string): string => pathToFileURL(`${import.meta.dirname}/fixtures/${name}`).href;
const tasksUrl = fixture("tasks.ts");
const refsUrl = fixture("refs.ts");

describe("resolveExport", () => {
  test("locates and verifies; later calls are served from the cache", async () => {
    expect(resolvedRef(double)).toBeUndefined();
    const ref = await resolveExport(double);
    expect(ref).toEqual({ module: tasksUrl, name: "double" });
    expect(resolvedRef(double)).toBe(ref);
    expect(await resolveExport(double)).toBe(ref);
  });

  test("concurrent calls share one resolution", async () => {
    const [a, b] = await Promise.all([resolveExport(add), resolveExport(add)]);
    expect(a).toBe(b);
  });

  test("finds renamed and default exports", async () => {
    expect(renamed.name).toBe("original");
    expect(await resolveExport(renamed)).toEqual({ module: refsUrl, name: "renamed" });
    expect(await resolveExport(defaultFn)).toEqual({ module: refsUrl, name: "default" });
  });

  test("a function that is not exported is refused, naming module and function", async () => {
    const err = await resolveExport(holder.hidden).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(FunctionReferenceError);
    expect((err as Error).message).toBe(
      `skein: function "hidden" is not exported by module "${refsUrl}"; export it from that module so the workers can import it`,
    );
    // Failures are not cached: the same error again, not a stale success.
    await expect(resolveExport(holder.hidden)).rejects.toThrow("is not exported by module");
  });

  test("locate errors surface as rejections", async () => {
    await expect(resolveExport(42)).rejects.toThrow("skein: expected a function to run, got number 42");
  });
});

describe("verifyExport", () => {
  test("returns the ref, or the corrected one", async () => {
    const ref = { module: tasksUrl, name: "inc" };
    expect(await verifyExport(ref, inc)).toBe(ref);
    expect(await verifyExport({ module: refsUrl, name: "original" }, renamed)).toEqual({ module: refsUrl, name: "renamed" });
  });

  test("a module that cannot be imported", async () => {
    const err = await verifyExport({ module: "file:///nonexistent/dir/mod.ts", name: "f" }, inc).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(FunctionReferenceError);
    expect((err as Error).message).toMatch(/^skein: cannot import module "file:\/\/\/nonexistent\/dir\/mod\.ts" for function "f": ./);
  });
});

describe("loadFunction", () => {
  test("imports the module once and returns the export", async () => {
    const ref = { module: tasksUrl, name: "inc" };
    expect(await loadFunction(ref)).toBe(inc);
    expect(loadFunctionCached(ref)).toBe(inc);
    expect(loadFunctionCached({ module: tasksUrl, name: "add" })).toBe(add);
  });

  test("the cached path knows nothing of modules not yet imported", () => {
    expect(loadFunctionCached({ module: fixture("never-imported.ts"), name: "x" })).toBeUndefined();
  });

  test("missing export", async () => {
    await expect(loadFunction({ module: tasksUrl, name: "nope" })).rejects.toThrow(
      `skein: module "${tasksUrl}" has no export "nope"; export the function from that module so the workers can import it`,
    );
  });

  test("export that is not a function", async () => {
    await expect(loadFunction({ module: refsUrl, name: "notAFunction" })).rejects.toThrow(
      `skein: export "notAFunction" of module "${refsUrl}" is not a function (got number 3)`,
    );
    await expect(loadFunction({ module: refsUrl, name: "holder" })).rejects.toThrow(
      `skein: export "holder" of module "${refsUrl}" is not a function (got object { hidden: [Function: hidden] })`,
    );
  });

  test("module that cannot be imported", async () => {
    const err = await loadFunction({ module: "file:///nonexistent/other.ts", name: "g" }).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(FunctionReferenceError);
    expect((err as Error).message).toMatch(/^skein: cannot import module "file:\/\/\/nonexistent\/other\.ts" for function "g": ./);
    expect((err as Error).cause).toBeInstanceOf(Error);
  });

  test("ownRef names a skein module by its URL", () => {
    expect(ownRef(import.meta.url, "helper")).toEqual({ module: import.meta.url, name: "helper" });
  });
});

describe("in a plain node process with --import tsx", () => {
  test("functions are found under their source file URLs, and tokens match this process", async () => {
    const run = promisify(execFile);
    const probe = `${import.meta.dirname}/fixtures/functions-probe.ts`;
    const located = await resolveExport(inc); // located under vitest, loaded by the child
    const { stdout } = await run(process.execPath, ["--import", "tsx", probe, JSON.stringify(located)], {
      cwd: `${import.meta.dirname}/..`,
      timeout: 30_000,
    });
    const out = JSON.parse(stdout) as Record<string, unknown>;
    expect(out.loaded).toBe(42);
    expect(out.inc).toEqual({ module: tasksUrl, name: "inc" });
    expect(out.add).toEqual({ module: tasksUrl, name: "add" });
    expect(out.triple).toEqual({ module: fixture("plain.mjs"), name: "triple" });
    expect(out.quadruple).toEqual({ module: fixture("tasks-cjs.cjs"), name: "quadruple" });
    expect(out.renamed).toEqual({ module: refsUrl, name: "renamed" });
    expect(out.entryLocal).toEqual({ module: fixture("functions-probe.ts"), name: "local" });
    expect(out.localError).toBe(
      `skein: function "hidden" is not exported by module "${refsUrl}"; export it from that module so the workers can import it`,
    );
    expect(out.token).toBe(
      tokenize({ module: "file:///m.ts", name: "f" }, [1, "a", [2.5, null], { b: 1, a: [true] }, new Float64Array([1, 2])]),
    );
  });
});
