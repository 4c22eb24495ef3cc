/**
 * The rest of the client API on worker processes: asCompleted batches and raiseErrors,
 * priorities, resources, nested gather, scatterMany, wait timeouts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client, TaskError } from "../src/index.js";
import { envVar, fail, inc, sumShared } from "./fixtures/tasks.js";
import { sleepThen, spin } from "./fixtures/runtime-tasks.js";

let client: Client;

beforeAll(async () => {
  client = await Client.connect({ nWorkers: 2, threadsPerWorker: 1, resources: { GPU: 1 } });
});

afterAll(async () => {
  await client?.close();
});

describe("client API", () => {
  it("yields asCompleted batches and, with raiseErrors false, errors as values", async () => {
    const futs = [...client.map(inc, [1, 2, 3]), client.submit(fail, "x")];
    const seen: unknown[] = [];
    for await (const batch of client.asCompleted(futs, { withResults: true, raiseErrors: false }).batches()) {
      for (const [, v] of batch) seen.push(v);
    }
    expect(seen).toHaveLength(4);
    expect(seen.filter((v) => typeof v === "number").sort()).toEqual([2, 3, 4]);
    expect(seen.find((v) => v instanceof TaskError)).toBeInstanceOf(TaskError);
    // With raiseErrors (the default) the failure is thrown from the loop.
    await expect(
      (async () => {
        for await (const _ of client.asCompleted([client.submit(fail, "y")], { withResults: true })) void _;
      })(),
    ).rejects.toThrow(/boom/);
  });

  it("runs higher-priority tasks first among queued ones", async () => {
    // Two busy tasks occupy both workers; then low and high priority tasks queue behind them.
    const blockers = client.with({ pure: false }).map(spin, [150, 150], [0, 0]);
    const low = client.submitWith({ pure: false, priority: -10 }, sleepThen, 0, "low");
    const high = client.submitWith({ pure: false, priority: 10 }, sleepThen, 0, "high");
    const order: string[] = [];
    for await (const [, v] of client.asCompleted([low, high], { withResults: true })) order.push(v);
    await client.gather(blockers);
    expect(order[0]).toBe("high");
  });

  it("holds abstract resources while running and waits when no worker has enough", async () => {
    const gpu = client.with({ resources: { GPU: 1 }, pure: false }).map(sleepThen, [20, 20, 20, 20], [1, 2, 3, 4]);
    expect(await client.gather(gpu)).toEqual([1, 2, 3, 4]);
    const tooBig = client.submitWith({ resources: { GPU: 2 }, pure: false }, inc, 1);
    const r = await client.wait([tooBig], { timeoutMs: 300 }).catch((e: Error) => e);
    expect(r).toBeInstanceOf(Error);
    expect((r as Error).message).toMatch(/wait timed out after 300 ms with 1 of 1 futures pending/);
    expect(client.cluster!.scheduler.state.taskState(tooBig.key)).toBe("no-worker");
    await client.cancel(tooBig);
  });

  it("gathers nested structures of futures in their shape", async () => {
    const [a, b] = client.map(inc, [10, 20]);
    const out = await client.gather({ pair: [a, b], one: a, plain: 7 } as never);
    expect(out).toEqual({ pair: [11, 21], one: 11, plain: 7 });
  });

  it("scatters many items over the workers", async () => {
    const futs = await client.scatterMany([1, 2, 3, 4]);
    expect(await client.gather(client.map(inc, futs))).toEqual([2, 3, 4, 5]);
  });

  it("scatters the same data again right after releasing it (content keys), and it stays", async () => {
    for (let round = 0; round < 5; round++) {
      const data = new Float64Array([1, 2, 3, round]);
      const [first] = await client.scatterMany([data], { broadcast: true });
      first.release();
      // Same content, same key: the pending release of the first Future must not free it.
      const [second] = await client.scatterMany([data], { broadcast: true });
      expect(second.key).toBe(first.key);
      const sum = client.submit(sumShared, second);
      await client.wait([sum], { timeoutMs: 5_000 });
      expect((await sum.result()).sum).toBe(6 + round);
      expect(client.cluster!.scheduler.state.taskState(second.key)).toBe("memory");
      second.release();
      sum.release();
    }
  });

  it("runs tasks with OpenMP's passive waiting unless the environment says otherwise", async () => {
    const want = process.env.OMP_WAIT_POLICY ?? "PASSIVE";
    expect(await client.gather(client.with({ pure: false }).map(envVar, ["OMP_WAIT_POLICY", "OMP_WAIT_POLICY"]))).toEqual([want, want]);
  });

  it("computes persisted delayed values once", async () => {
    const { delayed } = await import("../src/index.js");
    const d = delayed(inc)(41);
    const [p] = client.persist([d]);
    expect(await p.result()).toBe(42);
    expect(client.cluster!.scheduler.state.taskState(d.key)).toBe("memory");
  });
});
