/**
 * checkMessage: well-formed messages pass; a wrong-typed field, an unknown op or a non-message
 * is named exactly. And at the scheduler's TCP edge, a wrong-typed message closes only that
 * connection, with the reason logged.
 */
import { afterEach, describe, expect, it } from "vitest";
import { connect } from "../src/comm/index.js";
import type { Connection } from "../src/comm/types.js";
import type { Message } from "../src/protocol.js";
import { checkBatch, checkMessage } from "../src/protocol-check.js";
import { SchedulerServer } from "../src/scheduler/server.js";

const run = new Uint8Array([1]);
const err = { name: "Error", message: "m", stack: "s", key: "k", fn: "f", worker: "w" };

const VALID: Message[] = [
  { op: "hello-client", client: "c" },
  { op: "hello-worker", address: "tcp://h:1", name: "w", nthreads: 2, memoryLimit: 0, resources: { GPU: 1 }, pid: 9, token: "t" },
  { op: "hello-peer" },
  { op: "update-graph", tasks: [{ key: "a", run, deps: [], name: "a" }, { key: "b", run, deps: ["a"], name: "b", priority: 1, retries: 2, workers: ["w"], allowOtherWorkers: true, resources: { GPU: 1 }, order: 3 }], wanted: ["b"] },
  { op: "scatter", id: 1, data: { a: new Float64Array(2) }, broadcast: true, workers: ["w"] },
  { op: "compute-task", key: "k", run, name: "k", deps: [{ key: "d", workers: ["w"], nbytes: 8 }], priority: [0, 1, 2], resources: { GPU: 1 } },
  { op: "task-finished", key: "k", nbytes: 8, type: "number", hasValue: true, value: { any: "thing" }, startstops: [{ action: "compute", start: 1, stop: 2 }] },
  { op: "task-erred", key: "k", error: err, startstops: [] },
  { op: "key-erred", key: "k", error: { ...err, causeKey: "c" } },
  { op: "heartbeat", memory: { managed: 1, spilled: 2, rss: 3 }, executing: 0, ready: 0 },
  { op: "worker-status", status: "paused" },
  { op: "steal-response", key: "k", state: null },
  { op: "data", id: 3, data: { k: 1 }, missing: ["x"] },
];

describe("checkMessage", () => {
  it("accepts well-formed messages of every shape", () => {
    for (const m of VALID) expect([m.op, checkMessage(m)]).toEqual([m.op, null]);
    expect(checkBatch(VALID)).toBeNull();
  });

  it("names the op, the field and the bad value", () => {
    expect(checkMessage({ op: "free-keys", keys: 7 })).toBe('free-keys: field "keys" must be an array of keys (strings), got number 7');
    expect(checkMessage({ op: "free-keys", keys: ["a", 1] })).toBe('free-keys: field "keys" must be an array of keys (strings), got an array');
    expect(checkMessage({ op: "gather", id: "1", keys: [] })).toBe('gather: field "id" must be an integer, got "1"');
    expect(checkMessage({ op: "heartbeat", memory: { managed: "1" }, executing: 0, ready: 0 })).toBe('heartbeat: field "memory" must be {managed, spilled, rss} numbers, got an object');
    expect(checkMessage({ op: "worker-status", status: "asleep" })).toBe('worker-status: field "status" must be "running" or "paused", got "asleep"');
    expect(checkMessage({ op: "compute-task", key: "k", run: "x", name: "k", deps: [], priority: [] })).toBe('compute-task: field "run" must be bytes, got "x"');
    expect(checkMessage({ op: "update-graph", tasks: [{ key: "a", run, deps: "b", name: "a" }], wanted: [] })).toBe('update-graph: task 0 "a": "deps" must be an array of keys');
    expect(checkMessage({ op: "update-graph", tasks: [{ key: "a", run, deps: [], name: "a", retries: -1 }], wanted: [] })).toBe('update-graph: task 0 "a": "retries" must be a non-negative integer');
    expect(checkMessage({ op: "hello-client", client: "c", token: 5 })).toBe('hello-client: field "token" must be a string when present, got number 5');
    expect(checkMessage({ op: "scatter", id: 1, data: new Map(), broadcast: false })).toBe('scatter: field "data" must be an object, got an object');
  });

  it("rejects unknown ops and non-messages", () => {
    expect(checkMessage({ op: "rm-rf" })).toBe('unknown op "rm-rf"');
    expect(checkMessage({ op: "__proto__" })).toBe('unknown op "__proto__"');
    expect(checkMessage({ op: "toString" })).toBe('unknown op "toString"');
    expect(checkMessage(null)).toBe('not a message object with a string "op" (got null)');
    expect(checkMessage([1])).toBe('not a message object with a string "op" (got an array)');
    expect(checkBatch([VALID[0], { op: "cancel-keys", keys: null } as unknown as Message])).toBe('message 1: cancel-keys: field "keys" must be an array of keys (strings), got null');
  });
});

describe("at the scheduler's edge", () => {
  let server: SchedulerServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  function closed(conn: Connection): Promise<string> {
    return new Promise((resolve) => (conn.onClose = resolve));
  }

  it("closes only the connection that sent a wrong-typed message, and logs why", async () => {
    const logs: string[] = [];
    server = await SchedulerServer.start({ listen: ["tcp://127.0.0.1:0"], log: (_l, m) => logs.push(m) });
    const good = await connect(server.address("tcp"));
    const bad = await connect(server.address("tcp"));
    const goodMsgs: Message[] = [];
    good.onMessages = (m) => goodMsgs.push(...m);
    bad.onMessages = () => {};
    const badClosed = closed(bad);
    good.send({ op: "hello-client", client: "good" });
    bad.send({ op: "hello-client", client: "bad" });
    bad.send({ op: "client-releases-keys", keys: [{ evil: true }] } as unknown as Message);
    // hello and the bad message leave in one batch: the whole batch is checked before the hello.
    await badClosed;
    expect(logs.some((l) => /^skein scheduler: closing connection with unidentified peer tcp:\/\/127\.0\.0\.1:\d+: malformed message: message 1: client-releases-keys: field "keys" must be an array of keys \(strings\), got an array$/.test(l))).toBe(true);
    // The other client is unaffected.
    good.send({ op: "cluster-info", id: 7 });
    for (let i = 0; i < 200 && !goodMsgs.some((m) => m.op === "cluster-info-reply"); i++) await new Promise((r) => setTimeout(r, 10));
    expect(goodMsgs.map((m) => m.op)).toEqual(["welcome", "cluster-info-reply"]);
    good.close();
  });
});
