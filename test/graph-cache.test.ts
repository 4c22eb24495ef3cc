/**
 * The disk cache of pure tasks (src/graph/cache.ts): the client-side rewrite, runs through a
 * Client with `cache`, and resume after a search process is killed with SIGKILL half-way.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "../src/client/client.js";
import { applyDiskCache, cacheFileName, loadCached, storeCached } from "../src/graph/cache.js";
import { normalizeGraph } from "../src/graph/raw.js";
import { locateFunction } from "../src/functions/index.js";
import { ALPHAS, markedAdd, markedSquare } from "./fixtures/cache-tasks.js";

const tmp: string[] = [];
function tempDir(tag: string): string {
  const d = mkdtempSync(path.join(tmpdir(), `skein-cache-${tag}-`));
  tmp.push(d);
  return d;
}
afterAll(() => {
  for (const d of tmp) rmSync(d, { recursive: true, force: true });
});

/**
 * The client tells the scheduler about released keys in a setImmediate after the current tick; a
 * key resubmitted before that is still in the scheduler's memory and is not recomputed at all.
 * One turn of the event loop sends the release first (messages keep their order).
 */
const releasesSent = () => new Promise<void>((resolve) => setImmediate(resolve));

const markers = (dir: string, prefix: string) => readdirSync(dir).filter((f) => f.startsWith(prefix));

describe("applyDiskCache", () => {
  it("cached keys become loads without inputs; the rest store; what only fed hits is pruned", () => {
    const dir = tempDir("unit");
    const m = tempDir("unit-m");
    storeCached(dir, "a", 4);
    const graph = { a: [markedSquare, m, 2], b: [markedSquare, m, 3], c: [markedAdd, m, "a", "b"], lit: 7 };
    const tasks = new Map(normalizeGraph(graph, locateFunction).map((t) => [t.key, t]));
    const r = applyDiskCache(tasks, ["c"], { dir });
    expect(r.hits).toEqual(["a"]);
    expect(r.misses).toEqual(["b", "c"]);
    const a = r.tasks.get("a")!;
    expect([a.fn?.name, a.args, a.deps]).toEqual(["loadCached", [dir, "a"], []]);
    expect(r.tasks.get("c")!.fn?.name).toBe("storeCached");
    expect(r.tasks.get("c")!.deps).toEqual(["a", "b"]);
    expect([...r.tasks.keys()]).toEqual(["a", "b", "c"]); // "lit" is not needed by "c"
    // Both files cached: "c" alone is a load, and nothing else is needed.
    storeCached(dir, "c", 13);
    const r2 = applyDiskCache(tasks, ["c"], dir);
    expect([...r2.tasks.keys()]).toEqual(["c"]);
    expect(loadCached(dir, "c")).toBe(13);
  });

  it("file names: plain keys as they are, others sanitised with a hash; temporaries are ignored", () => {
    expect(cacheFileName("search-fit-estimator-abc")).toBe("search-fit-estimator-abc.skc");
    const odd = cacheFileName("('x', 3)/../y");
    expect(odd).toMatch(/^__x___3__\.\._y-[0-9a-f]+\.skc$/);
    expect(cacheFileName("('x', 3)/../y")).toBe(odd);
    expect(cacheFileName("('x', 4)/../y")).not.toBe(odd);
    const dir = tempDir("tmpfile");
    writeFileSync(path.join(dir, "k.skc.tmp-1-0-1"), "partial");
    const tasks = new Map(normalizeGraph({ k: [markedSquare, dir, 1] }, locateFunction).map((t) => [t.key, t]));
    expect(applyDiskCache(tasks, ["k"], dir).hits).toEqual([]);
  });

  it("errors name the file and the key", () => {
    const dir = tempDir("err");
    expect(() => loadCached(dir, "nope")).toThrow(`skein cache: cannot read "${path.join(dir, "nope.skc")}" for key "nope"`);
    expect(() => applyDiskCache(new Map(), [], { dir: "" })).toThrow('skein cache: "dir" must be a non-empty path, got ""');
  });
});

describe("client.get / computeGraph with cache", () => {
  let client: Client;
  beforeAll(async () => {
    client = await Client.connect({ nWorkers: 2, threadsPerWorker: 1, processes: false });
  }, 60_000);
  afterAll(async () => {
    await client?.close();
  });

  it("a second run loads every cached key and runs nothing; a missing file reruns only its task", async () => {
    const dir = tempDir("client");
    const m = tempDir("client-m");
    const graph = { a: [markedSquare, m, 2], b: [markedSquare, m, 3], c: [markedAdd, m, "a", "b"] };
    expect(await client.get(graph, ["c", "a"], { cache: dir })).toEqual([13, 4]);
    expect(markers(m, "").length).toBe(3);
    expect(readdirSync(dir).sort()).toEqual(["a.skc", "b.skc", "c.skc"]);
    await releasesSent();
    expect(await client.get(graph, "c", { cache: dir })).toBe(13);
    expect(markers(m, "").length).toBe(3);
    unlinkSync(path.join(dir, "c.skc"));
    await releasesSent();
    expect(await client.get(graph, "c", { cache: dir })).toBe(13);
    expect(markers(m, "add").length).toBe(2);
    expect(markers(m, "square").length).toBe(2);
    // Only keys passing the filter are cached.
    const dir2 = tempDir("client-filter");
    await client.get({ p: [markedSquare, m, 5], q: [markedAdd, m, "p", 1] }, "q", { cache: { dir: dir2, include: (k) => k === "p" } });
    expect(readdirSync(dir2)).toEqual(["p.skc"]);
  }, 60_000);
});

describe("resume a search killed half-way", () => {
  const child = path.join(path.dirname(new URL(import.meta.url).pathname), "fixtures", "cache-tasks.ts");
  const nodeArgs = ["--conditions=source", "--import", "tsx", child];
  const nFits = ALPHAS.length * 3;

  function runToEnd(cache: string, m: string): { mean: number[]; split0: number[]; rank: number[]; bestParams: unknown } {
    const r = spawnSync(process.execPath, [...nodeArgs, cache, m], { encoding: "utf8", timeout: 120_000, env: { ...process.env, SKEIN_TEST_FIT_MS: "0" } });
    if (r.status !== 0) throw new Error(`child exited ${r.status}: ${r.stderr.slice(-2000)}`);
    const lines = r.stdout.trim().split("\n");
    return JSON.parse(lines[lines.length - 1]);
  }

  it("re-running skips the fits already cached and gives the uninterrupted results", async () => {
    const cache = tempDir("resume");
    const m1 = tempDir("resume-m1");
    const m2 = tempDir("resume-m2");
    const m3 = tempDir("resume-m3");
    const cachedFits = () => readdirSync(cache).filter((f) => f.startsWith("search-fit-") && f.endsWith(".skc"));

    // 1. Run with slow fits; SIGKILL once a few fits are on disk.
    const proc = spawn(process.execPath, [...nodeArgs, cache, m1], { env: { ...process.env, SKEIN_TEST_FIT_MS: "150" }, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    proc.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) => proc.on("exit", (code, signal) => resolve(signal ?? code)));
    let exitedEarly = false;
    void exited.then(() => (exitedEarly = true));
    await new Promise<void>((resolve, reject) => {
      const poll = () => {
        if (exitedEarly) return reject(new Error(`child exited before the kill: ${stderr.slice(-2000)}`));
        if (cachedFits().length >= 4) {
          proc.kill("SIGKILL");
          return resolve();
        }
        setTimeout(poll, 10);
      };
      poll();
    });
    expect(await exited).toBe("SIGKILL");
    const done = cachedFits().length;
    const ranFirst = markers(m1, "fit-").length;
    expect(done).toBeGreaterThanOrEqual(4);
    expect(done).toBeLessThan(nFits);
    expect(ranFirst).toBeGreaterThanOrEqual(done);

    // 2. Re-run to the end with the same cache: only the fits not on disk run (+ the refit on all 60 rows).
    const resumed = runToEnd(cache, m2);
    const cvFits2 = markers(m2, "fit-").filter((f) => f.split("-")[2] === "40");
    expect(cvFits2.length).toBe(nFits - done);
    expect(markers(m2, "fit-").filter((f) => f.split("-")[2] === "60").length).toBe(1);
    expect(cachedFits().length).toBe(nFits);

    // 3. An uninterrupted run without a cache gives the same results.
    const fresh = runToEnd("-", m3);
    expect(markers(m3, "fit-").length).toBe(nFits + 1);
    expect(resumed).toEqual(fresh);

    // 4. A third run on the full cache fits nothing but the refit.
    const m4 = tempDir("resume-m4");
    expect(runToEnd(cache, m4)).toEqual(fresh);
    expect(markers(m4, "fit-").map((f) => f.split("-")[2])).toEqual(["60"]);
  }, 180_000);
});
