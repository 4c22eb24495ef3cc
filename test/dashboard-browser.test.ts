/**
 * Headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core) on a LocalCluster
 * of worker processes running a real two-function graph: the dashboard's task stream shows
 * bars of both functions, its progress and state counts equal the scheduler's; a performance
 * report opens with the network cut off and shows the tasks that ran.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client, LocalCluster, type Future } from "../src/index.js";
import { double, inc, slowInc } from "./fixtures/tasks.js";

const dir = mkdtempSync(join(tmpdir(), "skein-dashboard-"));
let cluster: LocalCluster;
let client: Client;
let browser: Browser;

beforeAll(async () => {
  cluster = await LocalCluster.start({ nWorkers: 2, threadsPerWorker: 2, dashboard: { port: 0 }, startTimeoutMs: 120_000 });
  client = await Client.connect({ cluster, address: cluster.inprocAddress });
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"], timeout: 120_000 });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await client?.close();
  await cluster?.close();
  rmSync(dir, { recursive: true, force: true });
}, 120_000);

/** What the page's progress table says for one function. */
async function progressRow(page: Page, fn: string): Promise<Record<string, number> | null> {
  return page.evaluate((name) => {
    const tr = [...document.querySelectorAll<HTMLElement>("#progress tr[data-fn]")].find((r) => r.dataset.fn === name);
    if (!tr) return null;
    const d = tr.dataset;
    return { total: Number(d.total), done: Number(d.done), memory: Number(d.memory), erred: Number(d.erred), processing: Number(d.processing), waiting: Number(d.waiting) };
  }, fn);
}

describe("dashboard in Chromium", () => {
  it("shows the task stream of both functions and the scheduler's counts", async () => {
    const link = cluster.dashboardLink!;
    expect(link).toMatch(/^http:\/\/127\.0\.0\.1:[1-9][0-9]*\/status$/);
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(link);
    await page.waitForFunction(() => (window as unknown as { skeinDashboard?: { connected: boolean } }).skeinDashboard?.connected === true, null, { timeout: 60_000 });

    const n = 40;
    const a: Future<number>[] = client.map(slowInc, Array.from({ length: n }, (_, i) => i));
    const b: Future<number>[] = client.map(double, a);
    expect(await client.gather(b)).toEqual(Array.from({ length: n }, (_, i) => 2 * (i + 1)));

    // Every bar reached the page: n of each function in the task stream's legend.
    await page.waitForFunction(
      (want) => {
        const c = (window as unknown as { skeinDashboard: { stream: { counts(): Record<string, number> } } }).skeinDashboard.stream.counts();
        return c.slowInc === want && c.double === want;
      },
      n,
      { timeout: 60_000 },
    );
    const legend = await page.$$eval("#stream-legend .fn", (els) => els.map((e) => [(e as HTMLElement).dataset.fn, Number((e as HTMLElement).dataset.count)]));
    expect(Object.fromEntries(legend)).toEqual({ slowInc: n, double: n });

    // Both lists of futures are held: all 2n results are in memory on the scheduler.
    await page.waitForFunction(() => document.querySelector<HTMLElement>('#states td[data-state="memory"]')?.textContent === "80", null, { timeout: 60_000 });
    const counts = cluster.scheduler.state.counts();
    const shown = await page.$$eval("#states td[data-state]", (tds) => Object.fromEntries(tds.map((td) => [(td as HTMLElement).dataset.state, Number(td.textContent)])));
    expect(shown).toEqual(counts);
    for (const [fn, futures] of [["slowInc", a], ["double", b]] as const) {
      const states = futures.map((f) => cluster.scheduler.state.taskState(f.key));
      expect(states.every((s) => s === "memory")).toBe(true);
      expect(await progressRow(page, fn)).toEqual({ total: n, done: 0, memory: n, erred: 0, processing: 0, waiting: 0 });
    }

    // Releasing the inputs: the scheduler drops their results (keeping lineage for the doubles),
    // the page counts them as done.
    for (const f of a) f.release();
    await expect.poll(() => a.filter((f) => cluster.scheduler.state.taskState(f.key) === "memory").length, { timeout: 60_000 }).toBe(0);
    await page.waitForFunction(() => document.querySelector<HTMLElement>('#progress tr[data-fn="slowInc"]')?.dataset.done === "40", null, { timeout: 60_000 });
    expect(await progressRow(page, "slowInc")).toEqual({ total: n, done: n, memory: 0, erred: 0, processing: 0, waiting: 0 });
    expect(await progressRow(page, "double")).toEqual({ total: n, done: 0, memory: n, erred: 0, processing: 0, waiting: 0 });

    const workers = await page.$$eval("#workers tr[data-worker]", (trs) => trs.length);
    expect(workers).toBe(2);
    const shot = join(dir, "dashboard.png");
    await page.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(10_000);
    expect(errors).toEqual([]);
    await page.close();
  }, 300_000);

  it("writes a performance report that opens offline and shows the tasks run", async () => {
    const path = join(dir, "report.html");
    const total = await client.performanceReport(
      path,
      async () => {
        const xs = client.map(inc, Array.from({ length: 30 }, (_, i) => 100 + i));
        const ys = client.map(double, xs);
        const got = await client.gather(ys);
        return got.reduce((s, v) => s + v, 0);
      },
      { title: "two functions" },
    );
    expect(total).toBe(2 * (30 * 101 + (29 * 30) / 2));
    expect(existsSync(path)).toBe(true);
    const html = readFileSync(path, "utf8");
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=/);

    const context = await browser.newContext({ offline: true, viewport: { width: 1400, height: 1000 } });
    const requested: string[] = [];
    await context.route("**/*", (route) => {
      const url = route.request().url();
      if (url.startsWith("file:")) return route.continue();
      requested.push(url);
      return route.abort();
    });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`file://${path}`);
    await page.waitForFunction(() => (window as unknown as { skeinReport?: unknown }).skeinReport !== undefined, null, { timeout: 60_000 });
    expect(await page.title()).toBe("two functions");
    const counts = await page.evaluate(() => (window as unknown as { skeinReport: { stream: { counts(): Record<string, number> } } }).skeinReport.stream.counts());
    expect(counts).toEqual({ inc: 30, double: 30 });
    const rows = await page.$$eval("#functions tr[data-fn]", (trs) => trs.map((tr) => [(tr as HTMLElement).dataset.fn, Number((tr as HTMLElement).dataset.tasks)]));
    expect(Object.fromEntries(rows)).toEqual({ inc: 30, double: 30 });
    expect(await page.$$eval("#workers tr", (trs) => trs.length)).toBe(3); // header + 2 workers
    await page.screenshot({ path: join(dir, "report.png"), fullPage: true });
    expect(requested).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  }, 300_000);
});
