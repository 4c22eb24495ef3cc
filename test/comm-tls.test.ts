import tls from "node:tls";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { connect, listen, parseSocketAddress, readTlsFiles, setCommLogger } from "../src/comm/index.js";
import type { Connection, Listener } from "../src/comm/types.js";
import type { Message } from "../src/protocol.js";
import { nextCall, openPair, transportCases } from "./comm-cases.js";
import { makeTestCerts, type TestCerts } from "./tls-certs.js";

let certs: TestCerts;
beforeAll(() => {
  certs = makeTestCerts();
});
afterAll(() => certs?.remove());

transportCases("tls", () => "tls://127.0.0.1:0", () => certs.node);

/** A raw TLS client with the given options; resolves with how it ended. */
function rawTls(address: string, opts: tls.ConnectionOptions): Promise<{ secure: boolean; error: string; data: number }> {
  const { host, port } = parseSocketAddress("tls", address);
  return new Promise((resolve) => {
    let secure = false;
    let error = "";
    let data = 0;
    const s = tls.connect({ host, port, checkServerIdentity: () => undefined, ...opts });
    const timer = setTimeout(() => s.destroy(new Error("test timeout")), 10_000);
    s.on("secureConnect", () => {
      secure = true;
      // A real client would now send its hello; the server must not be reading it.
      s.write(Buffer.alloc(64, 1));
    });
    s.on("data", (b: Buffer) => (data += b.length));
    s.on("error", (e: Error) => (error = e.message));
    s.on("close", () => {
      clearTimeout(timer);
      resolve({ secure, error, data });
    });
  });
}

describe("tls transport", () => {
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

  async function server(): Promise<{ listener: Listener; accepted: Connection[] }> {
    const accepted: Connection[] = [];
    const listener = await listen("tls://127.0.0.1:0", (c) => accepted.push(c), { tls: certs.node });
    listeners.push(listener);
    return { listener, accepted };
  }

  it("reports tls:// addresses and peers, and reads PEM files", async () => {
    const loaded = readTlsFiles(certs.files.node);
    expect(loaded.cert.toString()).toContain("-----BEGIN CERTIFICATE-----");
    const { listener, client, server: srv } = await openPair("tls://127.0.0.1:0", undefined, loaded);
    listeners.push(listener);
    expect(listener.address).toMatch(/^tls:\/\/127\.0\.0\.1:[1-9][0-9]*$/);
    expect(client.peer).toBe(listener.address);
    expect(srv.peer).toMatch(/^tls:\/\/127\.0\.0\.1:[1-9][0-9]*$/);
    expect(() => readTlsFiles({ ...certs.files.node, key: "/nonexistent/k.pem" })).toThrow(
      'skein tls: cannot read key file "/nonexistent/k.pem": ENOENT',
    );
  });

  it("connects two different identities signed by the same CA", async () => {
    const { listener, accepted } = await server();
    const c = await connect(listener.address, { tls: certs.other });
    const got = nextCall<Message[]>();
    c.onMessages = got.fn;
    c.send({ op: "hello-client", client: "x" });
    await expect.poll(() => accepted.length, { timeout: 5000 }).toBe(1);
    accepted[0].onMessages = (m) => accepted[0].send({ op: "welcome", id: (m[0] as { client: string }).client });
    expect(await got.next()).toEqual([{ op: "welcome", id: "x" }]);
    c.close();
  });

  it("refuses a client without a certificate and logs the peer", async () => {
    const { listener, accepted } = await server();
    const r = await rawTls(listener.address, { ca: certs.node.ca });
    expect(r.data).toBe(0);
    expect(accepted).toEqual([]);
    await expect
      .poll(() => logs.find((l) => l.startsWith("warn: skein comm: refused TLS connection from ")), { timeout: 5000 })
      .toMatch(/^warn: skein comm: refused TLS connection from tls:\/\/127\.0\.0\.1:[1-9][0-9]*: client certificate not accepted: no certificate presented$/);
  });

  it("refuses a client whose certificate another CA signed", async () => {
    const { listener, accepted } = await server();
    const r = await rawTls(listener.address, { ca: certs.rogue.ca, cert: certs.rogue.cert, key: certs.rogue.key });
    expect(r.data).toBe(0);
    expect(accepted).toEqual([]);
    await expect
      .poll(() => logs.find((l) => l.startsWith("warn: skein comm: refused TLS connection from ")), { timeout: 5000 })
      .toMatch(/^warn: skein comm: refused TLS connection from tls:\/\/127\.0\.0\.1:[1-9][0-9]*: client certificate not accepted: UNABLE_TO_VERIFY_LEAF_SIGNATURE$/);
  });

  it("a client refuses a server its CA did not sign", async () => {
    const rogueServer = await listen("tls://127.0.0.1:0", () => {}, {
      tls: { ca: certs.node.ca, cert: readTlsFiles(certs.files.rogue).cert, key: readTlsFiles(certs.files.rogue).key },
    });
    listeners.push(rogueServer);
    await expect(connect(rogueServer.address, { tls: certs.node })).rejects.toThrow(
      `skein comm: cannot connect to ${rogueServer.address}: `,
    );
  });

  it("needs certificates on both sides", async () => {
    await expect(listen("tls://127.0.0.1:0", () => {})).rejects.toThrow(
      "skein comm: tls://127.0.0.1:0 needs TLS certificates (the tls option: ca, cert, key)",
    );
    await expect(connect("tls://127.0.0.1:1")).rejects.toThrow(
      "skein comm: tls://127.0.0.1:1 needs TLS certificates (the tls option: ca, cert, key)",
    );
    expect(() => parseSocketAddress("tls", "tls://nope")).toThrow('skein comm: bad tls address "tls://nope" (expected tls://host:port)');
  });
});
