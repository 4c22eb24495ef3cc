/**
 * A worker process that dies mid-graph: its running and stored keys are recomputed on the
 * others and every future still resolves to the right value.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Client } from "../src/index.js";
import { add } from "./fixtures/tasks.js";
import { pid, spin } from "./fixtures/runtime-tasks.js";

let client: Client | undefined;

afterEach(async () => {
  await client?.close();
  client = undefined;
});

describe("worker loss", () => {
  it("recomputes lost and running work from lineage", async () => {
    client = await Client.connect({ nWorkers: 2, threadsPerWorker: 1, nanny: false });
    const cluster = client.cluster!;
    // Leaves take a while, so some are running and some are stored when the worker dies.
    const leaves = client.map(spin, Array(40).fill(20), Array.from({ length: 40 }, (_, i) => i));
    let level = leaves;
    while (level.length > 1) {
      const next = [];
      for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? client.submit(add, level[i], level[i + 1]) : level[i]);
      level = next;
    }
    const root = level[0];
    // Wait until both workers hold results, then kill one of them.
    await client.wait(leaves.slice(0, 6));
    const victim = cluster.processes[0];
    victim.kill("SIGKILL");
    expect(await root.result()).toBe((39 * 40) / 2);
    expect(await client.gather(leaves)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    const workers = await client.workers();
    expect(workers).toHaveLength(1);
    // The survivor is the other process.
    expect(await client.submitWith({ pure: false }, pid).result()).not.toBe(victim.pid);
  });
});
