/**
 * `skein scheduler` serves the dashboard: its URL is announced, --dashboard-port moves it,
 * --no-dashboard turns it off.
 */
import { afterAll, describe, expect, it } from "vitest";
import { killAll, skein } from "./cli-helpers.js";

afterAll(async () => {
  await killAll();
});

describe("skein scheduler dashboard flags", () => {
  it("announces the dashboard and serves it", async () => {
    const p = skein(["scheduler", "--port", "0", "--dashboard-port", "0"], { SKEIN_TOKEN: undefined });
    const [, url] = await p.waitFor(/skein scheduler dashboard at (http:\/\/127\.0\.0\.1:[1-9][0-9]*\/status)\n/, "stdout", 60_000);
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("<title>skein dashboard</title>");
    const snap = (await (await fetch(url.replace("/status", "/api/snapshot"))).json()) as { type: string; workers: unknown[] };
    expect([snap.type, snap.workers]).toEqual(["update", []]);
    expect(p.stderr).not.toContain("Error");
    p.child.kill("SIGTERM");
    expect(await p.exited(30_000)).toBe(0);
  }, 120_000);

  it("rejects a bad --dashboard-port by name", async () => {
    const p = skein(["scheduler", "--port", "0", "--dashboard-port", "99999"], { SKEIN_TOKEN: undefined });
    expect(await p.exited(30_000)).toBe(1);
    expect(p.stderr).toBe('skein: --dashboard-port must be an integer from 0 to 65535, got "99999"\n');
  }, 60_000);

  it("serves none with --no-dashboard", async () => {
    const p = skein(["scheduler", "--port", "0", "--no-dashboard"], { SKEIN_TOKEN: undefined });
    await p.waitFor(/skein scheduler listening at tcp:\/\/127\.0\.0\.1:[1-9][0-9]*\n/, "stdout", 60_000);
    p.child.kill("SIGTERM");
    expect(await p.exited(30_000)).toBe(0);
    expect(p.stdout).not.toContain("dashboard");
  }, 120_000);
});
