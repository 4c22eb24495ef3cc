import net from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { connect, listen, setCommLogger } from "../src/comm/index.js";
import { encodeFrame } from "../src/comm/framing.js";
import { encodeBatch } from "../src/comm/serialize.js";
import { formatTcpAddress, parseTcpAddress } from "../src/comm/tcp.js";
import type { Connection, Listener } from "../src/comm/types.js";
import type { Message } from "../src/protocol.js";
import { nextCall, openPair, transportCases } from "./comm-cases.js";

transportCases("tcp", () => "tcp://127.0.0.1:0");

/** A raw socket to `address`, resolving once connected. */
function rawSocket(address: string): Promise<net.Socket> {
  const { host, port } = parseTcpAddress(address);
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port }, () => resolve(s));
    s.once("error", reject);
  });
}

function socketClosed(s: net.Socket): Promise<void> {
  return new Promise((r) => (s.destroyed ? r() : s.once("close", () => r())));
}

describe("tcp transport", () => {
  let logs: string[] = [];
  const listeners: Listener[] = [];
  beforeEach(() => {
    logs = [];
    setCommLogger((level, msg) => logs.push(`${level}: ${msg}`));
  });
  afterEach(async () => {
    setCommLogger(null);
    await Promise.all(listeners.splice(0).map((l) => l.close()));
  });

  /** A listener whose accepted connections are handed out in order, with their close reasons. */
  async function server(opts?: { maxFrameBytes?: number }) {
    const accepted = nextCall<{ conn: Connection; reason: Promise<string>; msgs: Message[][] }>();
    const listener = await listen(
      "tcp://127.0.0.1:0",
      (conn) => {
        const closed = nextCall<string>();
        const msgs: Message[][] = [];
        conn.onClose = closed.fn;
        conn.onMessages = (m) => {
          msgs.push(m);
          conn.send({ op: "welcome", id: `echo ${m.length}` });
        };
        accepted.fn({ conn, reason: closed.next(), msgs });
      },
      opts,
    );
    listeners.push(listener);
    return { listener, next: accepted.next };
  }

  it("parses and formats addresses, IPv6 included", () => {
    expect(parseTcpAddress("tcp://127.0.0.1:8786")).toEqual({ host: "127.0.0.1", port: 8786 });
    expect(parseTcpAddress("tcp://localhost:0")).toEqual({ host: "localhost", port: 0 });
    expect(parseTcpAddress("tcp://[::1]:40000")).toEqual({ host: "::1", port: 40000 });
    expect(formatTcpAddress("::1", 5)).toBe("tcp://[::1]:5");
    expect(formatTcpAddress("10.0.0.2", 5)).toBe("tcp://10.0.0.2:5");
    for (const bad of ["tcp://nope", "tcp://h:70000", "tcp://::1:5", "tcp://h:5/x", "tcp://:5"]) {
      expect(() => parseTcpAddress(bad)).toThrow(`skein comm: bad tcp address "${bad}" (expected tcp://host:port)`);
    }
  });

  it("reports the real port of a port-0 listener and works over IPv6 loopback", async () => {
    const { listener, client, server } = await openPair("tcp://[::1]:0");
    listeners.push(listener);
    expect(listener.address).toMatch(/^tcp:\/\/\[::1\]:[1-9][0-9]*$/);
    expect(server.peer).toMatch(/^tcp:\/\/\[::1\]:[1-9][0-9]*$/);
    expect(client.peer).toBe(listener.address);
    const got = nextCall<Message[]>();
    server.onMessages = got.fn;
    client.send({ op: "cluster-info", id: 7 });
    expect(await got.next()).toEqual([{ op: "cluster-info", id: 7 }]);
  });

  it("rejects unsupported schemes, busy ports and refused connections with the address", async () => {
    await expect(connect("udp://127.0.0.1:5")).rejects.toThrow(
      'skein comm: unsupported address "udp://127.0.0.1:5" (expected tcp://host:port, tls://host:port or inproc://name)',
    );
    await expect(listen("127.0.0.1:5", () => {})).rejects.toThrow(
      'skein comm: unsupported address "127.0.0.1:5" (expected tcp://host:port, tls://host:port or inproc://name)',
    );
    const { listener } = await server();
    const port = parseTcpAddress(listener.address).port;
    await expect(listen(listener.address, () => {})).rejects.toThrow(
      `skein comm: cannot listen on ${listener.address}: listen EADDRINUSE: address already in use 127.0.0.1:${port}`,
    );
    await listener.close();
    await expect(connect(listener.address)).rejects.toThrow(
      `skein comm: cannot connect to ${listener.address}: connect ECONNREFUSED 127.0.0.1:${port}`,
    );
    await expect(connect("tcp://127.0.0.1:0")).rejects.toThrow(
      "skein comm: cannot connect to tcp://127.0.0.1:0: port 0 is only for listening",
    );
  });

  it("moves a 100 MB Float64Array intact, as a Float64Array, without copying it to send", async () => {
    const n = (100 * 1024 * 1024) / 8;
    const data = new Float64Array(n);
    for (let i = 0; i < n; i++) data[i] = i * 0.5 - 7;
    // Zero-copy on the sending side: the wire piece is a view of the array's own memory.
    const pieces = encodeBatch([{ op: "key-in-memory", key: "x", hasValue: true, value: data }]);
    expect(pieces.length).toBe(3);
    expect(pieces[2].buffer).toBe(data.buffer);

    const { listener, client, server } = await openPair("tcp://127.0.0.1:0");
    listeners.push(listener);
    const got = nextCall<Message[]>();
    server.onMessages = got.fn;
    client.send({ op: "key-in-memory", key: "x", hasValue: true, value: data });
    const [msg] = await got.next();
    const value = (msg as { value: unknown }).value;
    expect(value).toBeInstanceOf(Float64Array);
    const arr = value as Float64Array;
    expect(arr.length).toBe(n);
    expect(arr.byteOffset % 8).toBe(0);
    for (const i of [0, 1, 12_345, n >> 1, n - 2, n - 1]) expect(arr[i]).toBe(i * 0.5 - 7);
    let sum = 0;
    for (let i = 0; i < n; i++) sum += arr[i];
    let expected = 0;
    for (let i = 0; i < n; i++) expected += data[i];
    expect(sum).toBe(expected);
  });

  it("delivers large frames intact to several dialled connections at once (they share one read buffer)", async () => {
    const n = (24 * 1024 * 1024) / 8;
    const a = new Float64Array(n).map((_, i) => i);
    const b = new Float64Array(n).map((_, i) => -3 * i);
    const one = await openPair("tcp://127.0.0.1:0");
    const two = await openPair("tcp://127.0.0.1:0");
    listeners.push(one.listener, two.listener);
    const gotA = nextCall<Message[]>();
    const gotB = nextCall<Message[]>();
    one.client.onMessages = gotA.fn;
    two.client.onMessages = gotB.fn;
    // Both servers write at once, so the two dialled sockets' reads interleave.
    one.server.send({ op: "key-in-memory", key: "a", hasValue: true, value: a });
    two.server.send({ op: "key-in-memory", key: "b", hasValue: true, value: b });
    const [[ma], [mb]] = await Promise.all([gotA.next(), gotB.next()]);
    const ra = (ma as { value: Float64Array }).value;
    const rb = (mb as { value: Float64Array }).value;
    expect([ra.length, rb.length]).toEqual([n, n]);
    for (let i = 0; i < n; i++) {
      if (ra[i] !== i || rb[i] !== -3 * i) throw new Error(`element ${i}: got ${ra[i]} and ${rb[i]}`);
    }
  });

  it("closes a connection sending garbage with the reason, and keeps serving others", async () => {
    const { listener, next } = await server();
    const bad = await rawSocket(listener.address);
    const badConn = await next();
    bad.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(await badConn.reason).toBe("skein comm: bad frame magic 0x47455420 (expected 0x534b4e01)");
    await socketClosed(bad);
    expect(logs).toContain(
      `warn: skein comm: closing connection with ${badConn.conn.peer}: skein comm: bad frame magic 0x47455420 (expected 0x534b4e01)`,
    );

    // The listener still accepts, and a well-behaved client still works.
    const good = await connect(listener.address);
    await next();
    const reply = nextCall<Message[]>();
    good.onMessages = reply.fn;
    good.send({ op: "cluster-info", id: 1 });
    expect(await reply.next()).toEqual([{ op: "welcome", id: "echo 1" }]);
    good.close();
  });

  it("closes a connection announcing a frame over maxFrameBytes before receiving it", async () => {
    const { listener, next } = await server({ maxFrameBytes: 1 << 20 });
    const bad = await rawSocket(listener.address);
    const badConn = await next();
    // A prelude announcing a 1 TiB header, and nothing else.
    const prelude = encodeFrame([new Uint8Array(1)])[0];
    prelude.writeUInt32LE(0, 8);
    prelude.writeUInt32LE(256, 12);
    bad.write(prelude);
    expect(await badConn.reason).toBe(
      "skein comm: frame header of 1099511627776 bytes exceeds the limit of 1048576 bytes",
    );
    await socketClosed(bad);
  });

  it("takes at most 1 MiB frames from an accepted peer until it is authenticated", async () => {
    const { listener, next } = await server();
    const client = await connect(listener.address);
    const srv = await next();
    const big = new Float64Array(1 << 18); // 2 MiB
    client.send({ op: "key-in-memory", key: "x", hasValue: true, value: big });
    expect(await srv.reason).toMatch(/^skein comm: frame of \d+ bytes exceeds maxFrameBytes \(1048576\)$/);

    const client2 = await connect(listener.address);
    const srv2 = await next();
    srv2.conn.authenticated();
    const got = nextCall<Message[]>();
    srv2.conn.onMessages = got.fn;
    client2.send({ op: "key-in-memory", key: "y", hasValue: true, value: big });
    const [msg] = await got.next();
    expect(msg.op === "key-in-memory" && (msg.value as Float64Array).length).toBe(1 << 18);
    client2.close();
  });

  it("closes a connection whose batch is too big, on the receiving side, with the reason", async () => {
    const { listener, next } = await server({ maxFrameBytes: 4096 });
    const client = await connect(listener.address);
    const srv = await next();
    const clientReason = nextCall<string>();
    client.onClose = clientReason.fn;
    client.send({ op: "key-in-memory", key: "x", hasValue: true, value: new Float64Array(1024) });
    expect(await srv.reason).toMatch(/^skein comm: frame of \d+ bytes exceeds maxFrameBytes \(4096\)$/);
    expect((await clientReason.next()).startsWith("skein comm: connection")).toBe(true);
    expect(srv.msgs).toEqual([]);
  });

  it("refuses to send a batch over its own maxFrameBytes", async () => {
    const { listener } = await server();
    const client = await connect(listener.address, { maxFrameBytes: 1000 });
    const reason = nextCall<string>();
    client.onClose = reason.fn;
    client.send({ op: "key-in-memory", key: "x", hasValue: true, value: new Uint8Array(5000) });
    expect(await reason.next()).toMatch(
      /^skein comm: batch of \d+ bytes for tcp:\/\/127\.0\.0\.1:\d+ exceeds maxFrameBytes \(1000\)$/,
    );
  });

  it("closes a connection whose batch header is not msgpack, naming the problem", async () => {
    const { listener, next } = await server();
    const bad = await rawSocket(listener.address);
    const badConn = await next();
    const header = new Uint8Array([0x92, 0x81]); // array of 2 holding a map of 1, then nothing
    for (const piece of encodeFrame([header])) bad.write(piece);
    expect(await badConn.reason).toBe(
      "skein comm: malformed batch header: 2 values announced but 1 bytes left at byte 1",
    );
  });

  it("closes a connection whose batch is not a list of messages", async () => {
    const { listener, next } = await server();
    const bad = await rawSocket(listener.address);
    const badConn = await next();
    for (const piece of encodeFrame([new Uint8Array([0x93, 1, 2, 3])])) bad.write(piece);
    expect(await badConn.reason).toBe(
      'skein comm: message 0 of the batch is not an object with a string "op" (got number)',
    );
  });

  it("reports a peer that hangs up inside a frame", async () => {
    const { listener, next } = await server();
    const bad = await rawSocket(listener.address);
    const badConn = await next();
    const pieces = encodeBatch([{ op: "cluster-info", id: 1 }]);
    bad.end(pieces[0].subarray(0, 12));
    expect(await badConn.reason).toBe(
      `skein comm: connection closed by peer ${badConn.conn.peer} inside a frame (4 of 8 length bytes)`,
    );
  });

  it("closes a connection that sends something it cannot encode, naming the message", async () => {
    const { listener, next } = await server();
    const client = await connect(listener.address);
    const srv = await next();
    const reason = nextCall<string>();
    client.onClose = reason.fn;
    client.send({ op: "cluster-info", id: 1 });
    client.send({ op: "scatter", id: 2, data: { x: Symbol("no") }, broadcast: false });
    expect(await reason.next()).toMatch(
      /^skein comm: cannot encode message "scatter" for tcp:\/\/127\.0\.0\.1:\d+: Unknown type: symbol$/,
    );
    expect((await srv.reason).startsWith("skein comm: connection")).toBe(true);
  });
});
