/**
 * The in-process transport: `inproc://name`, for a scheduler, workers and a client sharing one
 * process. Messages are delivered by reference (no serialization; do not mutate a message after
 * sending it), batched per tick exactly like TCP, and always asynchronously: never inside
 * `send`, `close` or `connect`.
 */
import type { Message } from "../protocol.js";
import type { Connection, Listener, ListenOptions } from "./types.js";
import { BaseConnection, commLog, scheduleFlush } from "./base.js";

const SCHEME = "inproc://";
const listeners = new Map<string, InprocListener>();
let anonymous = 0;
let accepted = 0;

class InprocConnection extends BaseConnection {
  other: InprocConnection | null = null;

  constructor(readonly peer: string) {
    super();
  }

  protected transmit(batch: Message[]): void {
    this.other?.deliver(batch);
  }

  protected shutdown(reason: string): void {
    const last = this.takeOutbox();
    scheduleFlush(() => {
      const other = this.other;
      if (other === null) return;
      if (last.length > 0) other.deliver(last);
      other.finish(`skein comm: connection closed by peer ${other.peer}: ${reason}`);
    });
  }

  protected abort(reason: string): void {
    commLog("warn", `skein comm: closing connection with ${this.peer}: ${reason}`);
    this.finish(reason);
    scheduleFlush(() => {
      const other = this.other;
      if (other !== null) other.finish(`skein comm: connection closed by peer ${other.peer}: ${reason}`);
    });
  }
}

class InprocListener implements Listener {
  readonly conns = new Set<InprocConnection>();
  open = true;

  constructor(
    readonly address: string,
    private readonly onConnection: (c: Connection) => void,
  ) {}

  accept(conn: InprocConnection): void {
    this.conns.add(conn);
    conn.untrack = () => this.conns.delete(conn);
    try {
      this.onConnection(conn);
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      commLog("error", `skein comm: onConnection handler for ${conn.peer} threw: ${msg}`);
      conn.close(`skein comm: onConnection handler threw: ${msg}`);
    }
  }

  async close(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    if (listeners.get(this.address) === this) listeners.delete(this.address);
    for (const c of [...this.conns]) c.close(`skein comm: listener ${this.address} closed`);
  }
}

function checkAddress(address: string): void {
  if (!address.startsWith(SCHEME) || /\s/.test(address)) {
    throw new Error(`skein comm: bad inproc address "${address}" (expected inproc://name)`);
  }
}

/** Listen on `inproc://name`; plain `inproc://` picks a fresh unique name. */
export async function listenInproc(
  address: string,
  onConnection: (c: Connection) => void,
  _opts?: ListenOptions,
): Promise<Listener> {
  checkAddress(address);
  const name = address === SCHEME ? `${SCHEME}anonymous-${process.pid}-${++anonymous}` : address;
  if (listeners.has(name)) throw new Error(`skein comm: cannot listen on ${name}: address already in use`);
  const listener = new InprocListener(name, onConnection);
  listeners.set(name, listener);
  return listener;
}

export async function connectInproc(address: string): Promise<Connection> {
  checkAddress(address);
  // Accept in a later microtask, as a real transport would, not inside the caller's call.
  await null;
  const listener = listeners.get(address);
  if (listener === undefined) throw new Error(`skein comm: cannot connect to ${address}: no listener`);
  const client = new InprocConnection(address);
  const server = new InprocConnection(`${address}/client-${++accepted}`);
  client.other = server;
  server.other = client;
  listener.accept(server);
  return client;
}
