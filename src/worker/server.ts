/**
 * The worker's I/O edge: the scheduler connection, the peer listener, the pool of connections
 * to peers, the value store, the heartbeat timer and the executor. Every decision is made by
 * WorkerState; this file turns messages into its events and its instructions into actions.
 *
 * The store (spill.ts) holds values, spilling the least recently used to disk under memory
 * pressure; the state machine holds only their sizes. Big typed arrays arriving from peers or
 * scatters are moved to shared memory once, so task threads read them without a copy (see
 * values.ts). A memory monitor applies memory.ts's policy every `memoryMonitorMs`.
 */
import { performance } from "node:perf_hooks";
import { tmpdir } from "node:os";
import { connect, listen } from "../comm/index.js";
import type { Connection, Listener } from "../comm/types.js";
import type { TlsConfig } from "../comm/tls.js";
import type { Key } from "../graph/spec.js";
import type { DataReply, Message } from "../protocol.js";
import { checkBatch, needsCheck } from "../protocol-check.js";
import { Executor, type ExecResult } from "./executor.js";
import { decideMemory, resolveMemoryFractions, targetBytes, type MemoryFractions } from "./memory.js";
import { CollectPolicy } from "./collect.js";
import { SpillStore } from "./spill.js";
import { WorkerState, type DataInfo, type WorkerEvent, type WorkerInstruction } from "./state.js";
import { shareLargeArrays } from "./values.js";

export interface WorkerServerOptions {
  /** Scheduler address, e.g. tcp://10.0.0.5:8786 or inproc://skein-scheduler-1. */
  scheduler: string;
  /** Where peers fetch data from this worker. Default tcp://127.0.0.1:0. */
  listen?: string;
  nthreads: number;
  /** Default: the listen address. */
  name?: string;
  /** Bytes; reported to the scheduler and the base of the memory fractions. Default 0 (no limit). */
  memoryLimit?: number;
  /** target / spill / pause / terminate fractions of memoryLimit (memory.ts); default dask's. */
  memoryFractions?: Partial<Record<keyof MemoryFractions, number | false>>;
  /** How often process memory is sampled, in ms. Default 100 (dask's). */
  memoryMonitorMs?: number;
  /** Reads process memory in bytes; default process.memoryUsage.rss (tests inject pressure). */
  memoryProbe?: () => number;
  /** Parent directory for spilled results; default os.tmpdir(). The worker's own subdirectory is removed at close. */
  localDirectory?: string;
  resources?: Record<string, number>;
  heartbeatMs?: number;
  /** Shared secret presented to the scheduler and required from peers. */
  token?: string;
  /** Certificates for tls:// addresses: the scheduler link, this worker's listener, its peers. */
  tls?: TlsConfig;
  /** Node flags for task threads (default: this process's). */
  execArgv?: string[];
  /** Typed arrays from this size on live in shared memory. Default 64 KiB. */
  sharedMinBytes?: number;
  /** Lone tasks whose prefix keeps under this many ms run on the event loop (Executor's inlineMaxMs). Default 1; 0: never. */
  inlineMaxMs?: number;
  /** One-line logs (connection trouble, internal errors). Default: stderr for warnings. */
  log?: (level: "info" | "warn", msg: string) => void;
}

/** Results up to this size travel with task-finished, so a waiting client needs no gather. */
const INLINE_RESULT_BYTES = 64 * 1024;
const DEFAULT_SHARED_MIN_BYTES = 64 * 1024;

interface PendingGather {
  readonly worker: string;
  readonly keys: Key[];
  readonly start: number;
}

interface Peer {
  conn: Connection | null;
  readonly ready: Promise<Connection>;
}

function defaultLog(level: "info" | "warn", msg: string): void {
  if (level === "warn") process.stderr.write(msg + "\n");
}

export class WorkerServer {
  readonly address: string;
  readonly name: string;
  readonly state: WorkerState;
  /** Resolves once the worker has shut down (scheduler gone, `close()` or a fatal error). */
  readonly closed: Promise<void>;
  private readonly store: SpillStore;
  readonly memoryFractions: MemoryFractions;
  private readonly peers = new Map<string, Peer>();
  private readonly gathers = new Map<number, PendingGather>();
  private readonly sharedMinBytes: number;
  private readonly log: (level: "info" | "warn", msg: string) => void;
  private scheduler: Connection | null = null;
  private heartbeat: NodeJS.Timeout | undefined;
  private memoryTimer: NodeJS.Timeout | undefined;
  private nextId = 1;
  private nextStimulus = 1;
  private closing: Promise<void> | null = null;
  private resolveClosed!: () => void;
  private readonly collect = new CollectPolicy();
  private collecting = false;

  private constructor(
    private readonly opts: WorkerServerOptions,
    private readonly listener: Listener,
    private readonly executor: Executor,
  ) {
    this.address = listener.address;
    this.name = opts.name ?? listener.address;
    this.sharedMinBytes = opts.sharedMinBytes ?? DEFAULT_SHARED_MIN_BYTES;
    this.log = opts.log ?? defaultLog;
    this.state = new WorkerState({ address: this.address, nthreads: opts.nthreads, resources: opts.resources });
    this.memoryFractions = resolveMemoryFractions(opts.memoryFractions ?? {});
    this.store = new SpillStore({
      localDirectory: opts.localDirectory ?? tmpdir(),
      targetBytes: targetBytes(opts.memoryLimit ?? 0, this.memoryFractions),
      revive: (v) => shareLargeArrays(v, this.sharedMinBytes).value,
      log: this.log,
    });
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
  }

  static async start(opts: WorkerServerOptions): Promise<WorkerServer> {
    if (!Number.isInteger(opts.nthreads) || opts.nthreads < 1) {
      throw new Error(`skein worker: nthreads must be a positive integer, got ${opts.nthreads}`);
    }
    let server: WorkerServer | undefined;
    const listener = await listen(
      opts.listen ?? "tcp://127.0.0.1:0",
      (conn) => {
        if (server) server.acceptPeer(conn);
        else conn.close("skein worker: starting");
      },
      { tls: opts.tls, sharedMinBytes: opts.sharedMinBytes ?? DEFAULT_SHARED_MIN_BYTES },
    );
    const executor = new Executor({
      nthreads: opts.nthreads,
      execArgv: opts.execArgv,
      sharedMinBytes: opts.sharedMinBytes ?? DEFAULT_SHARED_MIN_BYTES,
      inlineMaxMs: opts.inlineMaxMs,
    });
    try {
      server = new WorkerServer(opts, listener, executor);
    } catch (err) {
      await Promise.allSettled([listener.close(), executor.close()]);
      throw err;
    }
    try {
      await server.join();
    } catch (err) {
      await server.close("failed to join the scheduler");
      throw err;
    }
    return server;
  }

  /** Values held here (read-only view, for tests and in-process use; reads bring spilled values back). */
  get data(): ReadonlyMap<Key, unknown> {
    return this.store;
  }

  /** The spill store's directory and what it holds now (for tests and diagnostics). */
  get spill(): { directory: string; memoryBytes: number; diskBytes: number; spilled: number; unspilled: number } {
    const s = this.store;
    return { directory: s.directory, memoryBytes: s.fastBytes, diskBytes: s.slowBytes, spilled: s.spilledCount, unspilled: s.unspilledCount };
  }

  close(reason = "closed"): Promise<void> {
    if (this.closing) return this.closing;
    this.closing = this.shutdown(reason);
    return this.closing;
  }

  // ---------------------------------------------------------------- scheduler link

  private async join(): Promise<void> {
    const conn = await connect(this.opts.scheduler, { tls: this.opts.tls, sharedMinBytes: this.sharedMinBytes });
    this.scheduler = conn;
    conn.send({
      op: "hello-worker",
      address: this.address,
      name: this.name,
      nthreads: this.opts.nthreads,
      memoryLimit: this.opts.memoryLimit ?? 0,
      resources: this.opts.resources ?? {},
      pid: process.pid,
      ...(this.opts.token !== undefined ? { token: this.opts.token } : {}),
    });
    await new Promise<void>((resolve, reject) => {
      conn.onClose = (reason) => reject(new Error(`skein worker: scheduler ${this.opts.scheduler} closed the connection before welcoming this worker: ${reason}`));
      conn.onMessages = (msgs) => {
        const first = msgs[0];
        if (first?.op === "refused") {
          reject(new Error(`skein worker: scheduler ${this.opts.scheduler} refused this worker: ${first.reason}`));
          return;
        }
        if (first?.op !== "welcome") {
          reject(new Error(`skein worker: expected welcome from scheduler ${this.opts.scheduler}, got ${String(first?.op)}`));
          return;
        }
        conn.onMessages = (m) => this.onSchedulerMessages(m);
        conn.onClose = (reason) => void this.close(`lost the scheduler: ${reason}`);
        resolve();
        if (msgs.length > 1) this.onSchedulerMessages(msgs.slice(1));
      };
    });
    const every = this.opts.heartbeatMs ?? 1000;
    this.heartbeat = setInterval(() => this.sendHeartbeat(), every);
    this.heartbeat.unref();
    if ((this.opts.memoryLimit ?? 0) > 0) {
      this.memoryTimer = setInterval(() => this.checkMemory(), this.opts.memoryMonitorMs ?? 100);
      this.memoryTimer.unref();
    }
  }

  /** One memory sample through the policy: spill, pause or resume (terminate is the nanny's). */
  private checkMemory(): void {
    if (this.closing) return;
    const limit = this.opts.memoryLimit ?? 0;
    const rss = (this.opts.memoryProbe ?? process.memoryUsage.rss)();
    const d = decideMemory({ managed: this.store.fastBytes, rss, limit }, this.memoryFractions, this.state.paused);
    if (d.spillBytes > 0) {
      const moved = this.store.evict(d.spillBytes);
      if (moved > 0) this.log("info", `skein worker ${this.name}: spilled ${moved} bytes to disk (${d.reason})`);
    }
    if (d.paused !== this.state.paused) {
      this.log(d.paused ? "warn" : "info", `skein worker ${this.name}: ${d.reason}`);
      this.feed({ type: d.paused ? "pause" : "unpause", stimulusId: this.stimulus(d.paused ? "pause" : "unpause") });
      this.scheduler?.send({ op: "worker-status", status: d.paused ? "paused" : "running" });
    }
  }

  private lastCpu = process.cpuUsage();
  private lastCpuAt = performance.now();

  /** CPU of this process since the last heartbeat, in % of one core (shared by in-process workers). */
  private cpuPercent(): number {
    const now = performance.now();
    const usage = process.cpuUsage();
    const busyUs = usage.user - this.lastCpu.user + usage.system - this.lastCpu.system;
    const pct = now > this.lastCpuAt ? busyUs / 10 / (now - this.lastCpuAt) : 0;
    this.lastCpu = usage;
    this.lastCpuAt = now;
    return pct;
  }

  private sendHeartbeat(): void {
    this.scheduler?.send({
      op: "heartbeat",
      cpu: this.cpuPercent(),
      memory: { managed: this.store.fastBytes, spilled: this.store.slowBytes, rss: (this.opts.memoryProbe ?? process.memoryUsage.rss)() },
      executing: this.state.executingCount,
      ready: this.state.readyCount,
    });
  }

  private stimulus(what: string): string {
    return `${what}-${this.nextStimulus++}`;
  }

  private onSchedulerMessages(msgs: Message[]): void {
    const conn = this.scheduler;
    if (conn !== null && needsCheck(conn)) {
      const problem = checkBatch(msgs);
      if (problem !== null) {
        this.log("warn", `skein worker ${this.name}: malformed message from the scheduler: ${problem}`);
        conn.close(`skein worker: malformed message: ${problem}`);
        return;
      }
    }
    for (const msg of msgs) {
      if (this.closing) return;
      switch (msg.op) {
        case "compute-task":
          this.feed({
            type: "compute-task",
            stimulusId: this.stimulus("compute-task"),
            key: msg.key,
            run: msg.run,
            name: msg.name,
            deps: msg.deps,
            priority: msg.priority,
            resources: msg.resources,
          });
          break;
        case "free-keys":
          this.feed({ type: "free-keys", stimulusId: this.stimulus("free-keys"), keys: msg.keys });
          break;
        case "acquire-replicas":
          this.feed({ type: "acquire-replicas", stimulusId: this.stimulus("acquire-replicas"), deps: msg.deps });
          break;
        case "steal-request":
          this.feed({ type: "steal-request", stimulusId: this.stimulus("steal-request"), key: msg.key });
          break;
        case "update-data": {
          const infos: Record<Key, DataInfo> = {};
          const nbytes: Record<Key, number> = {};
          for (const key of Object.keys(msg.data)) {
            const info = this.put(key, msg.data[key]);
            infos[key] = info;
            nbytes[key] = info.nbytes;
          }
          this.feed({ type: "update-data", stimulusId: this.stimulus("update-data"), data: infos });
          this.scheduler?.send({ op: "update-data-reply", id: msg.id, nbytes });
          break;
        }
        case "get-data":
          this.scheduler?.send(this.dataReply(msg.id, msg.keys));
          break;
        case "close":
          void this.close(`scheduler asked: ${msg.reason}`);
          return;
        case "worker-removed": {
          const peer = this.peers.get(msg.worker);
          if (peer) {
            // Fail the fetches in flight now; the scheduler sends new locations for what is needed.
            this.onPeerClosed(msg.worker, peer, `peer ${msg.worker} was removed from the cluster`);
            peer.conn?.close("peer removed from the cluster");
          }
          break;
        }
        default:
          this.log("warn", `skein worker ${this.name}: unexpected message ${msg.op} from the scheduler`);
      }
    }
  }

  // ---------------------------------------------------------------- the machine

  private feed(ev: WorkerEvent): void {
    if (this.closing) return;
    let instructions: WorkerInstruction[];
    try {
      instructions = this.state.handle(ev);
    } catch (err) {
      // The machine is inconsistent now; better to leave and let the scheduler recompute.
      this.log("warn", `skein worker ${this.name}: internal error handling ${ev.type}: ${(err as Error).stack}`);
      void this.close(`internal error: ${(err as Error).message}`);
      return;
    }
    try {
      for (const ins of instructions) this.apply(ins);
    } catch (err) {
      // e.g. a spilled value that cannot be read back: leave, the scheduler recomputes.
      this.log("warn", `skein worker ${this.name}: cannot carry out ${ev.type}: ${(err as Error).stack}`);
      void this.close(`internal error: ${(err as Error).message}`);
    }
  }

  private apply(ins: WorkerInstruction): void {
    switch (ins.op) {
      case "execute": {
        const data = new Map<Key, unknown>();
        for (const k of ins.deps) data.set(k, this.store.get(k));
        this.executor.submit({ key: ins.key, run: ins.run, data }, this.onExecuted);
        return;
      }
      case "gather-dep":
        this.gather(ins.worker, ins.keys);
        return;
      case "send-task-finished": {
        const small = ins.nbytes <= INLINE_RESULT_BYTES && this.store.has(ins.key);
        this.scheduler?.send(
          small
            ? { op: "task-finished", key: ins.key, nbytes: ins.nbytes, type: ins.typeName, hasValue: true, value: this.store.get(ins.key), startstops: ins.startstops }
            : { op: "task-finished", key: ins.key, nbytes: ins.nbytes, type: ins.typeName, hasValue: false, startstops: ins.startstops },
        );
        return;
      }
      case "send-task-erred":
        this.scheduler?.send({ op: "task-erred", key: ins.key, error: ins.error, startstops: ins.startstops });
        return;
      case "send-missing-data":
        this.scheduler?.send({ op: "missing-data", key: ins.key, errantWorker: ins.errantWorker });
        return;
      case "send-add-keys":
        this.scheduler?.send({ op: "add-keys", keys: ins.keys, nbytes: ins.nbytes });
        return;
      case "send-steal-response":
        this.scheduler?.send({ op: "steal-response", key: ins.key, state: ins.state });
        return;
      case "release-data":
        this.releaseData(ins.key);
        return;
      default: {
        const never: never = ins;
        throw new Error(`skein worker: unknown instruction ${JSON.stringify(never)}`);
      }
    }
  }

  private releaseData(key: Key): void {
    const nbytes = this.store.memoryBytesOf(key);
    this.store.delete(key);
    // A full collection frees released shared memory (collect.ts). `gc` exists when the process
    // runs with --expose-gc, as worker processes spawned by skein do.
    const gc = (globalThis as { gc?: () => void }).gc;
    if (gc && !this.collecting && this.collect.released(nbytes, performance.now())) {
      this.collecting = true;
      // After the current batch of messages, which often releases many keys at once.
      setImmediate(() => {
        this.collecting = false;
        const t0 = performance.now();
        gc();
        this.collect.collected(performance.now() - t0);
      });
    }
  }

  private readonly onExecuted = (r: ExecResult): void => {
    if (this.closing) return;
    if (r.ok) {
      this.store.set(r.key, r.value, r.nbytes);
      this.feed({ type: "execute-success", stimulusId: this.stimulus("execute-success"), key: r.key, nbytes: r.nbytes, typeName: r.typeName, start: r.start, stop: r.stop });
    } else {
      this.feed({ type: "execute-failure", stimulusId: this.stimulus("execute-failure"), key: r.key, error: r.error, start: r.start, stop: r.stop });
    }
  };

  /** Store a value that arrived from elsewhere; returns what the machine needs to know. */
  private put(key: Key, value: unknown): DataInfo {
    const r = shareLargeArrays(value, this.sharedMinBytes);
    this.store.set(key, r.value, r.nbytes);
    return { nbytes: r.nbytes, typeName: r.typeName };
  }

  private dataReply(id: number, keys: readonly Key[]): DataReply {
    const data: Record<Key, unknown> = {};
    const missing: Key[] = [];
    for (const k of keys) {
      if (this.store.has(k)) data[k] = this.store.get(k);
      else missing.push(k);
    }
    return { op: "data", id, data, missing };
  }

  // ---------------------------------------------------------------- peers: serving

  private acceptPeer(conn: Connection): void {
    if (this.closing) {
      conn.close("skein worker: closing");
      return;
    }
    let greeted = false;
    conn.onClose = () => {};
    const check = needsCheck(conn);
    conn.onMessages = (msgs) => {
      const problem = check ? checkBatch(msgs) : null;
      if (problem !== null) {
        this.log("warn", `skein worker ${this.name}: closing connection with ${conn.peer}: malformed message: ${problem}`);
        conn.close(`skein worker: malformed message: ${problem}`);
        return;
      }
      for (const msg of msgs) {
        if (msg.op === "hello-peer") {
          if (this.opts.token !== undefined && msg.token !== this.opts.token) {
            this.log("warn", `skein worker ${this.name}: refused connection from ${conn.peer}: authentication failed: wrong or missing token`);
            conn.send({ op: "refused", reason: "authentication failed: wrong or missing token" });
            setImmediate(() => conn.close("authentication failed"));
            return;
          }
          greeted = true;
          conn.authenticated();
          conn.send({ op: "welcome", id: this.address });
        } else if (msg.op === "get-data" && greeted) {
          conn.send(this.dataReply(msg.id, msg.keys));
        } else {
          conn.close(`skein worker: unexpected ${msg.op}${greeted ? "" : " before hello-peer"} from peer ${conn.peer}`);
          return;
        }
      }
    };
  }

  // ---------------------------------------------------------------- peers: fetching

  private peer(worker: string): Peer {
    let p = this.peers.get(worker);
    if (p) return p;
    const entry: Peer = {
      conn: null,
      // Large arrays arrive straight into shared memory, where put() would otherwise copy them.
      ready: connect(worker, { tls: this.opts.tls, sharedMinBytes: this.sharedMinBytes }).then((conn) => {
        entry.conn = conn;
        conn.onMessages = (msgs) => this.onPeerMessages(worker, msgs);
        conn.onClose = (reason) => this.onPeerClosed(worker, entry, reason);
        // hello and the first request leave in the same batch; no round trip for the welcome.
        conn.send({ op: "hello-peer", ...(this.opts.token !== undefined ? { token: this.opts.token } : {}) });
        if (this.closing) conn.close("skein worker: closing");
        return conn;
      }),
    };
    this.peers.set(worker, entry);
    entry.ready.catch((err: unknown) => this.onPeerClosed(worker, entry, (err as Error).message));
    return entry;
  }

  private gather(worker: string, keys: Key[]): void {
    const id = this.nextId++;
    this.gathers.set(id, { worker, keys, start: Date.now() });
    const p = this.peer(worker);
    if (p.conn) p.conn.send({ op: "get-data", id, keys });
    else p.ready.then((conn) => conn.send({ op: "get-data", id, keys }), () => {});
  }

  private onPeerMessages(worker: string, msgs: Message[]): void {
    const conn = this.peers.get(worker)?.conn;
    if (conn && needsCheck(conn)) {
      const problem = checkBatch(msgs);
      if (problem !== null) {
        this.log("warn", `skein worker ${this.name}: closing connection with peer ${worker}: malformed message: ${problem}`);
        conn.close(`skein worker: malformed message: ${problem}`);
        return;
      }
    }
    for (const msg of msgs) {
      if (msg.op === "data") this.onData(worker, msg);
      else if (msg.op === "refused") this.peers.get(worker)?.conn?.close(`refused: ${msg.reason}`);
      else if (msg.op !== "welcome") this.log("warn", `skein worker ${this.name}: unexpected ${msg.op} from peer ${worker}`);
    }
  }

  private onData(worker: string, msg: DataReply): void {
    const g = this.gathers.get(msg.id);
    if (!g || g.worker !== worker) return;
    this.gathers.delete(msg.id);
    const infos: Record<Key, DataInfo> = {};
    for (const key of g.keys) {
      if (Object.hasOwn(msg.data, key)) infos[key] = this.put(key, msg.data[key]);
    }
    this.feed({ type: "gather-dep-success", stimulusId: this.stimulus("gather-dep-success"), worker, keys: g.keys, data: infos, start: g.start, stop: Date.now() });
  }

  private onPeerClosed(worker: string, entry: Peer, reason: string): void {
    if (this.peers.get(worker) === entry) this.peers.delete(worker);
    for (const [id, g] of this.gathers) {
      if (g.worker !== worker) continue;
      this.gathers.delete(id);
      this.feed({ type: "gather-dep-failure", stimulusId: this.stimulus("gather-dep-failure"), worker, keys: g.keys, error: reason });
    }
  }

  // ---------------------------------------------------------------- shutdown

  private async shutdown(reason: string): Promise<void> {
    clearInterval(this.heartbeat);
    clearInterval(this.memoryTimer);
    this.scheduler?.close(`skein worker ${this.name}: ${reason}`);
    for (const p of this.peers.values()) p.conn?.close(`skein worker ${this.name}: ${reason}`);
    this.peers.clear();
    this.gathers.clear();
    await Promise.allSettled([this.listener.close(), this.executor.close()]);
    this.store.close();
    this.resolveClosed();
  }
}
