/**
 * The worker as a pure state machine, after dask.distributed's `WorkerState`: events in,
 * instructions out, no I/O, no timers, an injected clock. The edge (server.ts) owns sockets,
 * threads and the value store; this file only decides.
 *
 * Values never enter the machine. The edge keeps a `Map<Key, unknown>` and this machine only
 * knows sizes; when the edge has stored something the machine does not keep (a result of a
 * cancelled task, a late transfer), the machine answers with `release-data`.
 *
 * Shape of the code:
 * - `handle(event)` is the one mutator. A `switch` turns the event into recommendations
 *   (key -> target state) and instructions.
 * - `TRANSITIONS` is the table of legal moves (`"flight>memory"` -> handler). Handlers return
 *   nothing and never recurse: they push follow-up recommendations, and `handle` drains them
 *   to a steady state, then fills free threads (`ensureComputing`) and free fetch slots
 *   (`ensureCommunicating`).
 * - Every transition is logged with its stimulus id in a bounded story; an illegal move throws
 *   `InvalidTransition` carrying the key's story.
 *
 * Priorities are dask's: tuples compared lexicographically, smaller runs first.
 *
 * Task states:
 *   released     known, nothing happening (kept only while a local task depends on it)
 *   waiting      to compute here; some dependency is not in local memory yet
 *   ready        to compute, all dependencies local, queued for a thread (priority heap)
 *   constrained  as ready, but needs abstract resources (separate heap)
 *   executing    handed to the executor
 *   memory       value in the edge's store
 *   error        computed here and failed
 *   fetch        a dependency to copy from a peer, queued per holder
 *   flight       being copied from `comingFrom`
 *   missing      a dependency no known holder has; waits for new locations from the scheduler
 *   cancelled    released by the scheduler while executing/in flight; the result will be dropped
 *   resumed      cancelled, then wanted again in the other role (computed while in flight, or
 *                fetched while executing); the running operation decides what happens next
 */
import type { Key, RemoteErrorInfo } from "../graph/spec.js";
import type { StartStop } from "../protocol.js";
import type {
  AcquireReplicasEvent,
  ComputeTaskEvent,
  ExecuteFailureEvent,
  ExecuteSuccessEvent,
  FreeKeysEvent,
  GatherDepFailureEvent,
  GatherDepSuccessEvent,
  StealRequestEvent,
  StoryEntry,
  TaskStateName,
  UpdateDataEvent,
  WorkerEvent,
  WorkerInstruction,
} from "./events.js";
import { HeapSet, comparePriority } from "./heap.js";

export type * from "./events.js";

export interface WorkerStateOptions {
  /** This worker's address; never chosen as a holder to fetch from. */
  address: string;
  nthreads: number;
  /** Abstract resources this worker offers, e.g. { GPU: 1 }. */
  resources?: Record<string, number>;
  /** Concurrent `gather-dep` requests to one peer. Default 2. */
  maxConcurrentFetchesPerWorker?: number;
  /** One `gather-dep` carries keys up to this many bytes (at least one key). Default 32 MiB. */
  transferBatchBytes?: number;
  /**
   * Tiny tasks are handed to threads several at a time so the thread hop is paid per batch:
   * a thread is given at most enough tasks to cover this many milliseconds of work, by the
   * running mean of measured task durations, so a thread starts its next task without waiting
   * for the main thread (two postMessage hops and an event-loop turn, 0.2-1.5 ms). Tasks lasting
   * longer than this go one per thread (dask's strict behaviour). Default 20 ms: at most that
   * much queued work per thread is out of stealing's reach at the end of a graph. (It was 2 ms;
   * 20 ms cut the idle time between 8 ms Parquet prediction tasks from ~80 to ~20 ms per worker
   * per run in bench/predict.)
   */
  queueTargetMs?: number;
  /** Upper bound on tasks handed to one thread at once. Default 64. */
  maxTasksPerThread?: number;
  /** Story entries kept. Default 10,000. */
  storyLength?: number;
  now?: () => number;
}

export class InvalidTransition extends Error {
  static {
    this.prototype.name = "InvalidTransition";
  }
  constructor(
    readonly key: Key,
    readonly from: TaskStateName,
    readonly to: TaskStateName,
    readonly story: StoryEntry[],
  ) {
    super(
      `skein worker: invalid transition of "${key}" from ${from} to ${to}; story:\n` +
        story.map((s) => `  ${s.stimulusId}: ${s.from} -> ${s.to} @${s.time}`).join("\n"),
    );
  }
}

/** Runs after everything the scheduler asked for explicitly. */
const REPLICA_PRIORITY: readonly number[] = [Number.MAX_SAFE_INTEGER];
const LOWEST_PRIORITY: readonly number[] = [Infinity];

type MemoryReport = "task-finished" | "add-keys" | null;

export class TaskState {
  state: TaskStateName = "released";
  run: Uint8Array | null = null;
  name = "";
  priority: readonly number[] = LOWEST_PRIORITY;
  resources: Readonly<Record<string, number>> | null = null;
  /** Tasks whose values this one needs (only for tasks computed here). */
  readonly dependencies = new Set<TaskState>();
  /** Local tasks waiting for or running with this one's value; while any, it is kept. */
  readonly dependents = new Set<TaskState>();
  /** Dependencies not yet in local memory. */
  readonly waitingFor = new Set<TaskState>();
  /** Peers that hold the value, as the scheduler last said (minus those that failed us). */
  readonly whoHas = new Set<string>();
  nbytes = 0;
  typeName = "";
  /** Peer a transfer of this key is outstanding with. */
  comingFrom: string | null = null;
  /** For cancelled/resumed: what is still running. */
  previous: "executing" | "flight" | null = null;
  error: RemoteErrorInfo | null = null;
  startstops: StartStop[] = [];
  /**
   * The scheduler counts on this worker for the key: it asked for it (compute-task,
   * acquire-replicas, scatter) or was told we hold it (task-finished, add-keys).
   */
  wanted = false;
  /** The scheduler freed the key: it is kept only for local dependents, and never reported. */
  freed = false;
  /** How reaching memory is reported; set by the event that completes the task. */
  memoryReport: MemoryReport = null;

  constructor(readonly key: Key) {}
}

interface Out {
  readonly stimulusId: string;
  readonly recs: Map<TaskState, TaskStateName>;
  readonly instructions: WorkerInstruction[];
}

interface Running {
  readonly task: TaskState;
  readonly resources: Readonly<Record<string, number>> | null;
}

type Handler = (this: WorkerState, t: TaskState, out: Out) => void;
type TransitionName = `${TaskStateName}>${TaskStateName}`;

function assertNever(x: never, what: string): never {
  throw new Error(`skein worker: unknown ${what} ${JSON.stringify(x)}`);
}

export class WorkerState {
  readonly address: string;
  readonly nthreads: number;
  readonly tasks = new Map<Key, TaskState>();
  private readonly totalResources: Readonly<Record<string, number>>;
  private readonly availableResources: Record<string, number>;
  private readonly maxFetchesPerWorker: number;
  private readonly transferBatchBytes: number;
  private readonly queueTargetMs: number;
  private readonly maxTasksPerThread: number;
  private readonly storyLength: number;
  private readonly now: () => number;

  private readonly ready = new HeapSet<TaskState>((t) => t.priority);
  private readonly constrained = new HeapSet<TaskState>((t) => t.priority);
  /** Fetch-state tasks per holder, in priority order. */
  private readonly dataNeeded = new Map<string, HeapSet<TaskState>>();
  /** Inverse of `whoHas`, so a failed peer is dropped from every task at once. */
  private readonly hasWhat = new Map<string, Set<TaskState>>();
  /** Outstanding `gather-dep` requests per peer. */
  private readonly inFlight = new Map<string, number>();
  /** Tasks handed to the executor and not reported back yet, whatever their state now. */
  private readonly running = new Map<Key, Running>();
  private managed = 0;
  /** Paused for memory pressure: no new executions or fetches (dask's Status.paused). */
  private paused_ = false;
  /** Running mean of task durations (ms); null until the first task finishes. */
  private meanDurationMs: number | null = null;
  private story_: StoryEntry[] = [];
  private storyStart = 0;

  constructor(opts: WorkerStateOptions) {
    if (!Number.isInteger(opts.nthreads) || opts.nthreads < 1) {
      throw new Error(`skein worker: nthreads must be a positive integer, got ${opts.nthreads}`);
    }
    this.address = opts.address;
    this.nthreads = opts.nthreads;
    this.totalResources = { ...(opts.resources ?? {}) };
    this.availableResources = { ...this.totalResources };
    this.maxFetchesPerWorker = opts.maxConcurrentFetchesPerWorker ?? 2;
    this.transferBatchBytes = opts.transferBatchBytes ?? 32 * 2 ** 20;
    this.queueTargetMs = opts.queueTargetMs ?? 20;
    this.maxTasksPerThread = opts.maxTasksPerThread ?? 64;
    this.storyLength = opts.storyLength ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  // ---------------------------------------------------------------- public reads

  /** Sum of nbytes of the values in memory. */
  get managedBytes(): number {
    return this.managed;
  }

  /** True while paused for memory pressure (no new tasks start, no data is fetched). */
  get paused(): boolean {
    return this.paused_;
  }

  /** Tasks running on a thread now (at most nthreads). */
  get executingCount(): number {
    return Math.min(this.running.size, this.nthreads);
  }

  /** Tasks queued to run: ready heaps plus tasks handed to a thread behind another one. */
  get readyCount(): number {
    return this.ready.size + this.constrained.size + Math.max(0, this.running.size - this.nthreads);
  }

  /** Keys in flight plus keys waiting for a fetch slot. */
  get fetchCount(): number {
    let n = 0;
    for (const t of this.tasks.values()) if (t.state === "fetch" || t.state === "flight") n++;
    return n;
  }

  stateOf(key: Key): TaskStateName | undefined {
    return this.tasks.get(key)?.state;
  }

  /** Keys of ready tasks in the order they would run (unconstrained only). */
  readyKeys(): Key[] {
    return this.ready.sorted().map((t) => t.key);
  }

  /** Transitions of these keys, oldest first. */
  story(...keys: Key[]): StoryEntry[] {
    const want = new Set(keys);
    const out: StoryEntry[] = [];
    const n = this.story_.length;
    for (let i = 0; i < n; i++) {
      const e = this.story_[(this.storyStart + i) % n];
      if (want.has(e.key)) out.push(e);
    }
    return out;
  }

  // ---------------------------------------------------------------- the mutator

  handle(event: WorkerEvent): WorkerInstruction[] {
    const out: Out = { stimulusId: event.stimulusId, recs: new Map(), instructions: [] };
    this.handleEvent(event, out);
    for (;;) {
      this.drain(out);
      this.ensureComputing(out);
      this.ensureCommunicating(out);
      if (out.recs.size === 0) break;
    }
    return out.instructions;
  }

  private handleEvent(ev: WorkerEvent, out: Out): void {
    switch (ev.type) {
      case "pause":
        this.paused_ = true;
        return;
      case "unpause":
        this.paused_ = false; // ensureComputing / ensureCommunicating pick up where they stopped
        return;
      case "compute-task":
        return this.onComputeTask(ev, out);
      case "free-keys":
        return this.onFreeKeys(ev, out);
      case "acquire-replicas":
        return this.onAcquireReplicas(ev, out);
      case "update-data":
        return this.onUpdateData(ev, out);
      case "execute-success":
        return this.onExecuteSuccess(ev, out);
      case "execute-failure":
        return this.onExecuteFailure(ev, out);
      case "gather-dep-success":
        return this.onGatherDepSuccess(ev, out);
      case "gather-dep-failure":
        return this.onGatherDepFailure(ev, out);
      case "steal-request":
        return this.onStealRequest(ev, out);
      default:
        return assertNever(ev, "event");
    }
  }

  // ---------------------------------------------------------------- event handlers

  private onComputeTask(ev: ComputeTaskEvent, out: Out): void {
    const t = this.ensureTask(ev.key);
    t.wanted = true;
    t.freed = false;
    t.name = ev.name;
    t.priority = ev.priority;
    t.resources = ev.resources && Object.keys(ev.resources).length > 0 ? ev.resources : null;
    if (t.state !== "memory") t.run = ev.run;
    if (t.state === "ready") this.ready.update(t);
    else if (t.state === "constrained") this.constrained.update(t);
    // Finished or running tasks need no inputs (and must not pin them).
    const needsDeps = t.state !== "memory" && t.state !== "executing";
    for (const loc of needsDeps ? ev.deps : []) {
      const d = this.ensureTask(loc.key);
      if (d.state !== "memory") {
        this.setWhoHas(d, loc.workers, out);
        d.nbytes = loc.nbytes;
      }
      if (!t.dependencies.has(d)) {
        t.dependencies.add(d);
        d.dependents.add(t);
      }
      if (comparePriority(t.priority, d.priority) < 0) this.setPriority(d, t.priority);
      if (d.state === "missing" && this.hasHolders(d)) out.recs.set(d, "fetch");
    }
    switch (t.state) {
      case "memory":
        // The scheduler lost track (e.g. after reconnecting): say it again.
        t.wanted = true;
        out.instructions.push(this.finishedMsg(t));
        return;
      case "waiting":
      case "ready":
      case "constrained":
      case "executing":
        return;
      case "error":
      case "released":
      case "fetch":
      case "flight":
      case "missing":
      case "cancelled":
      case "resumed":
        out.recs.set(t, "waiting");
        return;
      default:
        return assertNever(t.state, "state");
    }
  }

  private onFreeKeys(ev: FreeKeysEvent, out: Out): void {
    for (const key of ev.keys) {
      const t = this.tasks.get(key);
      if (!t) continue;
      t.wanted = false;
      t.freed = true;
      // A local task still needs it: keep it until that task is done.
      if (t.dependents.size > 0) continue;
      if (t.state === "released") this.maybeForget(t);
      else if (t.state !== "cancelled") out.recs.set(t, "released");
    }
  }

  private onAcquireReplicas(ev: AcquireReplicasEvent, out: Out): void {
    for (const loc of ev.deps) {
      const t = this.ensureTask(loc.key);
      t.wanted = true;
      t.freed = false;
      if (t.state === "memory") continue;
      this.setWhoHas(t, loc.workers, out);
      t.nbytes = loc.nbytes;
      if (t.priority === LOWEST_PRIORITY) this.setPriority(t, REPLICA_PRIORITY);
      switch (t.state) {
        case "released":
        case "missing":
        case "cancelled":
          out.recs.set(t, "fetch");
          break;
        default:
          break;
      }
    }
  }

  private onUpdateData(ev: UpdateDataEvent, out: Out): void {
    for (const key of Object.keys(ev.data)) {
      const info = ev.data[key];
      const t = this.ensureTask(key);
      t.wanted = true;
      t.freed = false;
      t.typeName = info.typeName;
      if (t.state === "memory") {
        this.managed += info.nbytes - t.nbytes;
        t.nbytes = info.nbytes;
        continue;
      }
      t.nbytes = info.nbytes;
      t.memoryReport = null;
      out.recs.set(t, "memory");
    }
  }

  private onExecuteSuccess(ev: ExecuteSuccessEvent, out: Out): void {
    const t = this.finishRunning(ev.key, ev.stop - ev.start);
    if (t === null || this.tasks.get(ev.key) !== t) {
      this.releaseIfNotKept(ev.key, out);
      return;
    }
    switch (t.state) {
      case "executing":
      case "resumed":
        t.nbytes = ev.nbytes;
        t.typeName = ev.typeName;
        t.startstops = [{ action: "compute", start: ev.start, stop: ev.stop }];
        // Resumed from executing means the scheduler now expects a replica, not a result.
        t.memoryReport = t.state === "executing" ? "task-finished" : "add-keys";
        out.recs.set(t, "memory");
        return;
      case "cancelled":
        out.instructions.push({ op: "release-data", key: t.key });
        out.recs.set(t, "released");
        return;
      case "memory":
        // Scattered while running: the store holds an equal value either way.
        return;
      default:
        this.releaseIfNotKept(t.key, out);
        return;
    }
  }

  private onExecuteFailure(ev: ExecuteFailureEvent, out: Out): void {
    const t = this.finishRunning(ev.key, ev.stop - ev.start);
    if (t === null || this.tasks.get(ev.key) !== t) return;
    switch (t.state) {
      case "executing":
        t.error = { ...ev.error, key: t.key, fn: t.name, worker: this.address };
        t.startstops = [{ action: "compute", start: ev.start, stop: ev.stop }];
        out.recs.set(t, "error");
        return;
      case "resumed":
        out.recs.set(t, "fetch");
        return;
      case "cancelled":
        out.recs.set(t, "released");
        return;
      default:
        return;
    }
  }

  private onGatherDepSuccess(ev: GatherDepSuccessEvent, out: Out): void {
    this.endFetch(ev.worker);
    for (const key of ev.keys) {
      const info = Object.hasOwn(ev.data, key) ? ev.data[key] : undefined;
      const t = this.tasks.get(key);
      if (!t || t.comingFrom !== ev.worker) {
        // A late answer for a key that moved on; keep the store in line with the machine.
        if (info !== undefined) this.releaseIfNotKept(key, out);
        continue;
      }
      t.comingFrom = null;
      if (info === undefined) {
        this.fetchFailed(t, ev.worker, out);
        continue;
      }
      t.nbytes = info.nbytes;
      t.typeName = info.typeName;
      switch (t.state) {
        case "flight":
          t.memoryReport = "add-keys";
          out.recs.set(t, "memory");
          break;
        case "resumed":
          t.startstops = [{ action: "transfer", start: ev.start, stop: ev.stop }];
          t.memoryReport = "task-finished";
          out.recs.set(t, "memory");
          break;
        case "cancelled":
          out.instructions.push({ op: "release-data", key });
          out.recs.set(t, "released");
          break;
        default:
          throw new InvalidTransition(key, t.state, "memory", this.story(key));
      }
    }
  }

  private onGatherDepFailure(ev: GatherDepFailureEvent, out: Out): void {
    this.endFetch(ev.worker);
    // The peer is unreachable: stop counting on it for anything.
    const held = this.hasWhat.get(ev.worker);
    if (held) {
      for (const t of [...held]) {
        this.removeHolder(t, ev.worker);
        if (t.state === "fetch" && !this.hasHolders(t)) {
          out.instructions.push({ op: "send-missing-data", key: t.key, errantWorker: ev.worker });
          out.recs.set(t, "missing");
        }
      }
    }
    for (const key of ev.keys) {
      const t = this.tasks.get(key);
      if (!t || t.comingFrom !== ev.worker) continue;
      t.comingFrom = null;
      this.fetchFailed(t, ev.worker, out);
    }
  }

  private onStealRequest(ev: StealRequestEvent, out: Out): void {
    const t = this.tasks.get(ev.key);
    const state = t ? t.state : null;
    out.instructions.push({ op: "send-steal-response", key: ev.key, state });
    if (t && (state === "waiting" || state === "ready" || state === "constrained")) {
      t.wanted = false;
      if (t.dependents.size === 0) out.recs.set(t, "released");
    }
  }

  // ---------------------------------------------------------------- event helpers

  private ensureTask(key: Key): TaskState {
    let t = this.tasks.get(key);
    if (!t) {
      t = new TaskState(key);
      this.tasks.set(key, t);
    }
    return t;
  }

  private finishedMsg(t: TaskState): WorkerInstruction {
    return { op: "send-task-finished", key: t.key, nbytes: t.nbytes, typeName: t.typeName, startstops: t.startstops };
  }

  /** The executor reported `key`: free its thread slot and resources. Null if it was not running. */
  private finishRunning(key: Key, durationMs: number): TaskState | null {
    const r = this.running.get(key);
    if (!r) return null;
    this.running.delete(key);
    if (r.resources) for (const name of Object.keys(r.resources)) this.availableResources[name] += r.resources[name];
    const d = durationMs > 0 ? durationMs : 0;
    this.meanDurationMs = this.meanDurationMs === null ? d : 0.8 * this.meanDurationMs + 0.2 * d;
    return r.task;
  }

  private releaseIfNotKept(key: Key, out: Out): void {
    if (this.tasks.get(key)?.state !== "memory") out.instructions.push({ op: "release-data", key });
  }

  private endFetch(worker: string): void {
    const n = (this.inFlight.get(worker) ?? 0) - 1;
    if (n > 0) this.inFlight.set(worker, n);
    else this.inFlight.delete(worker);
  }

  /** `worker` could not give us `t`: tell the scheduler, try the next holder. */
  private fetchFailed(t: TaskState, worker: string, out: Out): void {
    this.removeHolder(t, worker);
    out.instructions.push({ op: "send-missing-data", key: t.key, errantWorker: worker });
    switch (t.state) {
      case "flight":
        out.recs.set(t, "fetch");
        return;
      case "resumed":
        // It was wanted here as a task too: compute it.
        out.recs.set(t, "waiting");
        return;
      case "cancelled":
        out.recs.set(t, "released");
        return;
      default:
        throw new InvalidTransition(t.key, t.state, "fetch", this.story(t.key));
    }
  }

  private setPriority(t: TaskState, p: readonly number[]): void {
    t.priority = p;
    if (t.state !== "fetch") return;
    for (const w of t.whoHas) this.dataNeeded.get(w)?.update(t);
  }

  private hasHolders(t: TaskState): boolean {
    return t.whoHas.size > 0;
  }

  /** Replace `t`'s holders with the scheduler's latest list (without ourselves). */
  private setWhoHas(t: TaskState, workers: readonly string[], out: Out): void {
    const fresh = new Set<string>();
    for (const w of workers) if (w !== this.address) fresh.add(w);
    for (const w of [...t.whoHas]) if (!fresh.has(w)) this.removeHolder(t, w);
    for (const w of fresh) {
      if (t.whoHas.has(w)) continue;
      t.whoHas.add(w);
      let set = this.hasWhat.get(w);
      if (!set) this.hasWhat.set(w, (set = new Set()));
      set.add(t);
      if (t.state === "fetch") this.neededFrom(w).push(t);
    }
    if (t.state === "fetch" && t.whoHas.size === 0) out.recs.set(t, "missing");
  }

  private removeHolder(t: TaskState, w: string): void {
    if (!t.whoHas.delete(w)) return;
    const set = this.hasWhat.get(w);
    if (set) {
      set.delete(t);
      if (set.size === 0) this.hasWhat.delete(w);
    }
    if (t.state === "fetch") this.dataNeeded.get(w)?.discard(t);
  }

  private neededFrom(w: string): HeapSet<TaskState> {
    let h = this.dataNeeded.get(w);
    if (!h) this.dataNeeded.set(w, (h = new HeapSet<TaskState>((t) => t.priority)));
    return h;
  }

  // ---------------------------------------------------------------- the drain loop

  private drain(out: Out): void {
    const recs = out.recs;
    while (recs.size > 0) {
      const [t, to] = recs.entries().next().value as [TaskState, TaskStateName];
      recs.delete(t);
      this.transition(t, to, out);
    }
  }

  private transition(t: TaskState, to: TaskStateName, out: Out): void {
    const from = t.state;
    if (from === to) return;
    const handler = WorkerState.TRANSITIONS[`${from}>${to}`];
    if (!handler) throw new InvalidTransition(t.key, from, to, this.story(t.key));
    handler.call(this, t, out);
    this.log(t.key, from, t.state, out.stimulusId);
  }

  private log(key: Key, from: TaskStateName, to: TaskStateName, stimulusId: string): void {
    const e: StoryEntry = { key, from, to, stimulusId, time: this.now() };
    if (this.story_.length < this.storyLength) {
      this.story_.push(e);
    } else {
      this.story_[this.storyStart] = e;
      this.storyStart = (this.storyStart + 1) % this.storyLength;
    }
  }

  /** Tasks handed to the executor at once: nthreads when tasks are long, more when tiny. */
  private executionSlots(): number {
    const mean = this.meanDurationMs;
    if (mean === null) return this.nthreads;
    const perThread = mean <= 0 ? this.maxTasksPerThread : Math.floor(this.queueTargetMs / mean);
    return this.nthreads * Math.max(1, Math.min(this.maxTasksPerThread, perThread));
  }

  private fits(res: Readonly<Record<string, number>> | null): boolean {
    if (res === null) return true;
    for (const name of Object.keys(res)) if ((this.availableResources[name] ?? 0) < res[name]) return false;
    return true;
  }

  private ensureComputing(out: Out): void {
    if (this.paused_) return;
    const slots = this.executionSlots();
    while (this.running.size < slots) {
      const r = this.ready.peek();
      const c = this.constrained.peek();
      let pick: TaskState;
      if (c !== undefined && (r === undefined || comparePriority(c.priority, r.priority) < 0) && this.fits(c.resources)) {
        pick = c;
        this.constrained.pop();
      } else if (r !== undefined) {
        pick = r;
        this.ready.pop();
      } else {
        break;
      }
      this.transition(pick, "executing", out);
    }
  }

  private ensureCommunicating(out: Out): void {
    if (this.paused_) return;
    const candidates: string[] = [];
    for (const [w, heap] of this.dataNeeded) {
      if (heap.size === 0) this.dataNeeded.delete(w);
      else if ((this.inFlight.get(w) ?? 0) < this.maxFetchesPerWorker) candidates.push(w);
    }
    if (candidates.length === 0) return;
    // Most urgent first; among equals, the peer with fewer transfers under way.
    candidates.sort((a, b) => {
      const c = comparePriority(this.dataNeeded.get(a)!.peek()!.priority, this.dataNeeded.get(b)!.peek()!.priority);
      if (c !== 0) return c;
      const d = (this.inFlight.get(a) ?? 0) - (this.inFlight.get(b) ?? 0);
      return d !== 0 ? d : a < b ? -1 : a > b ? 1 : 0;
    });
    // Round robin, one batch per peer per round, so a key held by several peers goes to the
    // less busy one once the first has a batch under way.
    let progress = true;
    while (progress) {
      progress = false;
      for (const w of candidates) {
        if ((this.inFlight.get(w) ?? 0) >= this.maxFetchesPerWorker) continue;
        const heap = this.dataNeeded.get(w);
        if (!heap || heap.size === 0) continue;
        const batch: TaskState[] = [];
        let bytes = 0;
        while (heap.size > 0) {
          const t = heap.peek()!;
          if (batch.length > 0 && bytes + t.nbytes > this.transferBatchBytes) break;
          heap.pop();
          batch.push(t);
          bytes += t.nbytes;
        }
        const keys: Key[] = [];
        for (const t of batch) {
          t.comingFrom = w;
          this.transition(t, "flight", out);
          keys.push(t.key);
        }
        this.inFlight.set(w, (this.inFlight.get(w) ?? 0) + 1);
        out.instructions.push({ op: "gather-dep", worker: w, keys, totalNbytes: bytes, stimulusId: out.stimulusId });
        progress = true;
      }
    }
  }

  // ---------------------------------------------------------------- transition helpers

  /** Undo what being in the current state means (queues, store), without unlinking. */
  private leave(t: TaskState, out: Out): void {
    switch (t.state) {
      case "ready":
        this.ready.discard(t);
        break;
      case "constrained":
        this.constrained.discard(t);
        break;
      case "fetch":
        for (const w of t.whoHas) this.dataNeeded.get(w)?.discard(t);
        break;
      case "memory":
        this.managed -= t.nbytes;
        out.instructions.push({ op: "release-data", key: t.key });
        break;
      case "flight":
      case "cancelled":
      case "resumed":
        // A late answer for it is then recognised as stale.
        t.comingFrom = null;
        break;
      case "error":
        t.error = null;
        break;
      case "released":
      case "waiting":
      case "executing":
      case "missing":
        break;
      default:
        assertNever(t.state, "state");
    }
    t.previous = null;
  }

  /** `t` no longer needs its dependencies; those nobody else wants are released. */
  private unlinkDependencies(t: TaskState, out: Out): void {
    if (t.dependencies.size === 0) return;
    for (const d of t.dependencies) {
      d.dependents.delete(t);
      this.releaseIfUnused(d, out);
    }
    t.dependencies.clear();
    t.waitingFor.clear();
  }

  private releaseIfUnused(t: TaskState, out: Out): void {
    if (t.wanted || t.dependents.size > 0) return;
    if (t.state === "released") this.maybeForget(t);
    else if (t.state !== "cancelled") out.recs.set(t, "released");
  }

  private maybeForget(t: TaskState): void {
    if (t.state !== "released" || t.wanted || t.dependents.size > 0) return;
    for (const w of [...t.whoHas]) this.removeHolder(t, w);
    this.tasks.delete(t.key);
  }

  /** Any state -> released, for real (the running operation, if any, is over). */
  private release(t: TaskState, out: Out): void {
    this.leave(t, out);
    t.state = "released";
    t.run = null;
    t.memoryReport = null;
    this.unlinkDependencies(t, out);
    this.maybeForget(t);
  }

  private toWaiting(t: TaskState, out: Out): void {
    t.state = "waiting";
    t.previous = null;
    t.waitingFor.clear();
    const res = t.resources;
    if (res) {
      for (const name of Object.keys(res)) {
        const have = this.totalResources[name];
        if (have === undefined || have < res[name]) {
          const message = `skein worker: task "${t.key}" needs resource ${name}=${res[name]} but this worker has ${have === undefined ? "none" : `${name}=${have}`}`;
          t.error = { name: "Error", message, stack: `Error: ${message}`, key: t.key, fn: t.name, worker: this.address };
          t.startstops = [];
          out.recs.set(t, "error");
          return;
        }
      }
    }
    for (const d of t.dependencies) {
      if (d.state === "memory") continue;
      t.waitingFor.add(d);
      switch (d.state) {
        case "released":
        case "missing":
        case "cancelled":
          if (!out.recs.has(d)) out.recs.set(d, "fetch");
          break;
        case "resumed":
        case "waiting":
        case "ready":
        case "constrained":
        case "executing":
        case "fetch":
        case "flight":
        case "error":
          break;
        default:
          assertNever(d.state, "state");
      }
    }
    if (t.waitingFor.size === 0) out.recs.set(t, "ready");
  }

  private toFetch(t: TaskState): void {
    if (!this.hasHolders(t)) {
      t.state = "missing";
      return;
    }
    t.state = "fetch";
    for (const w of t.whoHas) this.neededFrom(w).push(t);
  }

  private toMemory(t: TaskState, out: Out): void {
    this.leave(t, out);
    t.state = "memory";
    this.managed += t.nbytes;
    t.comingFrom = null;
    t.run = null;
    this.unlinkDependencies(t, out);
    for (const d of t.dependents) {
      d.waitingFor.delete(t);
      if (d.state === "waiting" && d.waitingFor.size === 0) out.recs.set(d, "ready");
    }
    const report = t.memoryReport;
    t.memoryReport = null;
    if (report !== null && !t.freed) {
      t.wanted = true;
      if (report === "task-finished") out.instructions.push(this.finishedMsg(t));
      else out.instructions.push({ op: "send-add-keys", keys: [t.key], nbytes: { [t.key]: t.nbytes } });
    }
    this.releaseIfUnused(t, out);
  }

  private toError(t: TaskState, out: Out): void {
    this.leave(t, out);
    t.state = "error";
    this.unlinkDependencies(t, out);
    if (!t.freed && t.error) {
      t.wanted = true;
      out.instructions.push({ op: "send-task-erred", key: t.key, error: t.error, startstops: t.startstops });
    }
    this.releaseIfUnused(t, out);
  }

  private toReady(t: TaskState): void {
    t.state = t.resources ? "constrained" : "ready";
    (t.resources ? this.constrained : this.ready).push(t);
  }

  private toExecuting(t: TaskState, out: Out): void {
    if (t.run === null) throw new InvalidTransition(t.key, t.state, "executing", this.story(t.key));
    const res = t.resources;
    if (res) for (const name of Object.keys(res)) this.availableResources[name] -= res[name];
    this.running.set(t.key, { task: t, resources: res });
    t.state = "executing";
    const deps: Key[] = [];
    for (const d of t.dependencies) deps.push(d.key);
    out.instructions.push({ op: "execute", key: t.key, run: t.run, name: t.name, deps, stimulusId: out.stimulusId });
  }

  /** The running operation keeps going; its result will be dropped. */
  private toCancelled(t: TaskState, out: Out): void {
    const previous = t.state === "executing" || (t.state === "resumed" && t.previous === "executing") ? "executing" : "flight";
    t.state = "cancelled";
    t.previous = previous;
    // An executing task already has its inputs; a transfer has none.
    this.unlinkDependencies(t, out);
  }

  /** Is the operation behind a cancelled/resumed task still outstanding? */
  private stillRunning(t: TaskState): boolean {
    return t.comingFrom !== null || this.running.get(t.key)?.task === t;
  }

  // ---------------------------------------------------------------- checks (tests)

  /** Throws if internal bookkeeping disagrees with task states. */
  validate(): void {
    let managed = 0;
    for (const t of this.tasks.values()) {
      const where = `skein worker: "${t.key}" in ${t.state}`;
      if (t.state === "memory") managed += t.nbytes;
      if ((t.state === "ready") !== this.ready.has(t)) throw new Error(`${where}: ready heap disagrees`);
      if ((t.state === "constrained") !== this.constrained.has(t)) throw new Error(`${where}: constrained heap disagrees`);
      if (t.state === "fetch") {
        if (t.whoHas.size === 0) throw new Error(`${where}: no holders`);
        for (const w of t.whoHas) if (!this.dataNeeded.get(w)?.has(t)) throw new Error(`${where}: not queued for ${w}`);
      }
      if (t.state === "flight" && t.comingFrom === null) throw new Error(`${where}: no comingFrom`);
      if (t.state === "executing" && this.running.get(t.key)?.task !== t) throw new Error(`${where}: not running`);
      if ((t.state === "cancelled" || t.state === "resumed") && !this.stillRunning(t)) throw new Error(`${where}: nothing running`);
      if (t.state === "waiting" && t.waitingFor.size === 0) throw new Error(`${where}: waits for nothing`);
      for (const d of t.dependents) if (!d.dependencies.has(t)) throw new Error(`${where}: dependent link broken`);
      for (const d of t.dependencies) {
        if (!d.dependents.has(t)) throw new Error(`${where}: dependency link broken`);
        if (this.tasks.get(d.key) !== d) throw new Error(`${where}: dependency "${d.key}" forgotten`);
      }
      for (const w of t.whoHas) if (!this.hasWhat.get(w)?.has(t)) throw new Error(`${where}: hasWhat misses ${w}`);
      if (t.state === "released" && !t.wanted && t.dependents.size === 0) throw new Error(`${where}: should be forgotten`);
    }
    for (const [w, h] of this.dataNeeded) for (const t of h) if (t.state !== "fetch" || !t.whoHas.has(w)) throw new Error(`skein worker: "${t.key}" queued for ${w} in ${t.state}`);
    if (managed !== this.managed) throw new Error(`skein worker: managed bytes ${this.managed} != ${managed}`);
  }

  // ---------------------------------------------------------------- the table

  private static readonly anyToMemory: Handler = function (t, out) {
    this.toMemory(t, out);
  };
  private static readonly toReleased: Handler = function (t, out) {
    this.release(t, out);
  };
  private static readonly toFetch: Handler = function (t, out) {
    this.leave(t, out);
    this.toFetch(t);
  };
  private static readonly toCancelled: Handler = function (t, out) {
    this.toCancelled(t, out);
  };
  private static readonly toWaiting: Handler = function (t, out) {
    this.leave(t, out);
    this.toWaiting(t, out);
  };
  private static readonly toError: Handler = function (t, out) {
    this.toError(t, out);
  };
  private static readonly toExecuting: Handler = function (t, out) {
    this.toExecuting(t, out);
  };

  /** The table of legal moves. Anything not listed throws InvalidTransition. */
  private static readonly TRANSITIONS: Partial<Record<TransitionName, Handler>> = {
    "released>waiting": WorkerState.toWaiting,
    "released>fetch": WorkerState.toFetch,
    "released>memory": WorkerState.anyToMemory,

    "waiting>ready": function (t) {
      this.toReady(t);
    },
    "waiting>error": WorkerState.toError,
    "waiting>released": WorkerState.toReleased,
    "waiting>memory": WorkerState.anyToMemory,

    "ready>executing": WorkerState.toExecuting,
    "ready>released": WorkerState.toReleased,
    "ready>memory": WorkerState.anyToMemory,
    "constrained>executing": WorkerState.toExecuting,
    "constrained>released": WorkerState.toReleased,
    "constrained>memory": WorkerState.anyToMemory,

    "executing>memory": WorkerState.anyToMemory,
    "executing>error": WorkerState.toError,
    "executing>released": WorkerState.toCancelled,

    "memory>released": WorkerState.toReleased,

    "error>released": WorkerState.toReleased,
    "error>waiting": WorkerState.toWaiting,
    "error>memory": WorkerState.anyToMemory,

    "fetch>flight": function (t, out) {
      // comingFrom was set by ensureCommunicating.
      this.leave(t, out);
      t.state = "flight";
    },
    "fetch>missing": function (t, out) {
      this.leave(t, out);
      t.state = "missing";
    },
    "fetch>released": WorkerState.toReleased,
    "fetch>waiting": WorkerState.toWaiting,
    "fetch>memory": WorkerState.anyToMemory,

    "flight>memory": WorkerState.anyToMemory,
    "flight>fetch": WorkerState.toFetch,
    "flight>released": WorkerState.toCancelled,
    "flight>waiting": function (t) {
      // Computing it here was asked while a transfer is under way: whichever ends first wins.
      t.state = "resumed";
      t.previous = "flight";
    },

    "missing>fetch": WorkerState.toFetch,
    "missing>released": WorkerState.toReleased,
    "missing>waiting": WorkerState.toWaiting,
    "missing>memory": WorkerState.anyToMemory,

    "cancelled>released": function (t, out) {
      if (!this.stillRunning(t)) this.release(t, out);
    },
    "cancelled>fetch": function (t) {
      if (t.previous === "flight") {
        t.state = "flight";
        t.previous = null;
      } else {
        t.state = "resumed";
      }
    },
    "cancelled>waiting": function (t, out) {
      if (t.previous === "executing") {
        // Computing it is what is running: just stop ignoring the result.
        t.state = "executing";
        t.previous = null;
        this.unlinkDependencies(t, out);
      } else {
        t.state = "resumed";
      }
    },
    "cancelled>memory": WorkerState.anyToMemory,

    "resumed>memory": WorkerState.anyToMemory,
    "resumed>released": WorkerState.toCancelled,
    "resumed>waiting": function (t, out) {
      if (t.previous === "executing") {
        t.state = "executing";
        t.previous = null;
      } else if (!this.stillRunning(t)) {
        // The transfer failed; compute it.
        this.toWaiting(t, out);
      }
    },
    "resumed>fetch": function (t, out) {
      if (t.previous === "flight") {
        t.state = "flight";
        t.previous = null;
      } else if (!this.stillRunning(t)) {
        // The computation failed; fetch it as the scheduler now wants.
        this.leave(t, out);
        this.toFetch(t);
      }
    },
  };
}
