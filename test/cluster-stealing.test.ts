/**
 * Work stealing end to end: tasks queued on a busy worker move to a worker that joins later,
 * a real `skein worker` process.
 */
import { afterAll, describe, expect, it } from "vitest";
import { Client, LocalCluster } from "../src/index.js";
import { killAll, skein } from "./cli-helpers.js";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gatedSpinName, makeArray } from "./fixtures/runtime-tasks.js";

describe("work stealing on a live cluster", () => {
  afterAll(killAll);

  it("a worker that joins late takes over queued tasks from the busy one", async () => {
    const cluster = await LocalCluster.start({ nWorkers: 1 });
    const client = await Client.connect({ cluster });
    try {
      const input = client.submit(makeArray, 100, 1);
      await input.result();
      // Eight 200 ms tasks, all placed on the only worker (they need its input); they wait for
      // the gate, so the backlog is still there when the second worker has joined.
      const gate = join(mkdtempSync(join(tmpdir(), "skein-steal-")), "gate");
      const tasks = Array.from({ length: 8 }, (_, i) => client.submit(gatedSpinName, gate, 200, i, input));
      const thief = skein(["worker", cluster.address, "--name", "thief", "--nthreads", "1"]);
      await cluster.scheduler.waitForWorkers(2);
      writeFileSync(gate, "");
      const names = await Promise.all(tasks.map((t) => t.result()));
      const moved = names.filter((n) => n === "thief").length;
      expect(moved).toBeGreaterThan(0);
      expect(cluster.scheduler.state.stolen).toBe(moved);
      thief.child.kill("SIGTERM");
      await thief.exited();
    } finally {
      await client.close();
      await cluster.close();
    }
  }, 90_000);
});
