/**
 * Hostile input: random and mutated frames sent to a scheduler process's TCP port and to a
 * worker process's peer listener — garbage bytes, bad magic, truncated frames, oversized length
 * announcements, valid framing around garbage msgpack, batches that are not arrays of messages,
 * valid messages with wrong field types, unknown ops, bit flips of valid frames — each after a
 * run of valid, harmless frames on the same connection. Every malformed frame must close only
 * its own connection; afterwards both processes are alive and a normal computation succeeds.
 *
 * `npm test`: 10,000 frames; `SKEIN_TEST_FULL=1`: 100,000. Frames after the first malformed one
 * on a connection are never counted (the server has closed it by then).
 */
import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "../src/index.js";
import { childExecArgv } from "../src/cluster/worker-process.js";
import { spawnWorkerProcess, type WorkerProcess } from "../src/cluster/worker-process.js";
import { encodeFrame } from "../src/comm/framing.js";
import { encodeBatch, packValue } from "../src/comm/serialize.js";
import { parseTcpAddress } from "../src/comm/tcp.js";
import type { Message } from "../src/protocol.js";
import { inc } from "./fixtures/tasks.js";

const FULL = process.env.SKEIN_TEST_FULL === "1";
const FRAMES = FULL ? 100_000 : 10_000;
const PARALLEL = 8;
const SCHEDULER_SCRIPT = fileURLToPath(new URL("./fixtures/fuzz-scheduler.ts", import.meta.url));

// ---- deterministic randomness ----

let seed = 0x5eed1234;
function rand(): number {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (n: number): number => Math.floor(rand() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
function bytes(n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = int(256);
  return b;
}

// ---- frames ----

const frame = (msgs: unknown[]): Buffer => Buffer.concat(encodeBatch(msgs as Message[]));
const rawFrame = (header: Uint8Array, parts: Uint8Array[] = []): Buffer => Buffer.concat(encodeFrame([header, ...parts]));
const key = (): string => pick(["x", "inc-1", "", "k".repeat(int(300)), `key-${int(1000)}`, "__proto__", "constructor"]);
const keys = (): string[] => Array.from({ length: int(4) }, key);

/** Values of the wrong type for any field. */
const WRONG: readonly unknown[] = [null, 7, -1.5, NaN, "str", true, [], [1, "a"], {}, { a: 1 }, new Uint8Array(3), new Float64Array(2), 2n ** 70n, new Map([[1, 2]]), new Set([1])];

/** Valid messages of every op (some only valid from another role: the server must close on them too). */
function template(): Record<string, unknown> {
  const run = new Uint8Array([1, 2, 3]);
  const err = { name: "Error", message: "m", stack: "", key: "k", fn: "f", worker: "w" };
  return pick<Record<string, unknown>>([
    { op: "hello-client", client: "fuzz" },
    { op: "hello-worker", address: "tcp://127.0.0.1:9", name: "w", nthreads: 1, memoryLimit: 0, resources: {}, pid: 1 },
    { op: "hello-peer" },
    { op: "update-graph", tasks: [{ key: "t", run, deps: [], name: "t" }], wanted: ["t"] },
    { op: "client-releases-keys", keys: ["a"] },
    { op: "client-desires-keys", keys: ["a"] },
    { op: "cancel-keys", keys: ["a"] },
    { op: "scatter", id: 1, data: { a: 1 }, broadcast: false },
    { op: "gather", id: 1, keys: ["a"] },
    { op: "cluster-info", id: 1 },
    { op: "compute-task", key: "k", run, name: "k", deps: [{ key: "d", workers: ["tcp://x:1"], nbytes: 8 }], priority: [0] },
    { op: "free-keys", keys: ["a"] },
    { op: "task-finished", key: "k", nbytes: 8, type: "number", hasValue: true, value: 1, startstops: [] },
    { op: "task-erred", key: "k", error: err, startstops: [] },
    { op: "add-keys", keys: ["k"], nbytes: { k: 8 } },
    { op: "missing-data", key: "k", errantWorker: "w" },
    { op: "heartbeat", memory: { managed: 0, spilled: 0, rss: 0 }, executing: 0, ready: 0 },
    { op: "worker-status", status: "paused" },
    { op: "get-data", id: 1, keys: ["a"] },
    { op: "data", id: 1, data: {}, missing: [] },
    { op: "steal-request", key: "k" },
    { op: "close", reason: "r" },
  ]);
}

/** A valid message with one field replaced by a value of another type. */
function wrongTyped(): Record<string, unknown> {
  const m = template();
  const fields = Object.keys(m).filter((f) => f !== "op");
  if (fields.length === 0) return { op: "hello-peer", token: pick(WRONG.filter((w) => typeof w !== "string")) };
  const f = pick(fields);
  let w = pick(WRONG);
  while (typeof w === typeof m[f] && Array.isArray(w) === Array.isArray(m[f]) && !(w === null)) w = pick(WRONG);
  return { ...m, [f]: w };
}

/** One malformed frame (its bytes) and whether the socket must be ended right after (truncation). */
function malformed(valid: Buffer): { data: Buffer; kind: string } {
  switch (int(11)) {
    case 0:
      return { data: bytes(1 + int(200)), kind: "random bytes" };
    case 1: {
      const b = Buffer.from(valid);
      b[int(3)] ^= 1 + int(255);
      return { data: b, kind: "bad magic" };
    }
    case 2:
      return { data: valid.subarray(0, int(valid.length)), kind: "truncated" };
    case 3: {
      // Announce far more than any limit: a 2^40-byte binary frame, or a huge header.
      const b = Buffer.from(rawFrame(Buffer.from([0x90]), [Buffer.alloc(1)]));
      const at = 8 + 8 * (1 + int(1)) - (int(2) === 0 ? 8 : 0);
      b.writeUInt32LE(0, at);
      b.writeUInt32LE(256, at + 4);
      return { data: b, kind: "oversized announcement" };
    }
    case 4: {
      // Announce 64 MB that never come.
      const b = Buffer.from(rawFrame(Buffer.from([0x90]), [Buffer.alloc(1)]));
      b.writeUInt32LE(64 * 2 ** 20, 8 + 8);
      return { data: b, kind: "announced, never sent" };
    }
    case 5:
      return { data: rawFrame(bytes(1 + int(100)), int(2) === 0 ? [] : [bytes(int(50))]), kind: "garbage msgpack" };
    case 6:
      return { data: rawFrame(packValue(pick<unknown>([{ op: "x" }, 5, "str", null, { a: [1] }]))), kind: "not an array" };
    case 7:
      return { data: frame([pick(WRONG.filter((w) => typeof w !== "object" || w === null || Array.isArray(w)))]), kind: "non-object message" };
    case 8:
      return { data: frame([{ op: pick(["", "nope", "hello", "x".repeat(500), "get-data2"]), keys: [] }]), kind: "unknown op" };
    case 9: {
      const b = Buffer.from(valid);
      for (let i = 0, n = 1 + int(4); i < n; i++) b[8 + int(b.length - 8)] ^= 1 << int(8);
      return { data: b, kind: "bit flips" };
    }
    default:
      return { data: frame([wrongTyped()]), kind: "wrong field types" };
  }
}

function harmless(target: "scheduler" | "worker"): Buffer {
  if (target === "worker") return frame([{ op: "get-data", id: int(1e6), keys: keys() }]);
  return frame([
    pick<Record<string, unknown>>([
      { op: "client-releases-keys", keys: keys() },
      { op: "client-desires-keys", keys: keys() },
      { op: "cancel-keys", keys: keys() },
      { op: "gather", id: int(1e6), keys: keys() },
      { op: "cluster-info", id: int(1e6) },
    ]),
  ]);
}

/** One connection: a hello and harmless frames, then (usually) one malformed frame. Returns frames counted. */
function session(port: number, target: "scheduler" | "worker", kinds: Map<string, number>): Promise<number> {
  const parts: Buffer[] = [];
  let counted = 0;
  const greet = int(4) !== 0;
  if (greet) {
    parts.push(frame([target === "worker" ? { op: "hello-peer" } : { op: "hello-client", client: `fuzz-${int(1000)}` }]));
    const n = int(20);
    for (let i = 0; i < n; i++) parts.push(harmless(target));
  }
  counted = parts.length;
  if (int(10) !== 0) {
    const m = malformed(parts.length > 0 ? parts[parts.length - 1] : harmless(target));
    parts.push(m.data);
    kinds.set(m.kind, (kinds.get(m.kind) ?? 0) + 1);
    counted++;
  }
  return new Promise<number>((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`fuzz: ${target} did not close a connection within 10 s`));
    }, 10_000);
    socket.on("error", () => {}); // resets from a server that closed early are expected
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(counted);
    });
    socket.resume();
    socket.on("connect", () => {
      for (const p of parts) socket.write(p);
      socket.end();
    });
  });
}

async function fuzz(port: number, target: "scheduler" | "worker", frames: number): Promise<Map<string, number>> {
  const kinds = new Map<string, number>();
  let sent = 0;
  const lane = async (): Promise<void> => {
    while (sent < frames) {
      const n = await session(port, target, kinds);
      sent += n; // not `sent += await ...`: that reads `sent` before the await and loses other lanes' counts
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, lane));
  kinds.set("total frames", sent);
  console.log(`fuzz ${target}: ${JSON.stringify(Object.fromEntries(kinds))}`);
  return kinds;
}

const alive = (p: ChildProcess): boolean => p.exitCode === null && p.signalCode === null;

let scheduler: ChildProcess;
let schedulerAddress = "";
let schedulerLog = "";
let worker: WorkerProcess;

beforeAll(async () => {
  scheduler = spawn(process.execPath, [...childExecArgv(), SCHEDULER_SCRIPT], { stdio: ["ignore", "pipe", "pipe"] });
  scheduler.stderr!.on("data", (b: Buffer) => {
    // Keep the tail only: every refused frame is logged.
    schedulerLog = (schedulerLog + b.toString()).slice(-200_000);
  });
  schedulerAddress = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("fuzz: scheduler did not start within 30 s")), 30_000);
    let out = "";
    scheduler.stdout!.on("data", (b: Buffer) => {
      out += b.toString();
      const line = out.split("\n")[0];
      if (out.includes("\n")) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { address: string }).address);
      }
    });
    scheduler.once("exit", (code) => reject(new Error(`fuzz: scheduler exited with ${code}: ${schedulerLog}`)));
  });
  worker = spawnWorkerProcess({ config: { scheduler: schedulerAddress, nthreads: 1, name: "fuzz-worker" }, onStderr: () => {} });
  await worker.started;
}, 60_000);

afterAll(async () => {
  await worker?.stop(5000);
  if (scheduler && alive(scheduler)) {
    const exited = new Promise((r) => scheduler.once("exit", r));
    scheduler.kill("SIGTERM");
    const t = setTimeout(() => scheduler.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(t);
  }
});

describe(`frame fuzzing (${FRAMES} frames per target)`, () => {
  it("the scheduler closes each malformed connection and keeps serving", async () => {
    const kinds = await fuzz(parseTcpAddress(schedulerAddress).port, "scheduler", FRAMES);
    expect(kinds.get("total frames")).toBeGreaterThanOrEqual(FRAMES);
    expect(kinds.size).toBe(12); // every kind of malformed frame was sent
    expect(alive(scheduler)).toBe(true);
    // Wrong field types reached the scheduler's message check and were refused by it.
    expect(schedulerLog).toMatch(/skein scheduler: closing connection with (client|unidentified peer) .*: malformed message: /);
  }, FULL ? 600_000 : 120_000);

  it("the worker closes each malformed peer connection and keeps serving", async () => {
    const address = (await worker.started).address;
    const kinds = await fuzz(parseTcpAddress(address).port, "worker", FRAMES);
    expect(kinds.get("total frames")).toBeGreaterThanOrEqual(FRAMES);
    expect(alive(worker.child)).toBe(true);
  }, FULL ? 600_000 : 120_000);

  it("afterwards both processes are alive and a normal computation succeeds", async () => {
    expect(alive(scheduler)).toBe(true);
    expect(alive(worker.child)).toBe(true);
    const client = await Client.connect(schedulerAddress);
    try {
      const workers = await client.workers();
      expect(workers.map((w) => w.name)).toEqual(["fuzz-worker"]);
      expect(await client.gather(client.map(inc, [1, 2, 3, 4]))).toEqual([2, 3, 4, 5]);
    } finally {
      await client.close();
    }
  }, 60_000);
});
