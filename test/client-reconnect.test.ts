/**
 * A client whose TCP connection drops reconnects and resumes: the scheduler keeps its keys for a
 * grace period. The drop is real: the client talks through a TCP proxy the test cuts.
 */
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer, connect as netConnect, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Client, LocalCluster } from "../src/index.js";
import { makeArray, sumArray, whenFileExists } from "./fixtures/runtime-tasks.js";

/** A TCP proxy to the scheduler that can cut every connection through it, and refuse new ones. */
class Proxy {
  private readonly sockets = new Set<Socket>();
  private refusing = false;
  private constructor(
    private readonly server: Server,
    readonly address: string,
  ) {}

  static async start(target: string): Promise<Proxy> {
    const m = /^tcp:\/\/([^:]+):(\d+)$/.exec(target)!;
    let proxy: Proxy | undefined;
    const server = createServer((inbound) => {
      if (proxy!.refusing) return void inbound.destroy();
      const outbound = netConnect({ host: m[1], port: Number(m[2]) });
      for (const s of [inbound, outbound]) {
        proxy!.sockets.add(s);
        s.on("close", () => proxy!.sockets.delete(s));
        s.on("error", () => {});
      }
      inbound.pipe(outbound);
      outbound.pipe(inbound);
      inbound.on("close", () => outbound.destroy());
      outbound.on("close", () => inbound.destroy());
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    proxy = new Proxy(server, `tcp://127.0.0.1:${port}`);
    return proxy;
  }

  /** Drop every connection (as a network fault would); optionally refuse new ones until `allow`. */
  cut(refuse = false): void {
    this.refusing = refuse;
    for (const s of this.sockets) s.destroy();
  }

  allow(): void {
    this.refusing = false;
  }

  get open(): number {
    return this.sockets.size;
  }

  close(): Promise<void> {
    this.cut(true);
    return new Promise((r) => this.server.close(() => r()));
  }
}

describe("client reconnect and the scheduler's grace period", () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });

  async function setup(clientGraceMs: number, reconnectTimeoutMs: number) {
    const cluster = await LocalCluster.start({ nWorkers: 1, threadsPerWorker: 2, processes: false, clientGraceMs });
    cleanup.push(() => cluster.close());
    const proxy = await Proxy.start(cluster.address);
    cleanup.push(() => proxy.close());
    const client = await Client.connect({ address: proxy.address, reconnectTimeoutMs });
    cleanup.push(() => client.close());
    const dir = mkdtempSync(join(tmpdir(), "skein-reconnect-"));
    return { cluster, proxy, client, dir };
  }

  it("resumes after a dropped connection: results made while away arrive, gathers in flight are answered", async () => {
    const { cluster, proxy, client, dir } = await setup(30_000, 20_000);
    const go = join(dir, "go");
    const slow = client.submit(whenFileExists, go, 42);
    const arr = client.submit(makeArray, 1000, 2);
    expect(await client.submit(sumArray, arr).result()).toBe(2000);
    expect(slow.status).toBe("pending");

    proxy.cut();
    // While the client is away the slow task finishes; its key-in-memory message is lost.
    writeFileSync(go, "");
    const value = slow.result();
    const gathered = arr.result();
    const later = client.submit(sumArray, arr);
    expect(await value).toBe(42);
    expect((await gathered).length).toBe(1000);
    expect(await later.result()).toBe(2000);
    expect(existsSync(go)).toBe(true);
  }, 60_000);

  it("fails pending futures with the scheduler's reason once the grace period has passed", async () => {
    const { cluster, proxy, client, dir } = await setup(200, 20_000);
    const f = client.submit(whenFileExists, join(dir, "never"), 1);
    await vi.waitFor(() => expect(cluster.scheduler.state.taskCount).toBe(1));
    proxy.cut(true);
    // The scheduler forgets the client after 200 ms and releases its task.
    await vi.waitFor(() => expect(cluster.scheduler.state.taskCount).toBe(0), { timeout: 10_000 });
    proxy.allow();
    await expect(f.result()).rejects.toThrow(/is unknown or its grace period expired \(its keys were released\)/);
    expect(client.closed).toBe(true);
    writeFileSync(join(dir, "never"), "");
  }, 60_000);

  it("gives up after reconnectTimeoutMs, naming the last attempt's error", async () => {
    const { proxy, client, dir } = await setup(30_000, 300);
    const f = client.submit(whenFileExists, join(dir, "never"), 1);
    proxy.cut(true);
    await expect(f.result()).rejects.toThrow(/could not reconnect within 300 ms \(last attempt: /);
    writeFileSync(join(dir, "never"), "");
  }, 60_000);

  it("releases a closing client's keys at once (goodbye), without waiting for the grace period", async () => {
    const { cluster, client } = await setup(60_000, 20_000);
    const arr = client.submit(makeArray, 10, 1);
    await arr.result();
    expect(cluster.scheduler.state.taskCount).toBe(1);
    await client.close();
    await vi.waitFor(() => expect(cluster.scheduler.state.taskCount).toBe(0), { timeout: 10_000 });
  }, 60_000);
});
