/**
 * The scheduler's I/O edge: accepts connections, turns messages into SchedulerState events and
 * carries out the instructions it returns. All decisions live in the state machine; this file
 * only moves bytes, keeps track of who is on which connection, and owns the timers.
 */
import { listen } from "../comm/index.js";
import type { Connection, Listener } from "../comm/types.js";
import type { TlsConfig } from "../comm/tls.js";
import type { Key } from "../graph/spec.js";
import type { DataReply, Heartbeat, Message, ScatterMsg, UpdateDataReply } from "../protocol.js";
import { TaskStreamLog } from "../dashboard/task-stream.js";
import { checkBatch, needsCheck } from "../protocol-check.js";
import { SchedulerState, type SchedulerEvent, type SchedulerInstruction } from "./state.js";

export interface SchedulerOptions {
  /** Addresses to listen on, e.g. ["tcp://127.0.0.1:0", "inproc://scheduler-1"]. */
  listen: string[];
  /** Shared secret every connection must present in its hello (required off loopback by the CLI). */
  token?: string;
  /** Certificates for tls:// listen addresses (mutual TLS: clients and workers need one too). */
  tls?: TlsConfig;
  /** A connection that sends no hello for this long is refused. Default 10 s. */
  helloTimeoutMs?: number;
  /**
   * A client whose connection drops (without saying goodbye) keeps its tasks and results this long,
   * so it can reconnect and resume; then they are released. Default 30 s; 0 releases at once.
   */
  clientGraceMs?: number;
  /** How often idle workers may steal queued work from busy ones, in ms. Default 100; 0 disables stealing. */
  stealIntervalMs?: number;
  /** A worker silent for this long is removed and its work recomputed elsewhere. */
  heartbeatTimeoutMs?: number;
  allowedFailures?: number;
  workerSaturation?: number;
  /** Called with one-line log records (connection refused, worker lost, ...). */
  log?: (level: "info" | "warn", msg: string) => void;
}

interface WorkerEntry {
  conn: Connection;
  address: string;
  name: string;
  nthreads: number;
  memoryLimit: number;
  resources: Record<string, number>;
  lastSeen: number;
  memory: { managed: number; spilled: number; rss: number };
}

interface PendingGather {
  client: string;
  clientId: number;
  keys: Key[];
  worker: string;
}

/** One client gather may need several workers; its reply goes out once, when all have answered. */
interface ClientGather {
  client: string;
  id: number;
  parts: number;
  data: Record<Key, unknown>;
  missing: Key[];
}

interface PendingScatter {
  client: string;
  clientId: number;
  keys: Key[];
  /** Keys each worker was asked to store; a worker lost before acking drops out. */
  parts: Map<string, Key[]>;
  nbytes: Record<Key, number>;
  stored: string[];
  waiting: Set<string>;
}

/** Default `clientGraceMs`. */
const CLIENT_GRACE_MS = 30_000;

/** How long a new connection has to send its hello-client / hello-worker. */
const HELLO_TIMEOUT_MS = 10_000;

/**
 * Watches the scheduler without steering it (the dashboard, the task-stream recorder): sees
 * every event batch and heartbeat, and is closed with the scheduler. A hook that throws is
 * logged and skipped, never fatal.
 */
export interface SchedulerPlugin {
  /** A batch of events, just before the state machine handles it (it still knows every task named). */
  onEvents?(events: readonly SchedulerEvent[]): void;
  onHeartbeat?(worker: string, msg: Heartbeat): void;
  close?(): void | Promise<void>;
}

export class SchedulerServer {
  readonly state: SchedulerState;
  /** Startstops of finished and failed tasks (bounded): the dashboard's and performance reports' source. */
  readonly taskStream: TaskStreamLog;
  private readonly plugins: SchedulerPlugin[] = [];
  readonly addresses: string[];
  private readonly listeners: Listener[];
  private readonly clients = new Map<string, Connection>();
  /** Clients whose connection dropped, with the timer that releases their keys. */
  private readonly detached = new Map<string, NodeJS.Timeout>();
  private readonly workers = new Map<string, WorkerEntry>();
  private readonly gathers = new Map<number, PendingGather>();
  private readonly clientGathers = new Map<string, ClientGather>();
  private readonly scatters = new Map<number, PendingScatter>();
  private nextRequestId = 1;
  private nextClientId = 1;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private balanceTimer: NodeJS.Timeout | undefined;
  private readonly workerWaiters: { n: number; resolve: () => void }[] = [];
  private closing = false;

  private constructor(
    private readonly opts: SchedulerOptions,
    listeners: Listener[],
  ) {
    this.listeners = listeners;
    this.addresses = listeners.map((l) => l.address);
    this.state = new SchedulerState({
      allowedFailures: opts.allowedFailures,
      workerSaturation: opts.workerSaturation,
    });
    this.taskStream = new TaskStreamLog((key) => this.state.runSpec(key)?.name);
    this.plugins.push(this.taskStream);
  }

  static async start(opts: SchedulerOptions): Promise<SchedulerServer> {
    const listeners: Listener[] = [];
    let server: SchedulerServer | undefined;
    const onConnection = (conn: Connection): void => {
      if (server) server.accept(conn);
      else conn.close("scheduler is starting");
    };
    try {
      for (const address of opts.listen) listeners.push(await listen(address, onConnection, { tls: opts.tls }));
    } catch (err) {
      await Promise.all(listeners.map((l) => l.close()));
      throw err;
    }
    server = new SchedulerServer(opts, listeners);
    const timeout = opts.heartbeatTimeoutMs ?? 30_000;
    server.heartbeatTimer = setInterval(() => server!.checkHeartbeats(timeout), Math.min(1000, timeout / 4));
    server.heartbeatTimer.unref();
    const stealMs = opts.stealIntervalMs ?? 100;
    if (stealMs > 0) {
      server.balanceTimer = setInterval(() => {
        if (server!.workers.size > 1) server!.feed([{ type: "balance" }]);
      }, stealMs);
      server.balanceTimer.unref();
    }
    return server;
  }

  /** The address for a client or worker to connect to with the given scheme ("tcp" or "inproc"). */
  address(scheme: "tcp" | "inproc" = "tcp"): string {
    const a = this.addresses.find((x) => x.startsWith(scheme + "://"));
    if (!a) throw new Error(`skein scheduler: not listening on ${scheme}:// (listening on ${this.addresses.join(", ")})`);
    return a;
  }

  get nWorkers(): number {
    return this.workers.size;
  }

  /** Resolves once at least `n` workers are connected. */
  waitForWorkers(n: number): Promise<void> {
    if (this.workers.size >= n) return Promise.resolve();
    return new Promise((resolve) => this.workerWaiters.push({ n, resolve }));
  }

  workerInfo(): { address: string; name: string; nthreads: number; memoryLimit: number; resources: Record<string, number>; memory: WorkerEntry["memory"] }[] {
    return [...this.workers.values()].map((w) => ({
      address: w.address,
      name: w.name,
      nthreads: w.nthreads,
      memoryLimit: w.memoryLimit,
      resources: w.resources,
      memory: w.memory,
    }));
  }

  addPlugin(plugin: SchedulerPlugin): void {
    this.plugins.push(plugin);
  }

  removePlugin(plugin: SchedulerPlugin): void {
    const i = this.plugins.indexOf(plugin);
    if (i >= 0) this.plugins.splice(i, 1);
  }

  private notify(call: (p: SchedulerPlugin) => void): void {
    for (const p of this.plugins) {
      try {
        call(p);
      } catch (err) {
        this.log("warn", `skein scheduler: plugin failed: ${(err as Error).stack ?? String(err)}`);
      }
    }
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await Promise.allSettled([...this.plugins].map((p) => p.close?.()));
    clearInterval(this.heartbeatTimer);
    clearInterval(this.balanceTimer);
    for (const w of this.workers.values()) {
      w.conn.send({ op: "close", reason: "scheduler closing" });
      w.conn.close("scheduler closing");
    }
    for (const c of this.clients.values()) c.close("scheduler closing");
    for (const t of this.detached.values()) clearTimeout(t);
    this.detached.clear();
    await Promise.all(this.listeners.map((l) => l.close()));
  }

  private log(level: "info" | "warn", msg: string): void {
    this.opts.log?.(level, msg);
  }

  // ---- connections ----

  private accept(conn: Connection): void {
    if (this.closing) {
      conn.close("scheduler closing");
      return;
    }
    // A peer that connects and never says hello (a port scan, a stuck client) is dropped.
    const ms = this.opts.helloTimeoutMs ?? HELLO_TIMEOUT_MS;
    const helloTimer = setTimeout(() => this.refuse(conn, `no hello within ${ms} ms`), ms);
    helloTimer.unref();
    conn.onMessages = (msgs) => {
      clearTimeout(helloTimer);
      this.onHello(conn, msgs);
    };
    conn.onClose = () => clearTimeout(helloTimer);
  }

  private refuse(conn: Connection, reason: string): void {
    this.log("warn", `skein scheduler: refused connection from ${conn.peer}: ${reason}`);
    conn.send({ op: "refused", reason });
    // Let the refusal leave before closing.
    setImmediate(() => conn.close(reason));
  }

  /**
   * Messages from another process are type-checked before they reach the state machine; a
   * malformed one closes that connection (with the reason logged), never the scheduler.
   */
  private malformed(conn: Connection, msgs: Message[], who: string): boolean {
    if (!needsCheck(conn)) return false;
    const problem = checkBatch(msgs);
    if (problem === null) return false;
    this.log("warn", `skein scheduler: closing connection with ${who} ${conn.peer}: malformed message: ${problem}`);
    conn.close(`skein scheduler: malformed message: ${problem}`);
    return true;
  }

  private onHello(conn: Connection, msgs: Message[]): void {
    if (this.malformed(conn, msgs, "unidentified peer")) return;
    const hello = msgs[0];
    if (!hello || typeof hello !== "object") return this.refuse(conn, "expected a hello message");
    if (hello.op !== "hello-client" && hello.op !== "hello-worker") {
      return this.refuse(conn, `expected hello-client or hello-worker, got ${String((hello as { op?: unknown }).op)}`);
    }
    if (this.opts.token !== undefined && hello.token !== this.opts.token) {
      return this.refuse(conn, "authentication failed: wrong or missing token");
    }
    conn.authenticated();
    if (hello.op === "hello-client") {
      let id: string;
      if (hello.resume !== undefined) {
        id = hello.resume;
        const stale = this.clients.get(id);
        const timer = this.detached.get(id);
        if (stale === undefined && timer === undefined) {
          return this.refuse(conn, `client ${id} is unknown or its grace period expired (its keys were released)`);
        }
        if (stale !== undefined) {
          // The client noticed the drop before we did: its new connection replaces the old one.
          stale.onClose = () => {};
          stale.close("replaced by the client's new connection");
          this.forgetClientConnection(id);
        }
        if (timer !== undefined) {
          clearTimeout(timer);
          this.detached.delete(id);
        }
        this.log("info", `skein scheduler: client ${id} reconnected from ${conn.peer}`);
      } else {
        id = `${String(hello.client || "client")}-${this.nextClientId++}`;
      }
      this.clients.set(id, conn);
      conn.onMessages = (m) => this.onClientMessages(id, m);
      conn.onClose = () => this.onClientClosed(id);
      conn.send({ op: "welcome", id });
      if (hello.resume === undefined) this.feed([{ type: "add-client", client: id }]);
      if (msgs.length > 1) this.onClientMessages(id, msgs.slice(1));
      return;
    }
    const address = hello.address;
    if (typeof address !== "string" || this.workers.has(address)) {
      return this.refuse(conn, `bad or duplicate worker address ${JSON.stringify(address)}`);
    }
    const entry: WorkerEntry = {
      conn,
      address,
      name: String(hello.name ?? address),
      nthreads: Math.max(1, Number(hello.nthreads) || 1),
      memoryLimit: Number(hello.memoryLimit) || 0,
      resources: hello.resources ?? {},
      lastSeen: Date.now(),
      memory: { managed: 0, spilled: 0, rss: 0 },
    };
    this.workers.set(address, entry);
    conn.onMessages = (m) => this.onWorkerMessages(entry, m);
    conn.onClose = (reason) => this.onWorkerClosed(address, reason);
    conn.send({ op: "welcome", id: address });
    this.log("info", `skein scheduler: worker ${entry.name} joined at ${address} (${entry.nthreads} threads)`);
    this.feed([
      {
        type: "add-worker",
        worker: address,
        name: entry.name,
        nthreads: entry.nthreads,
        memoryLimit: entry.memoryLimit,
        resources: entry.resources,
      },
    ]);
    for (let i = this.workerWaiters.length - 1; i >= 0; i--) {
      if (this.workers.size >= this.workerWaiters[i].n) {
        this.workerWaiters[i].resolve();
        this.workerWaiters.splice(i, 1);
      }
    }
    if (msgs.length > 1) this.onWorkerMessages(entry, msgs.slice(1));
  }

  private forgetClientConnection(client: string): boolean {
    if (!this.clients.delete(client)) return false;
    for (const [id, g] of this.clientGathers) if (g.client === client) this.clientGathers.delete(id);
    return true;
  }

  private onClientClosed(client: string, goodbye = false): void {
    if (!this.forgetClientConnection(client) || this.closing) return;
    const graceMs = this.opts.clientGraceMs ?? CLIENT_GRACE_MS;
    if (goodbye || graceMs <= 0) {
      this.feed([{ type: "remove-client", client }]);
      return;
    }
    // Keep its keys for a while: a dropped connection (network blip) can come back and resume.
    this.log("info", `skein scheduler: client ${client} disconnected; keeping its keys for ${graceMs} ms`);
    const timer = setTimeout(() => {
      this.detached.delete(client);
      this.log("info", `skein scheduler: client ${client} did not come back within ${graceMs} ms; releasing its keys`);
      this.feed([{ type: "remove-client", client }]);
    }, graceMs);
    timer.unref();
    this.detached.set(client, timer);
  }

  private onWorkerClosed(address: string, reason: string): void {
    const entry = this.workers.get(address);
    if (!entry) return;
    this.workers.delete(address);
    if (this.closing) return;
    this.log("warn", `skein scheduler: worker ${entry.name} at ${address} lost: ${reason}`);
    this.failPendingFor(address);
    this.feed([{ type: "remove-worker", worker: address, reason }]);
    // Peers fetching from it would otherwise wait for TCP to give up (minutes on a cut link).
    for (const w of this.workers.values()) w.conn.send({ op: "worker-removed", worker: address });
  }

  private checkHeartbeats(timeoutMs: number): void {
    const now = Date.now();
    for (const w of [...this.workers.values()]) {
      if (now - w.lastSeen > timeoutMs) {
        w.conn.close(`no heartbeat for ${Math.round((now - w.lastSeen) / 1000)} s`);
      }
    }
  }

  // ---- messages ----

  private onClientMessages(client: string, msgs: Message[]): void {
    const conn = this.clients.get(client);
    if (conn === undefined || this.malformed(conn, msgs, `client ${client}`)) return;
    const events: SchedulerEvent[] = [];
    for (const msg of msgs) {
      switch (msg.op) {
        case "update-graph":
          events.push({ type: "update-graph", client, tasks: msg.tasks, wanted: msg.wanted });
          break;
        case "client-desires-keys":
          events.push({ type: "client-desires-keys", client, keys: msg.keys });
          break;
        case "client-releases-keys":
          events.push({ type: "client-releases-keys", client, keys: msg.keys });
          break;
        case "cancel-keys":
          events.push({ type: "cancel-keys", client, keys: msg.keys });
          break;
        case "client-goodbye":
          this.feed(events.splice(0));
          this.onClientClosed(client, true);
          conn.close("client said goodbye");
          return;
        case "gather":
          events.push({ type: "gather", client, id: msg.id, keys: msg.keys });
          break;
        case "scatter":
          this.feed(events.splice(0));
          this.startScatter(client, msg);
          break;
        case "run-spec": {
          const spec = this.state.runSpec(msg.key);
          this.clients.get(client)?.send({
            op: "run-spec-reply",
            id: msg.id,
            key: msg.key,
            found: spec !== undefined,
            run: spec?.run ?? null,
            deps: spec?.deps ?? [],
            name: spec?.name ?? "",
          });
          break;
        }
        case "task-stream": {
          const { records, transfers, dropped } = this.taskStream.window(msg.since, msg.until);
          this.clients.get(client)?.send({ op: "task-stream-reply", id: msg.id, records, transfers, dropped });
          break;
        }
        case "cluster-info":
          this.clients.get(client)?.send({
            op: "cluster-info-reply",
            id: msg.id,
            workers: this.workerInfo().map(({ memory: _m, ...w }) => w),
          });
          break;
        default:
          this.log("warn", `skein scheduler: unexpected ${String((msg as { op?: unknown }).op)} from client ${client}`);
          this.clients.get(client)?.close(`unexpected message ${String((msg as { op?: unknown }).op)}`);
          return;
      }
    }
    this.feed(events);
  }

  private onWorkerMessages(w: WorkerEntry, msgs: Message[]): void {
    if (this.malformed(w.conn, msgs, `worker ${w.address}`)) return;
    w.lastSeen = Date.now();
    const events: SchedulerEvent[] = [];
    for (const msg of msgs) {
      switch (msg.op) {
        case "task-finished":
          events.push({
            type: "task-finished",
            worker: w.address,
            key: msg.key,
            nbytes: msg.nbytes,
            typeName: msg.type,
            hasValue: msg.hasValue,
            value: msg.value,
            startstops: msg.startstops,
          });
          break;
        case "task-erred":
          events.push({ type: "task-erred", worker: w.address, key: msg.key, error: msg.error, startstops: msg.startstops });
          break;
        case "add-keys":
          events.push({ type: "add-keys", worker: w.address, keys: msg.keys, nbytes: msg.nbytes });
          break;
        case "missing-data":
          events.push({ type: "missing-data", worker: w.address, key: msg.key, errantWorker: msg.errantWorker });
          break;
        case "steal-response":
          events.push({ type: "steal-response", worker: w.address, key: msg.key, state: msg.state });
          break;
        case "heartbeat":
          w.memory = msg.memory;
          this.notify((p) => p.onHeartbeat?.(w.address, msg));
          break;
        case "worker-status":
          events.push({ type: "worker-status", worker: w.address, status: msg.status });
          this.log("info", `skein scheduler: worker ${w.name} at ${w.address} is ${msg.status}`);
          break;
        case "data":
          this.finishGather(msg);
          break;
        case "update-data-reply":
          this.feed(events.splice(0));
          this.finishScatterPart(w.address, msg);
          break;
        default:
          this.log("warn", `skein scheduler: unexpected ${String((msg as { op?: unknown }).op)} from worker ${w.address}`);
          w.conn.close(`unexpected message ${String((msg as { op?: unknown }).op)}`);
          return;
      }
    }
    this.feed(events);
  }

  /** Run events through the state machine and carry out what it decides. */
  private feed(events: SchedulerEvent[]): void {
    if (events.length === 0) return;
    this.notify((p) => p.onEvents?.(events));
    let instructions: SchedulerInstruction[];
    try {
      instructions = this.state.handleMany(events);
    } catch (err) {
      // A bug in the state machine must not take the scheduler down silently.
      this.log("warn", `skein scheduler: internal error handling ${events.map((e) => e.type).join(",")}: ${(err as Error).stack}`);
      throw err;
    }
    this.execute(instructions);
  }

  private execute(instructions: SchedulerInstruction[]): void {
    // Count the parts of each client gather first, so no part can complete it early.
    for (const ins of instructions) {
      if (ins.type !== "get-data" && ins.type !== "gather-missing") continue;
      const id = `${ins.client}#${ins.id}`;
      let g = this.clientGathers.get(id);
      if (!g) this.clientGathers.set(id, (g = { client: ins.client, id: ins.id, parts: 0, data: {}, missing: [] }));
      g.parts++;
    }
    for (const ins of instructions) {
      switch (ins.type) {
        case "compute-task":
          this.workers.get(ins.worker)?.conn.send(ins.msg);
          break;
        case "free-keys":
          this.workers.get(ins.worker)?.conn.send({ op: "free-keys", keys: ins.keys });
          break;
        case "acquire-replicas":
          this.workers.get(ins.worker)?.conn.send({ op: "acquire-replicas", deps: ins.deps });
          break;
        case "key-in-memory":
          this.clients.get(ins.client)?.send(
            ins.hasValue
              ? { op: "key-in-memory", key: ins.key, hasValue: true, value: ins.value }
              : { op: "key-in-memory", key: ins.key, hasValue: false },
          );
          break;
        case "key-erred":
          this.clients.get(ins.client)?.send({ op: "key-erred", key: ins.key, error: ins.error });
          break;
        case "keys-cancelled":
          this.clients.get(ins.client)?.send({ op: "keys-cancelled", keys: ins.keys, reason: ins.reason });
          break;
        case "graph-rejected":
          this.clients.get(ins.client)?.send({ op: "graph-rejected", keys: ins.keys, message: ins.message });
          break;
        case "get-data": {
          const w = this.workers.get(ins.worker);
          if (!w) {
            this.gatherPart(ins.client, ins.id, {}, ins.keys);
            break;
          }
          const id = this.nextRequestId++;
          this.gathers.set(id, { client: ins.client, clientId: ins.id, keys: ins.keys, worker: ins.worker });
          w.conn.send({ op: "get-data", id, keys: ins.keys });
          break;
        }
        case "gather-missing":
          this.gatherPart(ins.client, ins.id, {}, ins.keys);
          break;
        case "steal-request":
          this.workers.get(ins.worker)?.conn.send({ op: "steal-request", key: ins.key });
          break;
        default: {
          const never: never = ins;
          throw new Error(`skein scheduler: unknown instruction ${JSON.stringify(never)}`);
        }
      }
    }
  }

  // ---- gather and scatter relays ----

  private finishGather(msg: DataReply): void {
    const g = this.gathers.get(msg.id);
    if (!g) return;
    this.gathers.delete(msg.id);
    this.gatherPart(g.client, g.clientId, msg.data, msg.missing);
  }

  private gatherPart(client: string, clientId: number, data: Record<Key, unknown>, missing: Key[]): void {
    const id = `${client}#${clientId}`;
    const g = this.clientGathers.get(id);
    if (!g) return;
    Object.assign(g.data, data);
    for (const k of missing) g.missing.push(k);
    if (--g.parts > 0) return;
    this.clientGathers.delete(id);
    this.clients.get(client)?.send({ op: "gather-reply", id: clientId, data: g.data, missing: g.missing });
  }

  private startScatter(client: string, msg: ScatterMsg): void {
    const conn = this.clients.get(client);
    const keys = Object.keys(msg.data);
    let targets = [...this.workers.values()];
    if (msg.workers && msg.workers.length > 0) {
      const wanted = new Set(msg.workers);
      targets = targets.filter((w) => wanted.has(w.address) || wanted.has(w.name));
    }
    if (targets.length === 0) {
      conn?.send({ op: "scatter-reply", id: msg.id, keys, error: "skein scatter: no worker to hold the data" + (msg.workers ? ` (asked for ${msg.workers.join(", ")})` : "") });
      return;
    }
    if (!msg.broadcast) {
      // Spread keys over the least loaded workers, round-robin.
      targets.sort((a, b) => a.memory.managed - b.memory.managed);
    }
    const perWorker = new Map<WorkerEntry, Record<Key, unknown>>();
    keys.forEach((key, i) => {
      const chosen = msg.broadcast ? targets : [targets[i % targets.length]];
      for (const w of chosen) {
        let part = perWorker.get(w);
        if (!part) perWorker.set(w, (part = {}));
        part[key] = msg.data[key];
      }
    });
    const id = this.nextRequestId++;
    const pending: PendingScatter = {
      client,
      clientId: msg.id,
      keys,
      parts: new Map([...perWorker].map(([w, data]) => [w.address, Object.keys(data)])),
      nbytes: {},
      stored: [],
      waiting: new Set([...perWorker.keys()].map((w) => w.address)),
    };
    this.scatters.set(id, pending);
    for (const [w, data] of perWorker) w.conn.send({ op: "update-data", id, data });
  }

  private finishScatterPart(worker: string, msg: UpdateDataReply): void {
    const s = this.scatters.get(msg.id);
    if (!s || !s.waiting.delete(worker)) return;
    Object.assign(s.nbytes, msg.nbytes);
    s.stored.push(worker);
    if (s.waiting.size > 0) return;
    this.scatters.delete(msg.id);
    this.completeScatter(s);
  }

  private completeScatter(s: PendingScatter): void {
    const held = new Set<Key>();
    const events: SchedulerEvent[] = [];
    // Group keys by the set of workers holding them so each key is announced once.
    const byHolders = new Map<string, { workers: string[]; data: Record<Key, number> }>();
    const holders = new Map<Key, string[]>();
    for (const w of s.stored) for (const k of s.parts.get(w) ?? []) {
      let list = holders.get(k);
      if (!list) holders.set(k, (list = []));
      list.push(w);
    }
    for (const [k, ws] of holders) {
      held.add(k);
      const id = ws.join("\n");
      let group = byHolders.get(id);
      if (!group) byHolders.set(id, (group = { workers: ws, data: {} }));
      group.data[k] = s.nbytes[k] ?? 0;
    }
    for (const g of byHolders.values()) events.push({ type: "scatter", client: s.client, data: g.data, workers: g.workers });
    this.feed(events);
    const lost = s.keys.filter((k) => !held.has(k));
    this.clients.get(s.client)?.send(
      lost.length === 0
        ? { op: "scatter-reply", id: s.clientId, keys: s.keys }
        : { op: "scatter-reply", id: s.clientId, keys: s.keys, error: `skein scatter: the workers asked to hold ${lost.slice(0, 5).join(", ")} were lost before storing it` },
    );
  }

  /** A worker left: answer the requests that were waiting on it. */
  private failPendingFor(address: string): void {
    for (const [id, g] of this.gathers) {
      if (g.worker !== address) continue;
      this.gathers.delete(id);
      this.gatherPart(g.client, g.clientId, {}, g.keys);
    }
    for (const [id, s] of this.scatters) {
      if (!s.waiting.delete(address)) continue;
      if (s.waiting.size === 0) {
        this.scatters.delete(id);
        this.completeScatter(s);
      }
    }
  }
}
