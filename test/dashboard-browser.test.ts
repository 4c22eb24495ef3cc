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
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { Client, LocalCluster, type Future } from "../src/index.js";
import { double, fail, inc, slowInc } from "./fixtures/tasks.js";

const dir = mkdtempSync(join(tmpdir(), "skein-dashboard-"));
let cluster: LocalCluster;
let client: Client;
let browser: Browser;
/** Screenshots stay in `dir` when a test failed, for a look at what the page showed. */
let keep = false;
const keepOnFailure = (): void =>
  onTestFailed(() => {
    keep = true;
  });

beforeAll(async () => {
  cluster = await LocalCluster.start({ nWorkers: 2, threadsPerWorker: 2, dashboard: { port: 0 }, startTimeoutMs: 120_000 });
  client = await Client.connect({ cluster, address: cluster.inprocAddress });
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"], timeout: 120_000 });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await client?.close();
  await cluster?.close();
  if (keep) process.stderr.write(`dashboard test: screenshots kept in ${dir}\n`);
  else rmSync(dir, { recursive: true, force: true });
}, 120_000);

// The project's TypeScript has no DOM types; the little the in-page callbacks touch is declared
// here (module scope). Callbacks, not strings: the dashboard's CSP forbids eval.
interface PageElement {
  readonly textContent: string | null;
  readonly dataset: Record<string, string | undefined>;
}
declare const document: { querySelector(sel: string): PageElement | null; querySelectorAll(sel: string): Iterable<PageElement> };
interface Stream {
  counts(): Record<string, number>;
}
declare const window: { skeinDashboard?: { connected: boolean; stream: Stream }; skeinReport?: { stream: Stream } };

/** What the page's progress table says for one function. */
async function progressRow(page: Page, fn: string): Promise<Record<string, number> | null> {
  return page.evaluate((name) => {
    const tr = [...document.querySelectorAll("#progress tr[data-fn]")].find((r) => r.dataset.fn === name);
    if (!tr) return null;
    const d = tr.dataset;
    return { total: Number(d.total), done: Number(d.done), memory: Number(d.memory), erred: Number(d.erred), processing: Number(d.processing), waiting: Number(d.waiting) };
  }, fn);
}

/** Bars per function in the task stream, as the page counts them. */
function streamCounts(page: Page, which: "dashboard" | "report"): Promise<Record<string, number>> {
  return page.evaluate((w) => ((w === "dashboard" ? window.skeinDashboard : window.skeinReport)?.stream.counts() ?? {}), which);
}

/** Data attributes of the elements matching `sel`, as [attribute a, number attribute b] pairs. */
function pairs(page: Page, sel: string, a: string, b: string): Promise<[string, number][]> {
  return page.evaluate(([s, x, y]) => [...document.querySelectorAll(s)].map((e): [string, number] => [e.dataset[x] ?? "", Number(e.dataset[y])]), [sel, a, b] as const);
}

describe("dashboard in Chromium", () => {
  it("shows the task stream of both functions and the scheduler's counts", async () => {
    keepOnFailure();
    const link = cluster.dashboardLink!;
    expect(link).toMatch(/^http:\/\/127\.0\.0\.1:[1-9][0-9]*\/status$/);
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(link);
    await page.waitForFunction(() => window.skeinDashboard?.connected === true, null, { timeout: 60_000 });

    const n = 40;
    const a: Future<number>[] = client.map(slowInc, Array.from({ length: n }, (_, i) => i));
    const b: Future<number>[] = client.map(double, a);
    expect(await client.gather(b)).toEqual(Array.from({ length: n }, (_, i) => 2 * (i + 1)));

    // Every bar reached the page: n of each function in the task stream's legend.
    await page.waitForFunction(
      (want) => {
        const c = window.skeinDashboard?.stream.counts() ?? {};
        return c.slowInc === want && c.double === want;
      },
      n,
      { timeout: 60_000 },
    );
    expect(await streamCounts(page, "dashboard")).toEqual({ slowInc: n, double: n });
    expect(Object.fromEntries(await pairs(page, "#stream-legend .fn", "fn", "count"))).toEqual({ slowInc: n, double: n });

    // Both lists of futures are held: all 2n results are in memory on the scheduler.
    await page.waitForFunction((want) => document.querySelector('#states td[data-state="memory"]')?.textContent === String(want), 2 * n, { timeout: 60_000 });
    const counts = cluster.scheduler.state.counts();
    const shown = await page.evaluate(() => Object.fromEntries([...document.querySelectorAll("#states td[data-state]")].map((td) => [td.dataset.state, Number(td.textContent)])));
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
    await page.waitForFunction((want) => document.querySelector('#progress tr[data-fn="slowInc"]')?.dataset.done === String(want), n, { timeout: 60_000 });
    expect(await progressRow(page, "slowInc")).toEqual({ total: n, done: n, memory: 0, erred: 0, processing: 0, waiting: 0 });
    expect(await progressRow(page, "double")).toEqual({ total: n, done: 0, memory: n, erred: 0, processing: 0, waiting: 0 });

    // A failure: erred on the page as on the scheduler, drawn in the stream.
    const bad = client.submit(fail, 1);
    expect((await bad.exception())?.message).toContain("boom");
    await page.waitForFunction(() => document.querySelector('#progress tr[data-fn="fail"]')?.dataset.erred === "1", null, { timeout: 60_000 });
    expect(await progressRow(page, "fail")).toEqual({ total: 1, done: 0, memory: 0, erred: 1, processing: 0, waiting: 0 });
    await page.waitForFunction(() => document.querySelector('#states td[data-state="erred"]')?.textContent === "1", null, { timeout: 60_000 });
    expect(cluster.scheduler.state.counts().erred).toBe(1);
    expect((await streamCounts(page, "dashboard")).fail).toBe(1);

    expect(await page.locator("#workers tr[data-worker]").count()).toBe(2);
    const shot = join(dir, "dashboard.png");
    await page.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(10_000);
    expect(errors).toEqual([]);
    await page.close();
  }, 300_000);

  it("writes a performance report that opens offline and shows the tasks run", async () => {
    keepOnFailure();
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
    await page.waitForFunction(() => window.skeinReport !== undefined, null, { timeout: 60_000 });
    expect(await page.title()).toBe("two functions");
    expect(await streamCounts(page, "report")).toEqual({ inc: 30, double: 30 });
    expect(Object.fromEntries(await pairs(page, "#functions tr[data-fn]", "fn", "tasks"))).toEqual({ inc: 30, double: 30 });
    expect(await page.locator("#workers tr").count()).toBe(3); // header + 2 workers
    expect(await page.evaluate(() => typeof (globalThis as { uPlot?: unknown }).uPlot)).toBe("function");
    await page.screenshot({ path: join(dir, "report.png"), fullPage: true });
    expect(requested).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  }, 300_000);
});
