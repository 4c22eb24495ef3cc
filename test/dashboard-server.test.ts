/**
 * The dashboard's HTTP + websocket server beside a real SchedulerServer (a fake worker over
 * the in-process transport, no worker processes): routes, the websocket update, the worker
 * table from heartbeats, the port fallback, plugins that throw, and closing with the scheduler.
 */
import { createServer, type Server } from "node:net";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { connect } from "../src/comm/index.js";
import type { Connection } from "../src/comm/types.js";
import { Dashboard, type DashboardUpdate } from "../src/dashboard/index.js";
import type { Message } from "../src/protocol.js";
import { SchedulerServer } from "../src/scheduler/server.js";

let counter = 0;
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function scheduler(log?: (level: string, msg: string) => void): Promise<SchedulerServer> {
  const s = await SchedulerServer.start({ listen: [`inproc://dash-test-${process.pid}-${++counter}`], log });
  cleanup.push(() => s.close());
  return s;
}

/** A worker that only says hello and sends what the test gives it. */
async function fakeWorker(s: SchedulerServer, name: string): Promise<Connection> {
  const conn = await connect(s.address("inproc"));
  const welcomed = new Promise<void>((resolve) => {
    conn.onMessages = (msgs: Message[]) => {
      if (msgs.some((m) => m.op === "welcome")) resolve();
    };
  });
  conn.send({ op: "hello-worker", address: `inproc://${name}`, name, nthreads: 2, memoryLimit: 1000, resources: {}, pid: 1 });
  await welcomed;
  cleanup.push(() => conn.close());
  return conn;
}

function firstUpdate(url: string): Promise<DashboardUpdate> {
  const ws = new WebSocket(url);
  cleanup.push(() => ws.terminate());
  return new Promise((resolve, reject) => {
    ws.once("message", (data) => resolve(JSON.parse(String(data)) as DashboardUpdate));
    ws.once("error", reject);
  });
}

describe("dashboard server", () => {
  it("serves the page, its scripts, uPlot and a JSON snapshot; 404 elsewhere", async () => {
    const s = await scheduler();
    const d = await Dashboard.start(s, { port: 0 });
    expect(d.url).toBe(`http://127.0.0.1:${d.port}/status`);
    expect(d.fellBack).toBe(false);
    const base = `http://127.0.0.1:${d.port}`;
    const page = await fetch(`${base}/status`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const html = await page.text();
    expect(html).toContain("<title>skein dashboard</title>");
    for (const src of ["uplot.min.js", "task-stream.js", "dashboard.js"]) expect(html).toContain(`<script src="${src}"></script>`);
    expect(await (await fetch(`${base}/uplot.min.js`)).text()).toContain("uPlot");
    expect(await (await fetch(`${base}/task-stream.js`)).text()).toContain("window.SkeinTaskStream = TaskStream");
    expect((await fetch(`${base}/uplot.min.css`)).headers.get("content-type")).toBe("text/css; charset=utf-8");
    const root = await fetch(`${base}/`, { redirect: "manual" });
    expect([root.status, root.headers.get("location")]).toEqual([302, "/status"]);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/status`, { method: "POST" })).status).toBe(405);
    const snap = (await (await fetch(`${base}/api/snapshot`)).json()) as DashboardUpdate;
    expect(snap.type).toBe("update");
    expect(snap.states).toEqual({ released: 0, waiting: 0, "no-worker": 0, queued: 0, processing: 0, memory: 0, erred: 0, forgotten: 0 });
    expect(snap.workers).toEqual([]);
  });

  it("pushes the worker table (memory and CPU from heartbeats) and the task stream over the websocket", async () => {
    const s = await scheduler();
    const d = await Dashboard.start(s, { port: 0, intervalMs: 50 });
    const w = await fakeWorker(s, "w-a");
    w.send({ op: "heartbeat", memory: { managed: 100, spilled: 20, rss: 500 }, executing: 1, ready: 0, cpu: 37.5 });
    s.taskStream.add("inc-0a1b2c3d4e", "inproc://w-a", [{ action: "compute", start: 1000, stop: 1010 }], false, 8);
    s.taskStream.add("inc-5f6a7b8c9d", "inproc://w-a", [{ action: "compute", start: 1001, stop: 1012 }], false, 8);
    // The heartbeat travels through the in-process transport: wait for the scheduler to have it.
    await expect.poll(() => s.workerInfo()[0]?.memory.rss, { timeout: 10_000 }).toBe(500);
    const u = await firstUpdate(`ws://127.0.0.1:${d.port}/ws`);
    expect(u.workers).toEqual([
      { address: "inproc://w-a", name: "w-a", nthreads: 2, memoryLimit: 1000, managed: 100, spilled: 20, rss: 500, cpu: 37.5, executing: 1, processing: 0, nkeys: 0, received: 0, receivedBytes: 0, paused: false },
    ]);
    expect(u.stream).toEqual({
      fnNames: ["inc"],
      rows: ["w-a:0", "w-a:1"],
      start: [1000, 1001],
      stop: [1010, 1012],
      fn: [0, 0],
      row: [0, 1],
      action: [0, 0],
      erred: [0, 0],
      dropped: 0,
    });
    expect(d.viewerCount).toBe(1);
  });

  it("moves to a free port when the one asked for is taken, and checks its options", async () => {
    const s = await scheduler();
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    cleanup.push(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
    const taken = (blocker.address() as AddressInfo).port;
    const d = await Dashboard.start(s, { port: taken });
    expect(d.fellBack).toBe(true);
    expect(d.requestedPort).toBe(taken);
    expect(d.port).not.toBe(taken);
    expect((await fetch(d.url)).status).toBe(200);
    await expect(Dashboard.start(s, { port: 70000 })).rejects.toThrow("skein dashboard: port must be an integer in 0..65535, got 70000");
    await expect(Dashboard.start(s, { port: 0, intervalMs: 1 })).rejects.toThrow("skein dashboard: intervalMs must be >= 10, got 1");
  });

  it("closes with the scheduler; a plugin that throws is logged, not fatal", async () => {
    const logs: string[] = [];
    const s = await scheduler((level, msg) => logs.push(`${level} ${msg}`));
    s.addPlugin({
      onEvents: () => {
        throw new Error("plugin bug");
      },
    });
    const d = await Dashboard.start(s, { port: 0 });
    await fakeWorker(s, "w-b");
    expect(s.nWorkers).toBe(1);
    expect(logs.some((l) => l.startsWith("warn skein scheduler: plugin failed: Error: plugin bug"))).toBe(true);
    await s.close();
    await expect(fetch(d.url)).rejects.toThrow();
  });
});
