/**
 * The package's exports are a contract: every subpath resolves, from source (the `source`
 * condition, used by tsx, tests and examples) and from the built `dist/` (what users import).
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const root = new URL("..", import.meta.url);
const pkg = JSON.parse(readFileSync(new URL("package.json", root), "utf8")) as {
  exports: Record<string, { source: string; types: string; import: string } | string>;
  bin: Record<string, string>;
};
const subpaths = Object.keys(pkg.exports).filter((k) => k !== "./package.json");

describe("package exports", () => {
  it("pins the public entry points", () => {
    expect(subpaths).toEqual([".", "./data", "./solvers", "./estimators", "./estimators/tfjs"]);
    expect(pkg.bin.skein).toBe("./dist/src/cli/main.js");
  });

  for (const sub of subpaths) {
    const entry = pkg.exports[sub] as { source: string; types: string; import: string };
    it(`${sub}: source, types and import point at the same module`, () => {
      expect(existsSync(new URL(entry.source, root))).toBe(true);
      const base = entry.source.replace(/^\.\//, "./dist/").replace(/\.ts$/, "");
      expect(entry.import).toBe(`${base}.js`);
      expect(entry.types).toBe(`${base}.d.ts`);
    });
  }

  it("resolves every subpath by name with the source condition", () => {
    const names = subpaths.map((s) => (s === "." ? "skein" : `skein/${s.slice(2)}`));
    const code = `for (const n of ${JSON.stringify(names)}) await import(n); console.log("ok");`;
    const r = spawnSync(process.execPath, ["--conditions=source", "--import", "tsx", "--input-type=module", "-e", code], {
      cwd: root,
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("ok");
  });

  // `npm test` builds dist/ first; plain node (no loader, no condition) must load it.
  it("loads every subpath from dist with plain node", () => {
    const names = subpaths.map((s) => (s === "." ? "skein" : `skein/${s.slice(2)}`));
    const code = `for (const n of ${JSON.stringify(names)}) await import(n); const { Client } = await import("skein"); console.log(typeof Client.connect);`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", code], { cwd: root, encoding: "utf8", timeout: 60_000 });
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("function");
  });
});
