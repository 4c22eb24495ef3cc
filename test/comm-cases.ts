/**
 * Behaviour every transport must share, run by test/comm-tcp.test.ts and
 * test/comm-inproc.test.ts against their own addresses.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { connect, listen, setCommLogger, type TlsConfig } from "../src/comm/index.js";
import type { Connection, Listener } from "../src/comm/types.js";
import type { Message } from "../src/protocol.js";

/** Resolves with the next value passed to the returned callback. */
export function nextCall<T>(): { fn: (v: T) => void; next: () => Promise<T> } {
  let waiters: ((v: T) => void)[] = [];
  const queue: T[] = [];
  return {
    fn: (v: T) => {
      const w = waiters.shift();
      if (w) w(v);
      else queue.push(v);
    },
    next: () =>
      queue.length > 0 ? Promise.resolve(queue.shift() as T) : new Promise<T>((r) => waiters.push(r)),
  };
}

/** A listener plus a connected client, with the server side of the connection. */
export interface Pair {
  listener: Listener;
  client: Connection;
  server: Connection;
}

/** `tls` holds the certificates of both ends for tls:// addresses (one identity serves both). */
export async function openPair(address: string, onServer?: (c: Connection) => void, tls?: TlsConfig): Promise<Pair> {
  const accepted = nextCall<Connection>();
  const listener = await listen(
    address,
    (c) => {
      c.authenticated(); // a pair stands for a link past its hello: full frame limit
      onServer?.(c);
      accepted.fn(c);
    },
    { tls },
  );
  const client = await connect(listener.address, { tls });
  const server = await accepted.next();
  return { listener, client, server };
}

/** One event-loop turn (setImmediate), the unit in which transports batch. */
export const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

const ping = (id: number): Message => ({ op: "gather", id, keys: [`k${id}`] });

export function transportCases(name: string, freshAddress: () => string, tls?: () => TlsConfig): void {
  describe(`${name} transport (shared cases)`, () => {
    let logs: string[] = [];
    const opened: Listener[] = [];
    beforeEach(() => {
      logs = [];
      setCommLogger((level, msg) => logs.push(`${level}: ${msg}`));
    });
    afterEach(async () => {
      setCommLogger(null);
      await Promise.all(opened.splice(0).map((l) => l.close()));
    });
    async function pair(onServer?: (c: Connection) => void): Promise<Pair> {
      const p = await openPair(freshAddress(), onServer, tls?.());
      opened.push(p.listener);
      return p;
    }

    it("carries messages both ways with their content", async () => {
      const { client, server } = await pair();
      const atServer = nextCall<Message[]>();
      const atClient = nextCall<Message[]>();
      server.onMessages = atServer.fn;
      client.onMessages = atClient.fn;
      client.send({ op: "hello-client", client: "c-1", token: "t" });
      expect(await atServer.next()).toEqual([{ op: "hello-client", client: "c-1", token: "t" }]);
      server.send({ op: "welcome", id: "c-1" });
      expect(await atClient.next()).toEqual([{ op: "welcome", id: "c-1" }]);
    });

    it("delivers 10,000 sends made in one tick as one onMessages call, in order", async () => {
      const { client, server } = await pair();
      const got = nextCall<Message[]>();
      server.onMessages = got.fn;
      for (let i = 0; i < 10_000; i++) client.send(ping(i));
      const batch = await got.next();
      expect(batch.length).toBe(10_000);
      expect(batch.map((m) => (m as { id: number }).id)).toEqual(Array.from({ length: 10_000 }, (_, i) => i));
      expect(batch[9_999]).toEqual(ping(9_999));
    });

    it("never delivers inside send", async () => {
      const { client, server } = await pair();
      let inSend = false;
      const seen: boolean[] = [];
      const got = nextCall<Message[]>();
      server.onMessages = (m) => {
        seen.push(inSend);
        got.fn(m);
      };
      inSend = true;
      client.send(ping(1));
      inSend = false;
      await got.next();
      expect(seen).toEqual([false]);
    });

    it("keeps batches from consecutive ticks in order as separate calls", async () => {
      const { client, server } = await pair();
      const got = nextCall<Message[]>();
      server.onMessages = got.fn;
      client.send(ping(1));
      await turn();
      await turn();
      client.send(ping(2));
      client.send(ping(3));
      const all: number[] = [];
      while (all.length < 3) for (const m of await got.next()) all.push((m as { id: number }).id);
      expect(all).toEqual([1, 2, 3]);
    });

    it("holds batches that arrive before onMessages is set and replays them in order", async () => {
      const { client, server } = await pair();
      server.send(ping(1));
      server.send(ping(2));
      // Let the batch arrive with no handler set.
      for (let i = 0; i < 5; i++) await turn();
      const got = nextCall<Message[]>();
      client.onMessages = got.fn;
      expect(await got.next()).toEqual([ping(1), ping(2)]);
    });

    it("delivers what was sent before close, then closes the peer with onClose exactly once", async () => {
      const { client, server } = await pair();
      const events: string[] = [];
      server.onMessages = (msgs) => events.push(`msgs ${msgs.length}`);
      const serverClosed = nextCall<string>();
      server.onClose = (r) => {
        events.push("server closed");
        serverClosed.fn(r);
      };
      const clientReasons: string[] = [];
      client.onClose = (r) => clientReasons.push(r);
      client.send(ping(1));
      client.send(ping(2));
      client.close("done here");
      expect(client.closed).toBe(true);
      client.close("again");
      client.send(ping(3)); // no-op
      const reason = await serverClosed.next();
      expect(reason.startsWith("skein comm: connection closed by peer ")).toBe(true);
      expect(events).toEqual(["msgs 2", "server closed"]);
      expect(server.closed).toBe(true);
      await turn();
      expect(clientReasons).toEqual(["done here"]);
    });

    it("closes with the default reason when none is given", async () => {
      const { client } = await pair();
      const reason = nextCall<string>();
      client.onClose = reason.fn;
      client.close();
      expect(await reason.next()).toBe("skein comm: connection closed");
    });

    it("closes a connection whose onMessages handler throws, logging it", async () => {
      const { client, server } = await pair();
      server.onMessages = () => {
        throw new Error("handler bug");
      };
      const serverReason = nextCall<string>();
      server.onClose = serverReason.fn;
      const clientReason = nextCall<string>();
      client.onClose = clientReason.fn;
      client.send(ping(1));
      expect(await serverReason.next()).toBe("skein comm: onMessages handler threw: handler bug");
      expect((await clientReason.next()).startsWith("skein comm: connection")).toBe(true);
      expect(logs.some((l) => l.startsWith("error: skein comm: onMessages handler for ") && l.includes("handler bug"))).toBe(true);
    });

    it("closes accepted connections when the listener closes, and refuses new ones", async () => {
      const { listener, client, server } = await pair();
      const serverReason = nextCall<string>();
      server.onClose = serverReason.fn;
      const clientReason = nextCall<string>();
      client.onClose = clientReason.fn;
      await listener.close();
      expect(await serverReason.next()).toBe(`skein comm: listener ${listener.address} closed`);
      expect((await clientReason.next()).startsWith("skein comm: connection closed by peer ")).toBe(true);
      await expect(connect(listener.address, { tls: tls?.() })).rejects.toThrow(`skein comm: cannot connect to ${listener.address}: `);
    });

    it("accepts many connections on one listener, each with its own peer", async () => {
      const servers: Connection[] = [];
      const listener = await listen(
        freshAddress(),
        (c) => {
          servers.push(c);
          c.onMessages = (msgs) => c.send({ op: "welcome", id: `${(msgs[0] as { client: string }).client}@${c.peer}` });
        },
        { tls: tls?.() },
      );
      opened.push(listener);
      const replies = await Promise.all(
        [0, 1, 2].map(async (i) => {
          const c = await connect(listener.address, { tls: tls?.() });
          const got = nextCall<Message[]>();
          c.onMessages = got.fn;
          c.send({ op: "hello-client", client: `c${i}` });
          const [reply] = await got.next();
          c.close();
          return (reply as { id: string }).id;
        }),
      );
      expect(new Set(servers.map((s) => s.peer)).size).toBe(3);
      expect(replies.map((r) => r.split("@")[0])).toEqual(["c0", "c1", "c2"]);
    });
  });
}
