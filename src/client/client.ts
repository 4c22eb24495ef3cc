/**
 * The Client: Dask-style futures on skein's scheduler. It turns calls into task submissions,
 * keeps one record per key it holds, and talks to the scheduler over one connection.
 */
import { connect, type TlsConfig } from "../comm/index.js";
import { packRun, unpackRun } from "../comm/serialize.js";
import type { Connection } from "../comm/types.js";
import { CancelledError, describeValue, GraphError, SkeinError, TaskError } from "../errors.js";
import { entryModuleUrl, loadFunction, locateFunction, resolveExport } from "../functions/index.js";
import { encodeArgs } from "../graph/build.js";
import { applyDiskCache, type CacheOption } from "../graph/cache.js";
import { Delayed, setDefaultComputer, setExternalKeyOf } from "../graph/delayed.js";
import { evaluateRun } from "../graph/evaluate.js";
import { planGraph } from "../graph/order.js";
import { normalizeGraph, type NormalizedTask } from "../graph/raw.js";
import type { FnRef, Key, RemoteErrorInfo, TaskSubmission } from "../graph/spec.js";
import { tokenize, uniqueKey } from "../graph/tokenize.js";
import type { Message } from "../protocol.js";
import { LocalCluster, type LocalClusterOptions } from "../cluster/local.js";
import { readSchedulerFile } from "../cluster/scheduler-file.js";
import { isPlainObject } from "../plain.js";
import { AsCompleted, type AsCompletedOptions } from "./as-completed.js";
import { Future, KeyRecord, type FutureHost } from "./future.js";
import { progress, type ProgressOptions } from "./progress.js";
import { runPerformanceReport, type PerformanceReportOptions } from "./performance-report.js";

/** Per-call options, as dask's submit keywords. */
export interface TaskOptions {
  /** Same function + arguments give the same key and run once. Default true (as dask). */
  pure?: boolean;
  /** Use this key instead of a generated one. */
  key?: string;
  /** Higher runs earlier among ready tasks. */
  priority?: number;
  /** Extra attempts after a failure. */
  retries?: number;
  /** Only run on these workers (addresses or names). */
  workers?: string | string[];
  /** With `workers`, allow others when those are busy or gone. */
  allowOtherWorkers?: boolean;
  /** Abstract resources held while running, e.g. `{ GPU: 1 }`. */
  resources?: Record<string, number>;
}

/** `compute` / `persist` options: task options plus a terminal progress display. */
export interface ComputeOptions extends TaskOptions {
  progress?: boolean | ProgressOptions;
  /** Keep results of pure tasks on disk under their keys; cached keys are loaded, not recomputed (src/graph/cache.ts). */
  cache?: CacheOption;
}

export interface ConnectOptions extends LocalClusterOptions {
  /** Scheduler address, e.g. "tcp://10.0.0.1:8786". Without it (and without schedulerFile) a LocalCluster starts. */
  address?: string;
  /** A file written by `skein scheduler --scheduler-file`. */
  schedulerFile?: string;
  /** Shared secret for a scheduler that requires one. */
  token?: string;
  /** Certificates for a tls:// scheduler (PEM contents; `readTlsFiles` reads them from files). */
  tls?: TlsConfig;
  /** Use an existing LocalCluster (not closed with the client). */
  cluster?: LocalCluster;
  /** Client name shown in the scheduler's logs. */
  name?: string;
  /** How long to wait for the scheduler's welcome. Default 10 s. */
  timeoutMs?: number;
  /**
   * When the connection to a tcp:// or tls:// scheduler drops, keep trying to reconnect and resume
   * for this long before failing the pending futures. Default 20 s (the scheduler keeps a dropped
   * client's keys for its `clientGraceMs`, 30 s by default); 0 disables reconnecting.
   */
  reconnectTimeoutMs?: number;
}

/** What reconnecting needs to know about the original connection. */
interface Link {
  readonly address: string;
  readonly name: string;
  readonly token: string | undefined;
  readonly tls: TlsConfig | undefined;
  readonly timeoutMs: number;
  readonly reconnectTimeoutMs: number;
}

export interface WaitResult<T> {
  done: Future<T>[];
  notDone: Future<T>[];
}

interface PendingTask {
  key: Key;
  fn: ((...args: never[]) => unknown) | null;
  args: unknown[];
  deps: Key[];
  name: string;
  opts: TaskOptions;
  order?: number;
  /** Set when this client holds Futures on the key (wanted keys only). */
  record?: KeyRecord;
}

type AnyFn = (...args: never[]) => unknown;
/** A value, or a Future / Delayed standing for one, as a task argument. */
export type Arg<T> = T | Future<T> | Delayed<T> | (T extends readonly (infer U)[] ? readonly Arg<U>[] : never);
type Args<A extends unknown[]> = { [I in keyof A]: Arg<A[I]> };

let clientCounter = 0;

export class Client implements FutureHost {
  private readonly records = new Map<Key, KeyRecord>();
  private readonly verified = new Map<AnyFn, FnRef>();
  private pending: PendingTask[] = [];
  private pendingWanted: Key[] = [];
  private flushScheduled = false;
  /** While function references are being verified, later messages wait here to keep their order. */
  private blocked: Message[] | undefined;
  private releaseQueue: Key[] = [];
  private releaseScheduled = false;
  private readonly gatherWaiters = new Map<number, { resolve: (r: { data: Record<Key, unknown>; missing: Key[] }) => void; reject: (e: Error) => void }>();
  private readonly requestWaiters = new Map<number, { resolve: (msg: Message) => void; reject: (e: Error) => void }>();
  private gatherQueue = new Map<Key, { resolve: (v: unknown) => void; reject: (e: Error) => void }[]>();
  private gatherScheduled = false;
  private nextId = 1;
  private closedReason: string | undefined;
  /** Requests awaiting a reply, by id: resent after a reconnect (replies are matched by id). */
  private readonly inflight = new Map<number, Message>();
  /** While reconnecting: messages sent meanwhile, in order. */
  private offline: Message[] | null = null;
  private readonly finalizer = new FinalizationRegistry<KeyRecord>((record) => this.releaseRef(record));

  private constructor(
    private conn: Connection,
    readonly id: string,
    readonly cluster: LocalCluster | undefined,
    private readonly ownsCluster: boolean,
    private readonly link: Link,
  ) {
    this.attach(conn);
  }

  private attach(conn: Connection): void {
    this.conn = conn;
    conn.onMessages = (msgs) => this.onMessages(msgs);
    conn.onClose = (reason) => this.onConnectionLost(reason);
  }

  /**
   * Connect to a scheduler. With no address, start an embedded LocalCluster (one worker process
   * per core by default) that closes with the client.
   */
  static async connect(arg?: string | ConnectOptions): Promise<Client> {
    const opts: ConnectOptions = typeof arg === "string" ? { address: arg } : { ...(arg ?? {}) };
    let cluster = opts.cluster;
    let owns = false;
    let address = opts.address;
    let token = opts.token;
    // A launcher (`skein mpi`) says where the job's scheduler is: join it instead of starting a cluster.
    const env = process.env;
    if (!address && !opts.schedulerFile && !cluster) {
      if (env.SKEIN_SCHEDULER_ADDRESS) {
        address = env.SKEIN_SCHEDULER_ADDRESS;
        token ??= env.SKEIN_TOKEN || undefined;
      } else if (env.SKEIN_SCHEDULER_FILE) opts.schedulerFile = env.SKEIN_SCHEDULER_FILE;
    }
    if (!address && opts.schedulerFile) {
      const info = await readSchedulerFile(opts.schedulerFile);
      address = info.address;
      token ??= info.token;
    }
    if (!address) {
      if (!cluster) {
        cluster = await LocalCluster.start(opts);
        owns = true;
      }
      address = cluster.inprocAddress;
    }
    let conn: Connection;
    try {
      conn = await connect(address, { tls: opts.tls });
    } catch (err) {
      if (owns) await cluster!.close();
      throw err;
    }
    const name = opts.name ?? `client-${process.pid}-${++clientCounter}`;
    let id: string;
    try {
      id = await handshake(conn, { op: "hello-client", client: name, token }, opts.timeoutMs ?? 10_000, address);
    } catch (err) {
      conn.close("handshake failed");
      if (owns) await cluster!.close();
      throw err;
    }
    const link: Link = {
      address,
      name,
      token,
      tls: opts.tls,
      timeoutMs: opts.timeoutMs ?? 10_000,
      reconnectTimeoutMs: address.startsWith("inproc://") ? 0 : (opts.reconnectTimeoutMs ?? 20_000),
    };
    const client = new Client(conn, id, cluster, owns, link);
    setDefaultComputer(client);
    setExternalKeyOf(keyOfFuture);
    return client;
  }

  /**
   * Connect to the scheduler named by the environment: SKEIN_SCHEDULER_ADDRESS (with SKEIN_TOKEN)
   * or SKEIN_SCHEDULER_FILE, as `skein mpi` sets for its script. Throws when neither is set,
   * where `connect()` would start a LocalCluster instead.
   */
  static fromEnvironment(opts: Omit<ConnectOptions, "address" | "schedulerFile" | "cluster"> = {}): Promise<Client> {
    const env = process.env;
    if (env.SKEIN_SCHEDULER_ADDRESS) return Client.connect({ ...opts, address: env.SKEIN_SCHEDULER_ADDRESS, token: opts.token ?? (env.SKEIN_TOKEN || undefined) });
    if (env.SKEIN_SCHEDULER_FILE) return Client.connect({ ...opts, schedulerFile: env.SKEIN_SCHEDULER_FILE });
    return Promise.reject(new SkeinError("skein: Client.fromEnvironment: neither SKEIN_SCHEDULER_ADDRESS nor SKEIN_SCHEDULER_FILE is set (run the script under `skein mpi`, or use Client.connect)"));
  }

  // ---------------------------------------------------------------- submitting

  /** Run `fn(...args)` on the cluster. Arguments may be Futures, used as their values. */
  submit<A extends unknown[], R>(fn: (...args: A) => R, ...args: Args<A>): Future<Awaited<R>> {
    return this.submitWith({}, fn, ...args);
  }

  /** `submit` with per-task options (key, pure, priority, retries, workers, resources). */
  submitWith<A extends unknown[], R>(opts: TaskOptions, fn: (...args: A) => R, ...args: Args<A>): Future<Awaited<R>> {
    this.checkOpen();
    return this.addCall(fn as AnyFn, args as unknown[], opts) as Future<Awaited<R>>;
  }

  /** Submit `fn(item)` for each item (or `fn(a[i], b[i], ...)` given several iterables). */
  map<T, R>(fn: (x: T) => R, items: Iterable<Arg<T>>, opts?: TaskOptions): Future<Awaited<R>>[];
  map<T, U, R>(fn: (x: T, y: U) => R, xs: Iterable<Arg<T>>, ys: Iterable<Arg<U>>, opts?: TaskOptions): Future<Awaited<R>>[];
  map<T, U, V, R>(fn: (x: T, y: U, z: V) => R, xs: Iterable<Arg<T>>, ys: Iterable<Arg<U>>, zs: Iterable<Arg<V>>, opts?: TaskOptions): Future<Awaited<R>>[];
  map(fn: AnyFn, ...rest: unknown[]): Future<unknown>[] {
    this.checkOpen();
    let opts: TaskOptions = {};
    const last = rest[rest.length - 1];
    if (rest.length > 1 && last !== null && typeof last === "object" && !(Symbol.iterator in last)) {
      opts = rest.pop() as TaskOptions;
    }
    if (rest.length === 0) throw new SkeinError("skein: map needs at least one iterable of arguments");
    const lists = rest.map((it, i) => {
      if (it === null || typeof it !== "object" || !(Symbol.iterator in it)) {
        throw new SkeinError(`skein: map argument ${i + 1} is not iterable (got ${describeValue(it)})`);
      }
      return Array.isArray(it) ? it : [...(it as Iterable<unknown>)];
    });
    const n = Math.min(...lists.map((l) => l.length));
    if (opts.key !== undefined) throw new SkeinError("skein: map does not take a single `key`; keys are generated per item");
    const out: Future<unknown>[] = new Array(n);
    if (lists.length === 1) {
      const xs = lists[0];
      for (let i = 0; i < n; i++) out[i] = this.addCall(fn, [xs[i]], opts);
    } else {
      for (let i = 0; i < n; i++) out[i] = this.addCall(fn, lists.map((l) => l[i]), opts);
    }
    return out;
  }

  /** A view of this client whose submit / map / compute use these options. */
  with(opts: TaskOptions): ClientWithOptions {
    return new ClientWithOptions(this, opts);
  }

  private addCall(fn: AnyFn, rawArgs: unknown[], opts: TaskOptions): Future<unknown> {
    const ref = this.locate(fn);
    const { args, deps } = encodeArgs(rawArgs, keyOfFuture);
    const name = ref.name;
    const pure = opts.pure ?? true;
    const key = opts.key ?? (pure ? `${name}-${tokenize(ref.module, ref.name, args)}` : uniqueKey(name));
    const existing = this.records.get(key);
    if (existing && existing.refs > 0) return new Future(existing, this);
    const record = existing ?? this.newRecord(key);
    this.pending.push({ key, fn, args, deps, name, opts, record });
    this.pendingWanted.push(key);
    this.scheduleFlush();
    return new Future(record, this);
  }

  private newRecord(key: Key): KeyRecord {
    const r = new KeyRecord(key);
    this.records.set(key, r);
    return r;
  }

  /** Where `fn` lives; throws at once for closures and non-functions. */
  private locate(fn: AnyFn): FnRef {
    return this.verified.get(fn) ?? locateFunction(fn);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.pending;
    const wanted = this.pendingWanted;
    this.pending = [];
    this.pendingWanted = [];
    if (batch.length === 0) return;
    const unverified = new Set<AnyFn>();
    for (const t of batch) if (t.fn && !this.verified.has(t.fn)) unverified.add(t.fn);
    if (unverified.size === 0) {
      this.sendBatch(batch, wanted, new Map());
      return;
    }
    // First use of a function: check that workers can import it before anything is sent.
    const held: Message[] = (this.blocked ??= []);
    const failures = new Map<AnyFn, Error>();
    void Promise.all(
      [...unverified].map(async (fn) => {
        try {
          this.verified.set(fn, await this.verify(fn));
        } catch (err) {
          failures.set(fn, err as Error);
        }
      }),
    ).then(() => {
      if (this.blocked === held) this.blocked = undefined;
      this.sendBatch(batch, wanted, failures);
      for (const m of held) this.send(m);
    });
  }

  private sendBatch(batch: PendingTask[], wanted: Key[], failures: Map<AnyFn, Error>): void {
    const tasks: TaskSubmission[] = [];
    const failed = new Map<Key, Error>();
    for (const t of batch) {
      const fnErr = t.fn ? failures.get(t.fn) : undefined;
      const depErr = t.deps.find((d) => failed.has(d));
      if (fnErr || depErr !== undefined) {
        const err = fnErr ?? failed.get(depErr!)!;
        failed.set(t.key, err);
        t.record?.settle("error", undefined, false, err);
        continue;
      }
      const ref = t.fn ? this.verified.get(t.fn)! : null;
      tasks.push(submission(t, packRun({ fn: ref, args: t.args })));
    }
    if (tasks.length === 0) return;
    this.send({ op: "update-graph", tasks, wanted: failed.size ? wanted.filter((k) => !failed.has(k)) : wanted });
  }

  private send(msg: Message): void {
    if (this.blocked && msg.op !== "update-graph") {
      this.blocked.push(msg);
      return;
    }
    if (this.offline !== null) this.offline.push(msg);
    else this.conn.send(msg);
  }

  /** Send a request whose reply carries `id`; remembered until the reply, to resend after a reconnect. */
  private sendRequest(id: number, msg: Message): void {
    this.inflight.set(id, msg);
    this.send(msg);
  }

  // ---------------------------------------------------------------- graphs

  /**
   * Run every task of a Delayed (or several) and return Futures on their results. With
   * `progress: true` (or progress options) a bar (plain lines off a terminal) follows them on stderr.
   */
  compute<T>(value: Delayed<T>, opts?: ComputeOptions): Future<T>;
  compute<T>(values: readonly Delayed<T>[], opts?: ComputeOptions): Future<T>[];
  compute<T>(values: Delayed<T> | readonly Delayed<T>[], opts: ComputeOptions = {}): Future<T> | Future<T>[] {
    this.checkOpen();
    const list = Array.isArray(values) ? (values as Delayed<T>[]) : [values as Delayed<T>];
    const tasks = new Map<Key, NormalizedTask>();
    for (const d of list) {
      if (!(d instanceof Delayed)) throw new SkeinError(`skein: compute expects Delayed values, got ${describeValue(d)}`);
      for (const t of d.tasks()) tasks.set(t.key, t);
    }
    const { progress: showProgress, cache, ...taskOpts } = opts;
    const futures = this.submitGraph(tasks, list.map((d) => d.key), taskOpts, cache) as Future<T>[];
    if (showProgress) void progress(futures, showProgress === true ? {} : showProgress);
    return Array.isArray(values) ? futures : futures[0];
  }

  /** Like compute: the results stay on the workers, held by the returned Futures. */
  persist<T>(value: Delayed<T>, opts?: ComputeOptions): Future<T>;
  persist<T>(values: readonly Delayed<T>[], opts?: ComputeOptions): Future<T>[];
  persist<T>(values: Delayed<T> | readonly Delayed<T>[], opts: ComputeOptions = {}): Future<T> | Future<T>[] {
    return this.compute(values as Delayed<T>[], opts);
  }

  /**
   * Run a Dask-style raw graph and return the values of `keys`:
   * `client.get({ x: 1, y: [inc, "x"], z: [add, "x", "y"] }, "z")`.
   */
  async get(graph: Record<string, unknown>, keys: string | readonly string[], opts: ComputeOptions = {}): Promise<unknown> {
    const futures = this.computeGraph(graph, typeof keys === "string" ? [keys] : keys, opts);
    try {
      const values = await this.gather(futures);
      return typeof keys === "string" ? values[0] : values;
    } finally {
      for (const f of futures) f.release();
    }
  }

  /** Like get, but returns Futures on `keys` (held until released) instead of their values. */
  computeGraph(graph: Record<string, unknown>, keys: readonly string[], opts: ComputeOptions = {}): Future<unknown>[] {
    this.checkOpen();
    const wantedKeys = [...keys];
    for (const k of wantedKeys) {
      if (!Object.prototype.hasOwnProperty.call(graph, k)) throw new GraphError(`skein graph: requested key "${k}" is not in the graph`);
    }
    const tasks = new Map<Key, NormalizedTask>();
    const located = new Map<string, AnyFn>();
    const locate = (fn: unknown): FnRef => {
      const ref = this.locate(fn as AnyFn);
      located.set(refId(ref), fn as AnyFn);
      return ref;
    };
    for (const t of normalizeGraph(graph, locate)) tasks.set(t.key, t);
    for (const [id, fn] of located) if (!this.refFns.has(id)) this.refFns.set(id, fn);
    const { progress: showProgress, cache, ...taskOpts } = opts;
    const futures = this.submitGraph(tasks, wantedKeys, taskOpts, cache);
    if (showProgress) void progress(futures, showProgress === true ? {} : showProgress);
    return futures;
  }

  /** Validate, order and submit normalized tasks; returns Futures on `wantedKeys`. */
  private submitGraph(tasks: Map<Key, NormalizedTask>, wantedKeys: Key[], opts: TaskOptions, cache?: CacheOption): Future<unknown>[] {
    if (cache !== undefined) tasks = applyDiskCache(tasks, wantedKeys, cache, (k) => (this.records.get(k)?.refs ?? 0) > 0).tasks;
    const deps = new Map<Key, readonly Key[]>();
    for (const t of tasks.values()) deps.set(t.key, t.deps);
    const order = planGraph(deps, (k) => (this.records.get(k)?.refs ?? 0) > 0);
    // The order is a permutation of 0..n-1: place each task at its position, no comparison sort.
    const sorted = new Array<NormalizedTask>(tasks.size);
    for (const t of tasks.values()) sorted[order.get(t.key)!] = t;
    const futures: Future<unknown>[] = [];
    const wanted = new Set(wantedKeys);
    // Records (and Futures) only for the keys asked for: intermediate tasks are the scheduler's business.
    const fresh = new Set<Key>();
    for (const k of wanted) {
      const held = this.records.get(k);
      if (!held || held.refs === 0) fresh.add(k);
    }
    for (const t of sorted) {
      const held = this.records.get(t.key);
      if (held && held.refs > 0) continue; // already held: nothing to resubmit
      this.pending.push({
        key: t.key,
        fn: t.fn ? this.fnForRef(t.fn) : null,
        args: t.args as unknown[],
        deps: t.deps as Key[],
        name: t.fn ? t.fn.name : "data",
        opts,
        order: order.get(t.key),
        record: fresh.has(t.key) ? (held ?? this.newRecord(t.key)) : undefined,
      });
    }
    for (const k of wantedKeys) {
      const record = this.records.get(k) ?? this.newRecord(k);
      futures.push(new Future(record, this));
      if (wanted.delete(k)) this.pendingWanted.push(k);
    }
    this.scheduleFlush();
    return futures;
  }

  /**
   * Normalized graphs hold references, not functions. Raw graphs register their functions here;
   * for Delayed references a stand-in is made whose check imports the module (see verify).
   */
  private readonly refFns = new Map<string, AnyFn>();
  private readonly standIns = new Map<AnyFn, FnRef>();
  private fnForRef(ref: FnRef): AnyFn {
    const id = refId(ref);
    let fn = this.refFns.get(id);
    if (!fn) {
      fn = function located() {};
      this.refFns.set(id, fn);
      this.standIns.set(fn, ref);
    }
    return fn;
  }

  private async verify(fn: AnyFn): Promise<FnRef> {
    const ref = this.standIns.get(fn);
    if (!ref) return resolveExport(fn);
    // Importing the entry script would wait on its own top-level await (see verifyExport).
    if (ref.module !== entryModuleUrl()) await loadFunction(ref);
    return ref;
  }

  // ---------------------------------------------------------------- data

  /** Values of futures; a nested array / object of futures gives the same shape of values. */
  async gather<T>(futures: readonly Future<T>[]): Promise<T[]>;
  async gather<T>(future: Future<T>): Promise<T>;
  async gather(x: unknown): Promise<unknown> {
    this.checkOpen();
    if (x instanceof Future) return x.result();
    const found: Future<unknown>[] = [];
    collectFutures(x, found, 0);
    const values = await Promise.all(found.map((f) => f.result()));
    const byKey = new Map<Key, unknown>();
    found.forEach((f, i) => byKey.set(f.key, values[i]));
    return replaceFutures(x, byKey, 0);
  }

  /**
   * Put local data on the workers. An array gives one Future per element; a plain object
   * gives an object of Futures; anything else one Future. `broadcast` copies to every worker.
   */
  async scatter<T>(data: T, opts: { broadcast?: boolean; workers?: string | string[]; hash?: boolean } = {}): Promise<Future<T>> {
    this.checkOpen();
    const [fut] = await this.scatterMany([data], opts);
    return fut;
  }

  async scatterMany<T>(items: readonly T[], opts: { broadcast?: boolean; workers?: string | string[]; hash?: boolean } = {}): Promise<Future<T>[]> {
    this.checkOpen();
    const data: Record<Key, unknown> = {};
    const keys: Key[] = [];
    for (const item of items) {
      const key = opts.hash === false ? uniqueKey(typeName(item)) : `${typeName(item)}-${tokenize(item)}`;
      keys.push(key);
      data[key] = item;
    }
    // A Future on one of these content keys may have just been released, its release still
    // queued: sent after this scatter, it would free the data just scattered again.
    if (this.releaseQueue.length > 0) this.releaseQueue = this.releaseQueue.filter((k) => !Object.hasOwn(data, k));
    const id = this.nextId++;
    const reply = await this.request<Extract<Message, { op: "scatter-reply" }>>(id, {
      op: "scatter",
      id,
      data,
      workers: opts.workers === undefined ? undefined : ([] as string[]).concat(opts.workers),
      broadcast: !!opts.broadcast,
    });
    if (reply.error) throw new SkeinError(reply.error);
    return keys.map((k, i) => {
      const record = this.records.get(k) ?? this.newRecord(k);
      if (!record.done) record.settle("finished", items[i], true);
      return new Future(record, this) as Future<T>;
    });
  }

  /**
   * Run `fn` and write one self-contained HTML file to `path` with the task stream,
   * per-function time and transfers of everything that ran meanwhile (dask's
   * performance_report); resolves to what `fn` returned. The report is written if `fn` throws.
   */
  async performanceReport<T>(path: string, fn: () => T | Promise<T>, opts: PerformanceReportOptions = {}): Promise<T> {
    this.checkOpen();
    return runPerformanceReport(path, fn, async (since, until) => {
      const id = this.nextId++;
      return this.request<Extract<Message, { op: "task-stream-reply" }>>(id, { op: "task-stream", id, since, until });
    }, opts);
  }

  /**
   * @internal The scheduler's task-stream records overlapping [since, until] (epoch ms); what
   * visualize reads to colour keys this client holds no Future on.
   */
  async taskStreamWindow(since: number, until: number): Promise<Extract<Message, { op: "task-stream-reply" }>> {
    this.checkOpen();
    const id = this.nextId++;
    return this.request<Extract<Message, { op: "task-stream-reply" }>>(id, { op: "task-stream", id, since, until });
  }

  /** Workers of the cluster, as the scheduler sees them. */
  async workers(): Promise<Extract<Message, { op: "cluster-info-reply" }>["workers"]> {
    this.checkOpen();
    const id = this.nextId++;
    const reply = await this.request<Extract<Message, { op: "cluster-info-reply" }>>(id, { op: "cluster-info", id });
    return reply.workers;
  }

  /** Total threads over all workers. */
  async nthreads(): Promise<number> {
    return (await this.workers()).reduce((s, w) => s + w.nthreads, 0);
  }

  // ---------------------------------------------------------------- waiting

  asCompleted<T>(futures: Iterable<Future<T>>, opts: AsCompletedOptions & { withResults: true }): AsCompleted<T, [Future<T>, T]>;
  asCompleted<T>(futures?: Iterable<Future<T>>, opts?: AsCompletedOptions): AsCompleted<T, Future<T>>;
  asCompleted<T>(futures: Iterable<Future<T>> = [], opts: AsCompletedOptions = {}): AsCompleted<T, unknown> {
    return new AsCompleted<T, unknown>(futures, opts);
  }

  /** Wait until all (or the first) of the futures are done; never throws for failed futures. */
  async wait<T>(futures: readonly Future<T>[], opts: { returnWhen?: "ALL_COMPLETED" | "FIRST_COMPLETED"; timeoutMs?: number } = {}): Promise<WaitResult<T>> {
    const first = opts.returnWhen === "FIRST_COMPLETED";
    await new Promise<void>((resolve, reject) => {
      let left = futures.length;
      if (left === 0 || (first && futures.some((f) => f.done()))) return resolve();
      let timer: NodeJS.Timeout | undefined;
      if (opts.timeoutMs !== undefined) {
        timer = setTimeout(() => reject(new SkeinError(`skein: wait timed out after ${opts.timeoutMs} ms with ${left} of ${futures.length} futures pending`)), opts.timeoutMs);
      }
      for (const f of futures) {
        f.record.onDone(() => {
          left--;
          if (first || left === 0) {
            clearTimeout(timer);
            resolve();
          }
        });
      }
    });
    const done: Future<T>[] = [];
    const notDone: Future<T>[] = [];
    for (const f of futures) (f.done() ? done : notDone).push(f);
    return { done, notDone };
  }

  /** Stop computing these futures; their results and waiting dependents are cancelled. */
  async cancel(futures: Future<unknown> | readonly Future<unknown>[]): Promise<void> {
    const list = futures instanceof Future ? [futures] : futures;
    await this.cancelKeys(list.map((f) => f.key));
  }

  cancelKeys(keys: Key[]): Promise<void> {
    this.checkOpen();
    const pendingKeys = keys.filter((k) => !this.records.get(k)?.done);
    for (const k of keys) {
      const r = this.records.get(k);
      if (r && !r.done) r.settle("cancelled", undefined, false, new CancelledError(k));
    }
    if (pendingKeys.length > 0) this.send({ op: "cancel-keys", keys: pendingKeys });
    return Promise.resolve();
  }

  /**
   * Run the failed task of `future` again in this process, so a debugger or a console.log can
   * see it fail. Its inputs are gathered from the cluster, or recomputed here from lineage when
   * they are no longer in memory. Rejects with the local error.
   */
  async recreateErrorLocally(future: Future<unknown>): Promise<never> {
    const record = future.record;
    if (record.status !== "error") throw new SkeinError(`skein: future "${future.key}" has not failed (status ${record.status})`);
    const failing = (record.error instanceof TaskError && record.error.causeKey) || record.key;
    const spec = await this.runSpec(failing);
    await evaluateRun(unpackRun(spec.run), await this.localInputs(spec.deps));
    throw new SkeinError(`skein: task "${failing}" did not fail when run locally`);
  }

  private async runSpec(key: Key): Promise<{ run: Uint8Array; deps: Key[] }> {
    const id = this.nextId++;
    const reply = await this.request<Extract<Message, { op: "run-spec-reply" }>>(id, { op: "run-spec", id, key });
    if (!reply.found || !reply.run) throw new SkeinError(`skein: the scheduler no longer knows how to compute "${key}"; cannot recreate it locally`);
    return { run: reply.run, deps: reply.deps };
  }

  /** Values of `keys`: gathered where the cluster still holds them, recomputed here otherwise. */
  private async localInputs(keys: readonly Key[]): Promise<Map<Key, unknown>> {
    const data = new Map<Key, unknown>();
    if (keys.length === 0) return data;
    const id = this.nextId++;
    const reply = await new Promise<{ data: Record<Key, unknown>; missing: Key[] }>((resolve, reject) => {
      this.gatherWaiters.set(id, { resolve, reject });
      this.sendRequest(id, { op: "gather", id, keys: [...keys] });
    });
    for (const k of keys) {
      if (k in reply.data) {
        data.set(k, reply.data[k]);
        continue;
      }
      const spec = await this.runSpec(k);
      data.set(k, await evaluateRun(unpackRun(spec.run), await this.localInputs(spec.deps)));
    }
    return data;
  }

  // ---------------------------------------------------------------- FutureHost

  /** @internal */
  resultOf(record: KeyRecord): Promise<unknown> {
    switch (record.status) {
      case "finished":
        return record.hasValue ? Promise.resolve(record.value) : this.fetch(record);
      case "error":
      case "cancelled":
        return Promise.reject(record.error ?? new CancelledError(record.key));
      case "pending":
        return new Promise<void>((resolve) => record.onDone(resolve)).then(() => this.resultOf(record));
    }
  }

  /** @internal what this client knows of `key` while it holds Futures on it (visualize reads states here) */
  keyRecord(key: Key): KeyRecord | undefined {
    return this.records.get(key);
  }

  /** @internal */
  trackFuture(future: Future<unknown>, record: KeyRecord): void {
    this.finalizer.register(future, record, future);
  }

  /** @internal */
  untrackFuture(future: Future<unknown>): void {
    this.finalizer.unregister(future);
  }

  /** @internal one Future on `record` is gone */
  releaseRef(record: KeyRecord): void {
    if (--record.refs > 0) return;
    if (this.records.get(record.key) !== record) return;
    this.records.delete(record.key);
    if (this.closedReason !== undefined) return;
    this.releaseQueue.push(record.key);
    if (!this.releaseScheduled) {
      this.releaseScheduled = true;
      // After the current tick's submissions, so a key submitted and dropped in one tick is still seen.
      setImmediate(() => {
        this.releaseScheduled = false;
        const keys = this.releaseQueue.filter((k) => !this.records.has(k));
        this.releaseQueue = [];
        if (keys.length && this.closedReason === undefined) this.send({ op: "client-releases-keys", keys });
      });
    }
  }

  private fetch(record: KeyRecord): Promise<unknown> {
    return new Promise((resolve, reject) => {
      let list = this.gatherQueue.get(record.key);
      if (!list) this.gatherQueue.set(record.key, (list = []));
      list.push({ resolve, reject });
      if (this.gatherScheduled) return;
      this.gatherScheduled = true;
      queueMicrotask(() => this.sendGather());
    });
  }

  private sendGather(): void {
    this.gatherScheduled = false;
    const queue = this.gatherQueue;
    this.gatherQueue = new Map();
    const id = this.nextId++;
    const keys = [...queue.keys()];
    this.gatherWaiters.set(id, {
      resolve: ({ data, missing }) => {
        const lost = new Set(missing);
        for (const [key, waiters] of queue) {
          const record = this.records.get(key);
          if (lost.has(key) || !(key in data)) {
            // Lost with its worker: the scheduler recomputes it; wait for the new result.
            if (record) {
              if (record.status === "finished") record.reset();
              this.send({ op: "client-desires-keys", keys: [key] });
              for (const w of waiters) this.resultOf(record).then(w.resolve, w.reject);
            } else {
              for (const w of waiters) w.reject(new SkeinError(`skein: key "${key}" was released before its value arrived`));
            }
            continue;
          }
          const value = data[key];
          if (record && record.status === "finished") {
            record.hasValue = true;
            record.value = value;
          }
          for (const w of waiters) w.resolve(value);
        }
      },
      reject: (err) => {
        for (const waiters of queue.values()) for (const w of waiters) w.reject(err);
      },
    });
    this.sendRequest(id, { op: "gather", id, keys });
  }

  private request<M extends Message>(id: number, msg: Message): Promise<M> {
    return new Promise<M>((resolve, reject) => {
      this.requestWaiters.set(id, { resolve: (m) => resolve(m as M), reject });
      this.sendRequest(id, msg);
    });
  }

  // ---------------------------------------------------------------- incoming

  private onMessages(msgs: Message[]): void {
    for (const msg of msgs) {
      switch (msg.op) {
        case "key-in-memory": {
          const r = this.records.get(msg.key);
          if (r && r.status === "pending") r.settle("finished", msg.value, msg.hasValue);
          break;
        }
        case "key-erred": {
          const r = this.records.get(msg.key);
          if (r && !r.done) r.settle("error", undefined, false, new TaskError(msg.error as RemoteErrorInfo));
          break;
        }
        case "keys-cancelled":
          for (const k of msg.keys) {
            const r = this.records.get(k);
            if (r && !r.done) r.settle("cancelled", undefined, false, new CancelledError(k));
          }
          break;
        case "graph-rejected": {
          const err = new GraphError(msg.message);
          for (const k of msg.keys) {
            const r = this.records.get(k);
            if (r && !r.done) r.settle("error", undefined, false, err);
          }
          break;
        }
        case "gather-reply": {
          const w = this.gatherWaiters.get(msg.id);
          this.inflight.delete(msg.id);
          if (w) {
            this.gatherWaiters.delete(msg.id);
            w.resolve({ data: msg.data, missing: msg.missing });
          }
          break;
        }
        case "scatter-reply":
        case "cluster-info-reply":
        case "run-spec-reply":
        case "task-stream-reply": {
          const w = this.requestWaiters.get(msg.id);
          this.requestWaiters.delete(msg.id);
          this.inflight.delete(msg.id);
          w?.resolve(msg);
          break;
        }
        default:
          break;
      }
    }
  }

  /** The connection dropped: reconnect and resume when we can, else fail what is pending. */
  private onConnectionLost(reason: string): void {
    if (this.closedReason !== undefined || this.offline !== null) return;
    if (this.link.reconnectTimeoutMs <= 0) return this.onClosed(reason);
    // Requests sent before the drop are resent after the hello; later sends queue behind them.
    this.offline = [...this.inflight.values()];
    void this.reconnect(reason);
  }

  private async reconnect(reason: string): Promise<void> {
    const { address, reconnectTimeoutMs } = this.link;
    const deadline = Date.now() + reconnectTimeoutMs;
    let delay = 50;
    let last = reason;
    while (this.closedReason === undefined) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      try {
        const conn = await connect(address, { tls: this.link.tls, timeoutMs: Math.min(left, this.link.timeoutMs) });
        try {
          const hello: Message = { op: "hello-client", client: this.link.name, token: this.link.token, resume: this.id };
          await handshake(conn, hello, Math.min(Math.max(deadline - Date.now(), 1), this.link.timeoutMs), address);
        } catch (err) {
          conn.close("handshake failed");
          // Refused: the scheduler forgot us (grace period over, or restarted); retrying cannot help.
          if (err instanceof SkeinError && err.message.includes("refused the connection")) {
            return this.onClosed(`${reason}; reconnecting failed: ${err.message}`);
          }
          throw err;
        }
        if (this.closedReason !== undefined) {
          conn.close("client closed");
          return;
        }
        this.resume(conn);
        return;
      } catch (err) {
        last = err instanceof Error ? err.message : String(err);
      }
      await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(deadline - Date.now(), 0))));
      delay = Math.min(delay * 2, 1000);
    }
    this.onClosed(`${reason}; could not reconnect within ${reconnectTimeoutMs} ms (last attempt: ${last})`);
  }

  /** Back on a new connection: re-ask for every unfinished key (its result may have been missed), then drain the queue. */
  private resume(conn: Connection): void {
    const queued = this.offline ?? [];
    this.offline = null;
    this.attach(conn);
    const pendingKeys: Key[] = [];
    for (const r of this.records.values()) if (!r.done) pendingKeys.push(r.key);
    if (pendingKeys.length > 0) conn.send({ op: "client-desires-keys", keys: pendingKeys });
    for (const m of queued) conn.send(m);
  }

  private onClosed(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    const err = new SkeinError(`skein: connection to the scheduler closed: ${reason}`);
    for (const r of this.records.values()) if (!r.done) r.settle("error", undefined, false, err);
    for (const w of this.gatherWaiters.values()) w.reject(err);
    for (const w of this.requestWaiters.values()) w.reject(err);
    this.gatherWaiters.clear();
    this.requestWaiters.clear();
    this.inflight.clear();
    this.offline = null;
  }

  private checkOpen(): void {
    if (this.closedReason !== undefined) throw new SkeinError(`skein: client is closed (${this.closedReason})`);
  }

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  /** Close the connection, and the LocalCluster if this client started it. */
  async close(): Promise<void> {
    if (this.closedReason === undefined) {
      const reconnecting = this.offline !== null;
      this.onClosed("client closed");
      // Goodbye: the scheduler releases our keys now instead of holding them for a reconnect.
      if (!reconnecting) this.conn.send({ op: "client-goodbye" });
      this.conn.close("client closed");
    }
    setDefaultComputer(undefined, this);
    if (this.ownsCluster && this.cluster) await this.cluster.close();
  }

  // Delayed.compute() lands here.
  /** @internal */
  computeDelayed<T>(d: Delayed<T>): Promise<T> {
    const f = this.compute(d);
    return f.result().finally(() => f.release());
  }
}

/** The same client, with options applied to every call. */
export class ClientWithOptions {
  constructor(
    readonly client: Client,
    readonly opts: TaskOptions,
  ) {}

  submit<A extends unknown[], R>(fn: (...args: A) => R, ...args: Args<A>): Future<Awaited<R>> {
    return this.client.submitWith(this.opts, fn, ...args);
  }

  map<T, R>(fn: (x: T) => R, items: Iterable<Arg<T>>): Future<Awaited<R>>[];
  map<T, U, R>(fn: (x: T, y: U) => R, xs: Iterable<Arg<T>>, ys: Iterable<Arg<U>>): Future<Awaited<R>>[];
  map<T, U, V, R>(fn: (x: T, y: U, z: V) => R, xs: Iterable<Arg<T>>, ys: Iterable<Arg<U>>, zs: Iterable<Arg<V>>): Future<Awaited<R>>[];
  map(fn: AnyFn, ...iterables: Iterable<unknown>[]): Future<unknown>[] {
    return (this.client.map as (fn: AnyFn, ...rest: unknown[]) => Future<unknown>[])(fn, ...iterables, this.opts);
  }

  compute<T>(value: Delayed<T>): Future<T> {
    return this.client.compute(value, this.opts);
  }
}

function submission(t: PendingTask, run: Uint8Array): TaskSubmission {
  const o = t.opts;
  const s: { -readonly [K in keyof TaskSubmission]: TaskSubmission[K] } = { key: t.key, run, deps: t.deps, name: t.name };
  if (o.priority !== undefined) s.priority = o.priority;
  if (o.retries !== undefined) s.retries = o.retries;
  if (o.workers !== undefined) s.workers = typeof o.workers === "string" ? [o.workers] : o.workers;
  if (o.allowOtherWorkers !== undefined) s.allowOtherWorkers = o.allowOtherWorkers;
  if (o.resources !== undefined) s.resources = o.resources;
  if (t.order !== undefined) s.order = t.order;
  return s;
}

function refId(ref: FnRef): string {
  return `${ref.module}#${ref.name}`;
}

function keyOfFuture(v: unknown): Key | undefined {
  return v instanceof Future ? v.key : undefined;
}

async function handshake(conn: Connection, hello: Message, timeoutMs: number, address: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new SkeinError(`skein: no answer from the scheduler at ${address} within ${timeoutMs} ms`)), timeoutMs);
    conn.onMessages = (msgs) => {
      const m = msgs[0];
      clearTimeout(timer);
      if (m?.op === "welcome") resolve(m.id);
      else if (m?.op === "refused") reject(new SkeinError(`skein: the scheduler at ${address} refused the connection: ${m.reason}`));
      else reject(new SkeinError(`skein: unexpected first message from the scheduler at ${address}: ${String(m?.op)}`));
    };
    conn.onClose = (reason) => {
      clearTimeout(timer);
      reject(new SkeinError(`skein: connection to the scheduler at ${address} closed during handshake: ${reason}`));
    };
    conn.send(hello);
  });
}

const MAX_DEPTH = 64;

function collectFutures(x: unknown, out: Future<unknown>[], depth: number): void {
  if (depth > MAX_DEPTH) return;
  if (x instanceof Future) out.push(x);
  else if (Array.isArray(x)) for (const v of x) collectFutures(v, out, depth + 1);
  else if ((x !== null && typeof x === "object" && isPlainObject(x))) for (const v of Object.values(x)) collectFutures(v, out, depth + 1);
}

function replaceFutures(x: unknown, values: Map<Key, unknown>, depth: number): unknown {
  if (depth > MAX_DEPTH) return x;
  if (x instanceof Future) return values.get(x.key);
  if (Array.isArray(x)) return x.map((v) => replaceFutures(v, values, depth + 1));
  if ((x !== null && typeof x === "object" && isPlainObject(x))) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) out[k] = replaceFutures(v, values, depth + 1);
    return out;
  }
  return x;
}


function typeName(x: unknown): string {
  if (x === null) return "null";
  if (typeof x !== "object") return typeof x;
  return (x as object).constructor?.name?.toLowerCase() || "object";
}
