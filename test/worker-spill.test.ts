/**
 * Worker memory end to end: a worker process with a 50 MB limit spills 10 MB results to files
 * in its local directory and still computes the right answers from them (and hands them to the
 * client); an in-process worker with injected process memory spills on RSS, pauses (the
 * scheduler stops sending it work) and resumes.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Client } from "../src/index.js";
import { SchedulerServer } from "../src/scheduler/server.js";
import { WorkerServer } from "../src/worker/server.js";
import { inc } from "./fixtures/tasks.js";
import { makeArray, sumArray } from "./fixtures/runtime-tasks.js";

const MB = 2 ** 20;
const N = (10 * MB) / 8; // doubles in a 10 MiB Float64Array

/** Every regular file under `dir`, as paths relative to it. */
function filesUnder(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as import("node:fs").Dirent[])
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name).slice(dir.length + 1));
}

/** Polls `cond` every 10 ms; fails after `ms`. */
async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let client: Client | undefined;
let dir = "";
const cleanup: (() => Promise<void>)[] = [];

afterEach(async () => {
  await client?.close();
  client = undefined;
  for (const f of cleanup.splice(0).reverse()) await f();
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = "";
});

describe("spilling in a worker process", () => {
  it("moves results past 60% of a 50 MB limit to disk and brings them back for tasks, a peer and the client", async () => {
    dir = mkdtempSync(join(tmpdir(), "skein-spill-e2e-"));
    client = await Client.connect({
      nWorkers: 2,
      memoryLimit: 50 * 1e6,
      // Only the managed-memory rule: a Node process's RSS alone is near 50 MB.
      memorySpill: false,
      memoryPause: false,
      memoryTerminate: false,
      localDirectory: dir,
    });
    const fills = [1, 2, 3, 4, 5, 6, 7, 8];
    // All results on worker-0, so it must spill; worker-1 then reads them from it (get-data).
    const arrays = client.with({ workers: ["worker-0"] }).map(makeArray, fills.map(() => N), fills);
    await client.wait(arrays, { timeoutMs: 60_000 });
    // 80 MiB of results, 30 MB target: at least five arrays are on disk, each as one file.
    const spilled = filesUnder(dir).filter((f) => f.endsWith(".bin"));
    expect(spilled.length).toBeGreaterThanOrEqual(5);
    expect(spilled.every((f) => /^skein-nanny-[^/]+\/skein-worker-[^/]+\/\d+\.bin$/.test(f))).toBe(true);
    const sums = await client.gather(client.map(sumArray, arrays));
    expect(sums).toEqual(fills.map((f) => f * N));
    // New keys (pure: false), pinned to the other worker: it fetches the spilled inputs from worker-0.
    const onPeer = await client.gather(client.with({ workers: ["worker-1"], pure: false }).map(sumArray, arrays.slice(0, 3)));
    expect(onPeer).toEqual([1, 2, 3].map((f) => f * N));
    const first = (await arrays[0].result()) as Float64Array;
    expect(first).toBeInstanceOf(Float64Array);
    expect([first.length, first[0], first[N - 1]]).toEqual([N, 1, 1]);
    await client.close();
    client = undefined;
    // The worker's spill directory went with it.
    expect(filesUnder(dir)).toEqual([]);
  }, 120_000);
});

describe("process memory: spill, pause and resume (in-process worker, injected RSS)", () => {
  it("spills on RSS, stops taking tasks while paused and finishes them once resumed", async () => {
    dir = mkdtempSync(join(tmpdir(), "skein-pause-"));
    const scheduler = await SchedulerServer.start({ listen: [`inproc://skein-pause-test-${process.pid}`] });
    cleanup.push(() => scheduler.close());
    let rss = 10 * MB;
    const worker = await WorkerServer.start({
      scheduler: scheduler.address("inproc"),
      listen: `inproc://skein-pause-worker-${process.pid}`,
      nthreads: 1,
      memoryLimit: 100 * MB,
      memoryProbe: () => rss,
      memoryMonitorMs: 10,
      localDirectory: dir,
      log: () => {},
    });
    cleanup.push(() => worker.close());
    client = await Client.connect(scheduler.address("inproc"));

    const held = client.map(makeArray, [1000, 1000, 1000], [1, 2, 3]);
    await client.wait(held, { timeoutMs: 10_000 });
    expect(worker.spill.diskBytes).toBe(0);
    // RSS above spill (70 MB): the least recently used results go to disk.
    rss = 75 * MB;
    await until("an RSS-driven spill", () => worker.spill.spilled >= 1);
    expect(worker.spill.memoryBytes).toBe(0); // 75 - 60 MB to shed is more than all it holds

    // Above pause (80 MB): the worker pauses and the scheduler stops choosing it.
    rss = 85 * MB;
    await until("the pause", () => worker.state.paused && scheduler.state.workers()[0].paused);
    const f = client.submit(inc, 41);
    await expect(client.wait([f], { timeoutMs: 300 })).rejects.toThrow("skein: wait timed out after 300 ms with 1 of 1 futures pending");
    expect(scheduler.state.taskState(f.key)).toBe("queued"); // a root task waits in the scheduler queue

    // Back below pause: it resumes, the task runs, and spilled results read back correctly.
    rss = 10 * MB;
    expect(await f.result()).toBe(42);
    expect(scheduler.state.workers()[0].paused).toBe(false);
    expect(await client.gather(client.map(sumArray, held))).toEqual([1000, 2000, 3000]);
  }, 60_000);
});
