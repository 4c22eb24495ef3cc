/**
 * Every example runs as a user runs it: its own node process, from the repository root.
 */
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";

const examples = readdirSync(new URL("../examples/", import.meta.url)).filter((f) => f.endsWith(".ts"));

describe("examples", () => {
  it("has examples", () => {
    expect(examples).toContain("quickstart.ts");
  });

  for (const file of examples) {
    it(`${file} runs to completion`, () => {
      const r = spawnSync(process.execPath, ["--conditions=source", "--import", "tsx", `examples/${file}`], {
        cwd: new URL("..", import.meta.url),
        encoding: "utf8",
        timeout: 120_000,
        env: { ...process.env, SKEIN_EXAMPLE_SMALL: "1" },
      });
      expect(r.stderr).not.toMatch(/Error/);
      expect(r.status).toBe(0);
      expect(r.stdout.length).toBeGreaterThan(0);
    });
  }
});
