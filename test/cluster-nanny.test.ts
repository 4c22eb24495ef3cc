/**
 * Nannies with real worker processes: a killed worker is replaced and the replacement joins as a
 * new worker; a worker past its memory `terminate` fraction is restarted; a worker that leaves
 * on its own is not; a first start that fails is reported; and a task that keeps killing its
 * workers ends in KilledWorker naming the task and the workers.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Client, TaskError } from "../src/index.js";
import { Nanny } from "../src/cluster/nanny.js";
import { SchedulerServer } from "../src/scheduler/server.js";
import { inc } from "./fixtures/tasks.js";
import { pid } from "./fixtures/runtime-tasks.js";
import { killWorker } from "./fixtures/chaos-tasks.js";

const MB = 2 ** 20;

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let client: Client | undefined;
const cleanup: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  await client?.close();
  client = undefined;
  for (const f of cleanup.splice(0).reverse()) await f();
});

describe("LocalCluster with nannies (the default)", () => {
  it("replaces a SIGKILLed worker with a new process that joins as a new worker", async () => {
    client = await Client.connect({ nWorkers: 2 });
    const cluster = client.cluster!;
    const before = (await client.workers()).map((w) => w.address).sort();
    const victim = cluster.processes[0];
    victim.kill("SIGKILL");
    await until("a replacement worker", async () => {
      const now = (await client!.workers()).map((w) => w.address);
      return now.length === 2 && now.some((a) => !before.includes(a));
    });
    expect(cluster.workerNannies.map((n) => n.restarts).reduce((a, b) => a + b, 0)).toBe(1);
    expect(cluster.processes.map((p) => p.pid)).not.toContain(victim.pid);
    expect(await client.gather(client.map(inc, [1, 2, 3]))).toEqual([2, 3, 4]);
  }, 60_000);

  it("marks a task that keeps killing its workers as KilledWorker after allowedFailures (3)", async () => {
    client = await Client.connect({ nWorkers: 1 });
    const f = client.submitWith({ pure: false }, killWorker);
    const err = await f.result().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TaskError);
    const te = err as TaskError;
    expect(te.remoteName).toBe("KilledWorker");
    expect(te.key).toBe(f.key);
    const m = new RegExp(`^skein: task "${f.key}" was running on 4 workers that died: (tcp://127\\.0\\.0\\.1:\\d+), (tcp://127\\.0\\.0\\.1:\\d+), (tcp://127\\.0\\.0\\.1:\\d+), (tcp://127\\.0\\.0\\.1:\\d+)$`).exec(te.remoteMessage);
    expect(m).not.toBeNull();
    expect(new Set(m!.slice(1)).size).toBe(4); // four different worker processes
    // The nanny brought a fifth worker up, and the cluster still computes.
    expect(await client.submit(inc, 1).result()).toBe(2);
    expect(client.cluster!.workerNannies[0].restarts).toBe(4);
  }, 90_000);
});

describe("Nanny", () => {
  async function scheduler(): Promise<SchedulerServer> {
    const s = await SchedulerServer.start({ listen: ["tcp://127.0.0.1:0"] });
    cleanup.push(() => s.close());
    return s;
  }

  it("kills and restarts a worker whose RSS passes terminate (0.95 of the limit)", async () => {
    const s = await scheduler();
    // The first incarnation reports 96 MiB once `heavy` is set; every other process 10 MiB.
    let heavy = -1;
    const logs: string[] = [];
    const nanny = new Nanny({
      config: { scheduler: s.address("tcp"), nthreads: 1, name: "big", memoryLimit: 100 * MB },
      // Only the nanny's rule is under test; the worker's own pause/spill stay off.
      memoryFractions: { spill: false, pause: false },
      rssProbe: (p) => (p === heavy ? 96 * MB : 10 * MB),
      memoryPollMs: 20,
      log: (_l, m) => logs.push(m),
    });
    cleanup.push(() => nanny.close());
    const first = await nanny.started;
    const firstPid = nanny.process!.pid;
    heavy = firstPid!;
    await until("the restart", () => nanny.restarts === 1 && nanny.address !== null);
    expect(nanny.address).not.toBe(first.address);
    expect(nanny.process!.pid).not.toBe(firstPid);
    expect(logs[0]).toBe(`skein nanny: restarting big (pid ${firstPid}): process memory 96 MiB is above the terminate threshold 95 MiB`);
    await until("the new worker to join", () => s.nWorkers === 1 && s.workerInfo()[0].address === nanny.address);
  }, 60_000);

  it("stops when its worker leaves on its own, and empties its directory", async () => {
    const s = await scheduler();
    const parent = mkdtempSync(join(tmpdir(), "skein-nanny-test-"));
    cleanup.push(() => rmSync(parent, { recursive: true, force: true }));
    const nanny = new Nanny({ config: { scheduler: s.address("tcp"), nthreads: 1, localDirectory: parent }, log: () => {} });
    cleanup.push(() => nanny.close());
    await nanny.started;
    expect(existsSync(nanny.directory)).toBe(true);
    await s.close(); // tells the worker to close: it exits 0
    await nanny.stopped;
    expect(nanny.restarts).toBe(0);
    expect(nanny.process).toBeNull();
    expect(existsSync(nanny.directory)).toBe(false);
  }, 60_000);

  it("reports a first start that fails instead of retrying it", async () => {
    const nanny = new Nanny({ config: { scheduler: "tcp://127.0.0.1:1", nthreads: 1, name: "nowhere" }, onStderr: () => {}, log: () => {} });
    cleanup.push(() => nanny.close());
    await expect(nanny.started).rejects.toThrow(/^skein worker: nowhere exited before joining \(exit code 1\): skein comm: cannot connect to tcp:\/\/127\.0\.0\.1:1: /);
    await nanny.stopped;
    expect(nanny.restarts).toBe(0);
  }, 60_000);

  it("restarts a crashed worker at once and limits restarts per minute", async () => {
    const s = await scheduler();
    const logs: string[] = [];
    const nanny = new Nanny({ config: { scheduler: s.address("tcp"), nthreads: 1, name: "crashy" }, maxRestartsPerMinute: 1, log: (_l, m) => logs.push(m) });
    cleanup.push(() => nanny.close());
    await nanny.started;
    nanny.process!.kill("SIGKILL");
    await until("the first restart", () => nanny.restarts === 1 && nanny.address !== null);
    nanny.process!.kill("SIGKILL");
    await until("the rate limit", () => logs.some((l) => l.startsWith("skein nanny: crashy restarted 1 times within a minute; next restart in ")));
    expect(nanny.restarts).toBe(1);
    expect(nanny.process).toBeNull();
    expect(logs.filter((l) => / died \(SIGKILL\); starting a new one$/.test(l))).toHaveLength(2);
  }, 60_000);
});
