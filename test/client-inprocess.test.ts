/**
 * `processes: false`: workers inside the client's process, tasks still on worker threads.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client, delayed, TaskError } from "../src/index.js";
import { add, fail, inc, sum } from "./fixtures/tasks.js";
import { makeArray, sumArray } from "./fixtures/runtime-tasks.js";

let client: Client;

beforeAll(async () => {
  client = await Client.connect({ processes: false, nWorkers: 2 });
});

afterAll(async () => {
  await client?.close();
});

describe("LocalCluster with processes: false", () => {
  it("runs no worker processes", async () => {
    expect(client.cluster!.processes).toHaveLength(0);
    const workers = await client.workers();
    expect(workers.map((w) => w.address).every((a) => a.startsWith("inproc://"))).toBe(true);
  });

  it("maps, reduces and computes graphs", async () => {
    const xs = client.map(inc, Array.from({ length: 500 }, (_, i) => i));
    expect(await client.submit(sum, xs).result()).toBe((499 * 500) / 2 + 500);
    expect(await delayed(add)(delayed(inc)(1), 2).compute()).toBe(4);
    expect(await client.get({ a: 1, b: [inc, "a"], c: [add, "a", "b"] }, "c")).toBe(3);
  });

  it("moves typed arrays between in-process workers", async () => {
    const parts = client.map(makeArray, [100_000, 100_000], [1, 2]);
    const sums = client.map(sumArray, parts);
    expect(await client.gather(sums)).toEqual([100_000, 200_000]);
  });

  it("reports task errors", async () => {
    const err = await client.submit(fail, 1).exception();
    expect(err).toBeInstanceOf(TaskError);
    expect((err as TaskError).worker).toMatch(/^inproc:\/\//);
  });
});
