/**
 * skein's rabit tracker against scripted participants speaking XGBoost 1.7's side of the
 * protocol (rabit's allreduce_base.cc): magic, rank, world size, task id, command; rank
 * assignment in task-id order once all have joined; the link set-up loop; print and shutdown.
 */
import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { RabitTracker } from "../estimators/xgboost/tracker.js";

/** A scripted participant: writes little-endian int32s / strings, reads exact byte counts. */
class Fake {
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  closed = false;
  private constructor(readonly sock: Socket) {
    sock.on("data", (b: Buffer) => {
      this.buf = Buffer.concat([this.buf, b]);
      for (const w of this.waiters.splice(0)) w();
    });
    sock.on("close", () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static async open(t: RabitTracker, taskId: string, cmd: string, rank = -1, worldSize = -1): Promise<Fake> {
    const sock = connect(t.port, t.host);
    await new Promise<void>((resolve, reject) => sock.once("connect", resolve).once("error", reject));
    const f = new Fake(sock);
    f.ints(0xff99);
    expect(await f.int()).toBe(0xff99);
    f.ints(rank, worldSize);
    f.str(taskId);
    f.str(cmd);
    return f;
  }

  ints(...v: number[]): void {
    const b = Buffer.alloc(v.length * 4);
    v.forEach((x, i) => b.writeInt32LE(x, i * 4));
    this.sock.write(b);
  }

  str(s: string): void {
    this.ints(Buffer.byteLength(s));
    this.sock.write(s);
  }

  async read(n: number): Promise<Buffer> {
    while (this.buf.length < n) {
      if (this.closed) throw new Error("closed");
      await new Promise<void>((r) => this.waiters.push(r));
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  async int(): Promise<number> {
    return (await this.read(4)).readInt32LE(0);
  }

  async strIn(): Promise<string> {
    return (await this.read(await this.int())).toString();
  }

  /** rabit's start: rank, parent, world, neighbours, prev, next; then the link loop with no links yet. */
  async start(port: number): Promise<{ rank: number; parent: number; world: number; nn: number[]; prev: number; next: number; connect: [string, number, number][]; accept: number }> {
    const rank = await this.int();
    const parent = await this.int();
    const world = await this.int();
    const k = await this.int();
    const nn: number[] = [];
    for (let i = 0; i < k; i++) nn.push(await this.int());
    const prev = await this.int();
    const next = await this.int();
    this.ints(0); // no good links yet
    const nconn = await this.int();
    const accept = await this.int();
    const conn: [string, number, number][] = [];
    for (let i = 0; i < nconn; i++) conn.push([await this.strIn(), await this.int(), await this.int()]);
    this.ints(0, port); // no connect errors; our listening port
    return { rank, parent, world, nn, prev, next, connect: conn, accept };
  }
}

let tracker: RabitTracker | undefined;
afterEach(async () => {
  await tracker?.close();
  tracker = undefined;
});

describe("RabitTracker", () => {
  it("ranks participants by task id once all joined, tells later ranks whom to connect to", async () => {
    const logs: string[] = [];
    tracker = await RabitTracker.start({ host: "127.0.0.1", nWorkers: 2, taskIds: ["skein-xgb-0", "skein-xgb-1"], log: (m) => logs.push(m) });
    expect(tracker.workerArgs()).toEqual({ DMLC_TRACKER_URI: "127.0.0.1", DMLC_TRACKER_PORT: tracker.port });
    // rank 1's task joins first: nothing is assigned until rank 0's joins too.
    const b = await Fake.open(tracker, "skein-xgb-1", "start");
    const a = await Fake.open(tracker, "skein-xgb-0", "start");
    const ra = await a.start(5000);
    const rb = await b.start(6000);
    await tracker.started;
    expect(ra).toEqual({ rank: 0, parent: -1, world: 2, nn: [1], prev: 1, next: 1, connect: [], accept: 1 });
    expect(rb).toEqual({ rank: 1, parent: 0, world: 2, nn: [0], prev: 0, next: 0, connect: [["127.0.0.1", 5000, 0]], accept: 0 });
    expect([...tracker.joined].sort()).toEqual(["skein-xgb-0", "skein-xgb-1"]);

    const p = await Fake.open(tracker, "skein-xgb-0", "print", 0);
    p.str("hello from rank 0\n");
    for (const r of [0, 1]) await Fake.open(tracker, `skein-xgb-${r}`, "shutdown", r);
    while (tracker.shutdown.size < 2 || logs.length < 1) await new Promise((r) => setImmediate(r));
    expect(logs).toEqual(["hello from rank 0"]);
    expect([...tracker.shutdown].sort()).toEqual([0, 1]);
  });

  it("abort closes the connections of participants waiting for their rank and rejects started", async () => {
    tracker = await RabitTracker.start({ host: "127.0.0.1", nWorkers: 3 });
    const a = await Fake.open(tracker, "x", "start");
    while (!tracker.joined.has("x")) await new Promise((r) => setImmediate(r));
    tracker.abort(new Error("gave up"));
    await expect(tracker.started).rejects.toThrow("gave up");
    await expect(a.int()).rejects.toThrow("closed");
    // Still listening: a participant whose init failed can report shutdown (rank -1).
    await Fake.open(tracker, "x", "shutdown");
  });

  it("refuses a wrong magic number and a world size it does not have", async () => {
    tracker = await RabitTracker.start({ host: "127.0.0.1", nWorkers: 2 });
    const sock = connect(tracker.port, "127.0.0.1");
    await new Promise<void>((r) => sock.once("connect", () => r()));
    const bad = Buffer.alloc(4);
    bad.writeInt32LE(1234, 0);
    sock.write(bad);
    await new Promise<void>((r) => sock.once("close", () => r()));

    const f = await Fake.open(tracker, "t", "start");
    await Fake.open(tracker, "u", "start", -1, 5);
    await expect(tracker.started).rejects.toThrow("skein xgboost tracker: rendezvous with task u failed: task u expects 5 participants, the tracker has 2");
    await expect(f.int()).rejects.toThrow("closed");
  });
});
