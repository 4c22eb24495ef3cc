import { describe, expect, it } from "vitest";
import { connect, listen } from "../src/comm/index.js";
import type { Message } from "../src/protocol.js";
import { nextCall, openPair, transportCases } from "./comm-cases.js";

let n = 0;
transportCases("inproc", () => `inproc://comm-test-${++n}`);

describe("inproc transport", () => {
  it("delivers messages by reference, typed arrays included", async () => {
    const { listener, client, server } = await openPair("inproc://by-reference");
    const got = nextCall<Message[]>();
    server.onMessages = got.fn;
    const value = new Float64Array([1, 2, 3]);
    const msg: Message = { op: "key-in-memory", key: "x", hasValue: true, value };
    client.send(msg);
    const [received] = await got.next();
    expect(received).toBe(msg);
    expect((received as { value: unknown }).value).toBe(value);
    await listener.close();
  });

  it("names peers after the listener", async () => {
    const { listener, client, server } = await openPair("inproc://named");
    expect(client.peer).toBe("inproc://named");
    expect(server.peer).toMatch(/^inproc:\/\/named\/client-\d+$/);
    await listener.close();
  });

  it("passes the closing side's reason to the peer", async () => {
    const { listener, client, server } = await openPair("inproc://reasons");
    const reason = nextCall<string>();
    server.onClose = reason.fn;
    client.close("worker shutting down");
    expect(await reason.next()).toBe(`skein comm: connection closed by peer ${server.peer}: worker shutting down`);
    await listener.close();
  });

  it("gives `inproc://` a fresh unique name, and refuses a name in use or an unknown one", async () => {
    const a = await listen("inproc://", () => {});
    const b = await listen("inproc://", () => {});
    expect(a.address).toMatch(/^inproc:\/\/anonymous-\d+-\d+$/);
    expect(b.address).not.toBe(a.address);
    await expect(listen(a.address, () => {})).rejects.toThrow(
      `skein comm: cannot listen on ${a.address}: address already in use`,
    );
    await expect(connect("inproc://nobody-here")).rejects.toThrow(
      "skein comm: cannot connect to inproc://nobody-here: no listener",
    );
    await expect(connect("inproc://has space")).rejects.toThrow(
      'skein comm: bad inproc address "inproc://has space" (expected inproc://name)',
    );
    await a.close();
    await b.close();
    // A closed name is free again.
    const again = await listen(a.address, () => {});
    expect(again.address).toBe(a.address);
    await again.close();
  });
});
