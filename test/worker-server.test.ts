/**
 * WorkerServer against a fake scheduler over real TCP: handshake, compute-task ->
 * task-finished (with the value inline), peer transfer between two workers, scatter, gather,
 * heartbeats, shutdown when the scheduler goes away; and the worker process entry.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { connect, listen } from "../src/comm/index.js";
import { packRun } from "../src/comm/serialize.js";
import type { Connection, Listener } from "../src/comm/types.js";
import { KeyRef } from "../src/graph/spec.js";
import type { Message } from "../src/protocol.js";
import { WorkerServer } from "../src/worker/server.js";

const TASKS = new URL("./fixtures/tasks.ts", import.meta.url).href;
const MAIN = fileURLToPath(new URL("../src/worker/main.ts", import.meta.url));

type Op = Message["op"];
type Of<O extends Op> = Extract<Message, { op: O }>;

/** One worker's connection as the fake scheduler sees it: messages queue until awaited. */
class WorkerLink {
  private readonly inbox: Message[] = [];
  private waiter: (() => void) | null = null;
  closedReason: string | null = null;

  constructor(readonly conn: Connection) {
    conn.onMessages = (msgs) => {
      this.inbox.push(...msgs);
      this.waiter?.();
    };
    conn.onClose = (reason) => {
      this.closedReason = reason;
      this.waiter?.();
    };
  }

  /** The next message with this op (others of different ops are skipped and kept). */
  async next<O extends Op>(op: O): Promise<Of<O>> {
    for (;;) {
      const i = this.inbox.findIndex((m) => m.op === op);
      if (i >= 0) return this.inbox.splice(i, 1)[0] as Of<O>;
      if (this.closedReason !== null) throw new Error(`connection closed while waiting for ${op}: ${this.closedReason}`);
      await new Promise<void>((resolve) => (this.waiter = resolve));
      this.waiter = null;
    }
  }

  send(msg: Message): void {
    this.conn.send(msg);
  }
}

class FakeScheduler {
  readonly workers: WorkerLink[] = [];
  private joined: ((w: WorkerLink) => void)[] = [];

  private constructor(
    readonly listener: Listener,
    private readonly refuse: string | null,
  ) {}

  static async start(refuse: string | null = null): Promise<FakeScheduler> {
    let s: FakeScheduler | undefined;
    const listener = await listen("tcp://127.0.0.1:0", (conn) => s!.accept(conn));
    s = new FakeScheduler(listener, refuse);
    return s;
  }

  get address(): string {
    return this.listener.address;
  }

  private accept(conn: Connection): void {
    const link = new WorkerLink(conn);
    void link.next("hello-worker").then(() => {
      if (this.refuse !== null) {
        conn.send({ op: "refused", reason: this.refuse });
        return;
      }
      conn.send({ op: "welcome", id: "w" });
      this.workers.push(link);
      this.joined.shift()?.(link);
    });
  }

  /** The link of a worker once its hello arrived and was welcomed. */
  link(i: number): Promise<WorkerLink> {
    if (this.workers[i]) return Promise.resolve(this.workers[i]);
    return new Promise((resolve) => this.joined.push(resolve));
  }

  close(): Promise<void> {
    return this.listener.close();
  }
}

function computeTask(key: string, name: string, args: unknown[], deps: { key: string; workers: string[]; nbytes: number }[] = []): Message {
  return { op: "compute-task", key, run: packRun({ fn: { module: TASKS, name }, args }), name, deps, priority: [0] };
}

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function startWorker(scheduler: FakeScheduler, extra: { nthreads?: number; name?: string } = {}): Promise<WorkerServer> {
  const w = await WorkerServer.start({ scheduler: scheduler.address, nthreads: extra.nthreads ?? 1, name: extra.name, heartbeatMs: 30 });
  cleanup.push(() => w.close());
  return w;
}

describe("WorkerServer", () => {
  it("joins, computes a task and reports it with the value inline", async () => {
    const s = await FakeScheduler.start();
    cleanup.push(() => s.close());
    const w = await startWorker(s, { name: "w-a" });
    const link = await s.link(0);
    expect(w.address).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    link.send(computeTask("x", "inc", [41]));
    const fin = await link.next("task-finished");
    expect(fin).toMatchObject({ op: "task-finished", key: "x", nbytes: 8, type: "number", hasValue: true, value: 42 });
    expect(fin.startstops[0].action).toBe("compute");
    // The scheduler (for a client) gathers it.
    link.send({ op: "get-data", id: 7, keys: ["x", "nope"] });
    expect(await link.next("data")).toEqual({ op: "data", id: 7, data: { x: 42 }, missing: ["nope"] });
    // Heartbeats sent before the task finished are still queued: wait for a current one.
    let hb = await link.next("heartbeat");
    while (hb.memory.managed !== 8) hb = await link.next("heartbeat");
    expect(hb.executing).toBe(0);
    expect(hb.memory.rss).toBeGreaterThan(0);
  });

  it("reports a failing task with the remote error", async () => {
    const s = await FakeScheduler.start();
    cleanup.push(() => s.close());
    const w = await startWorker(s);
    const link = await s.link(0);
    link.send(computeTask("f", "fail", []));
    const erred = await link.next("task-erred");
    expect(erred.error).toMatchObject({ name: "Error", message: "boom", key: "f", fn: "fail", worker: w.address });
    expect(erred.error.stack).toContain("fixtures/tasks.ts");
  });

  it("fetches a dependency from a peer and keeps big results off the report", async () => {
    const s = await FakeScheduler.start();
    cleanup.push(() => s.close());
    const a = await startWorker(s, { name: "a" });
    const linkA = await s.link(0);
    const b = await startWorker(s, { name: "b" });
    const linkB = await s.link(1);
    // Scatter a 1 MB array to A.
    const big = new Float64Array(131072).map((_, i) => i);
    linkA.send({ op: "update-data", id: 3, data: { arr: big } });
    expect(await linkA.next("update-data-reply")).toEqual({ op: "update-data-reply", id: 3, nbytes: { arr: 1048576 } });
    expect((a.data.get("arr") as Float64Array).buffer).toBeInstanceOf(SharedArrayBuffer);
    // B computes from it: fetches it from A first.
    linkB.send(computeTask("s", "sumShared", [new KeyRef("arr")], [{ key: "arr", workers: [a.address], nbytes: 1048576 }]));
    expect(await linkB.next("add-keys")).toEqual({ op: "add-keys", keys: ["arr"], nbytes: { arr: 1048576 } });
    const fin = await linkB.next("task-finished");
    expect(fin.value).toEqual({ sum: (131072 * 131071) / 2, shared: true });
    // A big result stays on the worker.
    linkB.send(computeTask("r", "float64Range", [100_000]));
    expect(await linkB.next("task-finished")).toMatchObject({ key: "r", nbytes: 800_000, type: "Float64Array", hasValue: false });
    expect((b.data.get("r") as Float64Array)[99_999]).toBe(99_999);
    // Freed keys leave the store.
    linkB.send({ op: "free-keys", keys: ["r", "arr"] });
    linkB.send({ op: "get-data", id: 1, keys: ["r", "arr"] });
    expect(await linkB.next("data")).toEqual({ op: "data", id: 1, data: {}, missing: ["r", "arr"] });
  });

  it("reports missing data when the listed holder is unreachable", async () => {
    const s = await FakeScheduler.start();
    cleanup.push(() => s.close());
    await startWorker(s);
    const link = await s.link(0);
    const dead = await listen("tcp://127.0.0.1:0", () => {});
    const deadAddress = dead.address;
    await dead.close();
    link.send(computeTask("z", "inc", [new KeyRef("q")], [{ key: "q", workers: [deadAddress], nbytes: 8 }]));
    expect(await link.next("missing-data")).toEqual({ op: "missing-data", key: "q", errantWorker: deadAddress });
  });

  it("refuses peers with a wrong token", async () => {
    const s = await FakeScheduler.start();
    cleanup.push(() => s.close());
    const w = await WorkerServer.start({ scheduler: s.address, nthreads: 1, token: "secret" });
    cleanup.push(() => w.close());
    const peer = await connect(w.address);
    const got = new Promise<Message[]>((resolve) => (peer.onMessages = resolve));
    peer.send({ op: "hello-peer", token: "wrong" });
    expect(await got).toEqual([{ op: "refused", reason: "authentication failed: wrong or missing token" }]);
    peer.close();
  });

  it("fails to start when the scheduler refuses it", async () => {
    const s = await FakeScheduler.start("authentication failed");
    cleanup.push(() => s.close());
    await expect(WorkerServer.start({ scheduler: s.address, nthreads: 1 })).rejects.toThrow(
      `skein worker: scheduler ${s.address} refused this worker: authentication failed`,
    );
  });

  it("shuts down when the scheduler connection is lost", async () => {
    const s = await FakeScheduler.start();
    cleanup.push(() => s.close());
    const w = await startWorker(s);
    const link = await s.link(0);
    link.conn.close("scheduler going away");
    await w.closed;
    await expect(connect(w.address)).rejects.toThrow(/cannot connect/);
  });
});

describe("worker process (main.ts)", () => {
  it("joins from SKEIN_WORKER_OPTIONS and exits 0 when the scheduler goes away", async () => {
    const s = await FakeScheduler.start();
    cleanup.push(() => s.close());
    const child = spawn(process.execPath, ["--import", "tsx", MAIN, "--nthreads", "2"], {
      env: { ...process.env, SKEIN_WORKER_OPTIONS: JSON.stringify({ scheduler: s.address, name: "proc-w", nthreads: 1 }) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    const link = await s.link(0);
    link.send(computeTask("p", "inc", [1]));
    expect(await link.next("task-finished")).toMatchObject({ key: "p", value: 2 });
    link.conn.close("bye");
    expect(await exited).toBe(0);
    expect(stdout).toBe("");
    expect(stderr).toBe("");
  });

  it("exits 1 with a message on bad options", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", MAIN, "--nthreads", "zero"], {
      env: { ...process.env, SKEIN_WORKER_OPTIONS: "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
    expect(code).toBe(1);
    expect(stderr).toBe("skein worker: no scheduler address: pass --scheduler tcp://host:port or set it in SKEIN_WORKER_OPTIONS\n");
  });
});
