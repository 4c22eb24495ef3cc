/**
 * The scheduler as a pure state machine (dask.distributed's scheduler semantics, adapted).
 *
 * Events in, instructions out: `handle(event)` mutates the state and returns what the I/O edge
 * must send. No sockets, timers or Date.now here; the clock is injected.
 *
 * Shape (after dask's worker state machine):
 * - one table of legal transitions ("waiting>processing" -> handler);
 * - handlers never recurse into each other: they push recommendations (task -> next state), and
 *   `drain` pops them (LIFO, depth-first like dask's dict.popitem) until none are left;
 * - a recommendation is a request checked against the task's state when it is popped, so a
 *   stale one is dropped instead of undoing newer decisions; the pseudo-state UNNEEDED means
 *   "release this, or forget it, if nothing needs it any more";
 * - every transition goes to a bounded ring-buffer log; `story(key)` reads it and an illegal
 *   transition's error quotes it.
 *
 * Release rule: a result is released as soon as no client wants it and no dependent in an
 * active state (waiting, queued, no-worker, processing) still needs it. A released task stays
 * as lineage while it has dependents (so lost results can be recomputed) and is forgotten
 * (deleted from every map) once nothing refers to it.
 *
 * Load balance: root tasks are handed out only while a worker is below its saturation limit and
 * otherwise wait in a priority heap on the scheduler, so no worker hoards more root work than it
 * can start soon; every other task is placed by estimated start time (backlog + transfer). What
 * placement could not foresee (uneven durations, a worker joining or pausing) is fixed by work
 * stealing on the periodic "balance" event: a steal-request asks the victim to give the task up,
 * and the task moves only when its steal-response confirms it had not started (stealing.ts).
 */
import type { Key, RemoteErrorInfo, TaskSubmission } from "../graph/spec.js";
import type { ComputeTask, DepLocation, StartStop } from "../protocol.js";
import {
  TASK_STATE_NAMES,
  type SchedulerEvent,
  type SchedulerInstruction,
  type TaskStateName,
  type TransitionRecord,
  type WorkerView,
} from "./events.js";
import { TransitionLog, formatStory } from "./log.js";
import {
  ClientState,
  ConstraintGroup,
  EMPTY_TASKS,
  ERRED,
  FORGOTTEN,
  MEMORY,
  NO_REC,
  NO_WORKER,
  NSTATES,
  PROCESSING,
  QUEUED,
  RELEASED,
  RareState,
  TaskHeap,
  TaskState,
  UNNEEDED,
  WAITING,
  WorkerState,
  addDependent,
  higherPriority,
  isActive,
  removeDependent,
  wantedByOther,
  wantsAdd,
  wantsDelete,
} from "./model.js";
import { ALL_BUSY, UNKNOWN_DURATION_MS, decideWorker, rootSlot, saturationLimit } from "./placement.js";
import { chooseSteals } from "./stealing.js";

export type {
  SchedulerEvent,
  SchedulerInstruction,
  TaskStateName,
  TransitionRecord,
  WorkerView,
} from "./events.js";
export { stimulusFromJSON, stimulusToJSON } from "./events.js";

export interface SchedulerOptions {
  now?: () => number;
  /** Worker deaths a task may be caught in before it is erred with KilledWorker. Default 3. */
  allowedFailures?: number;
  /**
   * Root tasks a worker may hold per thread before more wait in the scheduler's queue.
   * A number fixes it (Infinity: never queue). "auto" (the default) sizes it from measured
   * root-task durations so each thread has about PIPELINE_MS of work lined up behind the
   * running task: throughput = in-flight tasks / round-trip time, so tiny tasks need deep
   * pipelines (40 µs tasks: the 64-per-thread cap, ~25k tasks/s per thread at 2.5 ms round
   * trips), while second-long tasks get nthreads + 1 per worker, which keeps the backlog a
   * new or idle worker cannot take over (no stealing) to about one task.
   */
  workerSaturation?: number | "auto";
  /** Entries in the transition log ring buffer (0 disables it). Default 100,000. */
  transitionLogSize?: number;
}

/** Work queued per thread behind the running task, in ms of estimated compute (auto saturation). */
const PIPELINE_MS = 5;
const MAX_AUTO_SATURATION = 64;
/** Before any root task has reported a duration. */
const INITIAL_AUTO_SATURATION = 2;
const EWMA_ALPHA = 0.2;

type Handler = (this: SchedulerState, ts: TaskState) => void;
type TransitionName = `${TaskStateName}>${TaskStateName}`;

let TABLE: (Handler | undefined)[] = [];

function stateIndex(name: TaskStateName): number {
  return TASK_STATE_NAMES.indexOf(name);
}

function unreachable(x: never): never {
  throw new Error(`skein scheduler: unknown event ${JSON.stringify(x)}`);
}

function q(key: Key): string {
  return JSON.stringify(key);
}

export class SchedulerState {
  private readonly now: () => number;
  private readonly allowedFailures: number;
  private readonly autoSaturation: boolean;
  private saturation: number;
  private readonly log: TransitionLog;

  private readonly tasks = new Map<Key, TaskState>();
  private readonly workerMap = new Map<string, WorkerState>();
  private readonly workerList: WorkerState[] = [];
  /** Workers that may be given tasks: workerList minus the paused ones (dask's `running`). */
  private readonly running: WorkerState[] = [];
  private readonly clients = new Map<string, ClientState>();
  /** Root tasks waiting for a free slot. */
  private readonly rootQueue = new TaskHeap();
  /** Tasks whose resources are all in use right now, by constraint signature. */
  private readonly groups = new Map<string, ConstraintGroup>();
  private readonly noWorker = new Set<TaskState>();
  /** Steals in flight: task -> thief, until the victim answers or the task leaves processing. */
  private readonly steals = new Map<TaskState, WorkerState>();
  private readonly stealsTo = new Map<WorkerState, number>();
  private stealsTotal = 0;
  private readonly stateCounts = new Float64Array(NSTATES);

  // ---- per-stimulus scratch ----
  private out: SchedulerInstruction[] = [];
  private readonly stack: TaskState[] = [];
  private stimulusId = "";
  private time = 0;
  private serial = 0;
  private stimulusCounter = 0;
  private slotsMaybeOpened = false;
  private resourcesChanged = false;
  /** Arguments of processing>memory and released>memory (handlers take only the task). */
  private finWorkers: WorkerState[] | null = null;
  private finNbytes = 0;
  private finHasValue = false;
  private finValue: unknown = undefined;

  private generation = 0;
  private assignCounter = 0;
  private avgDurationMs = -1;
  private rootAvgDurationMs = -1;
  private transitionsTotal = 0;

  constructor(opts: SchedulerOptions = {}) {
    this.now = opts.now ?? (() => 0);
    this.allowedFailures = opts.allowedFailures ?? 3;
    const sat = opts.workerSaturation ?? "auto";
    this.autoSaturation = sat === "auto";
    this.saturation = sat === "auto" ? INITIAL_AUTO_SATURATION : sat;
    if (!(this.saturation > 0)) {
      throw new Error(`skein scheduler: workerSaturation must be > 0 or "auto", got ${String(sat)}`);
    }
    this.log = new TransitionLog(opts.transitionLogSize ?? 100_000);
  }

  // ======================= public API =======================

  handle(event: SchedulerEvent, stimulusId?: string): SchedulerInstruction[] {
    this.serial++;
    try {
      this.step(event, stimulusId);
    } catch (err) {
      this.abandon();
      throw err;
    }
    const out = this.out;
    this.out = [];
    return out;
  }

  /** Several events, one instruction list (free-keys to a worker are merged across the batch). */
  handleMany(events: readonly SchedulerEvent[]): SchedulerInstruction[] {
    this.serial++;
    try {
      for (let i = 0; i < events.length; i++) this.step(events[i], undefined);
    } catch (err) {
      this.abandon();
      throw err;
    }
    const out = this.out;
    this.out = [];
    return out;
  }

  /** After a throw (a bug): drop half-done work so the next stimulus does not replay it. */
  private abandon(): void {
    for (const ts of this.stack) ts.rec = NO_REC;
    this.stack.length = 0;
    this.out = [];
    this.finWorkers = null;
    this.finValue = undefined;
  }

  taskState(key: Key): TaskStateName | undefined {
    const ts = this.tasks.get(key);
    return ts === undefined ? undefined : TASK_STATE_NAMES[ts.state];
  }

  story(key: Key): readonly TransitionRecord[] {
    return this.log.story(key);
  }

  /** Tasks per state; "forgotten" counts every task forgotten so far. */
  counts(): Record<TaskStateName, number> {
    const out = {} as Record<TaskStateName, number>;
    for (let s = 0; s < NSTATES; s++) out[TASK_STATE_NAMES[s]] = this.stateCounts[s];
    return out;
  }

  workers(): readonly WorkerView[] {
    return this.workerList.map((ws) => ({
      address: ws.address,
      name: ws.name,
      nthreads: ws.nthreads,
      memoryLimit: ws.memoryLimit,
      paused: ws.paused,
      processing: ws.processing.size,
      nbytes: ws.nbytes,
      nkeys: ws.hasWhat.size,
      resources: { ...ws.resources },
      available: { ...ws.available },
    }));
  }

  /** Addresses of the workers holding `key` (empty unless in memory). */
  whoHas(key: Key): readonly string[] {
    const ts = this.tasks.get(key);
    return ts?.whoHas?.map((w) => w.address) ?? [];
  }

  /** The packed run spec, dependencies and name of a known task (for recreating errors locally). */
  runSpec(key: Key): { run: Uint8Array | null; deps: Key[]; name: string } | undefined {
    const ts = this.tasks.get(key);
    if (!ts) return undefined;
    return { run: ts.run, deps: ts.deps.map((d) => d.key), name: ts.name };
  }

  /** Address of the worker processing `key`, if any. */
  processingOn(key: Key): string | undefined {
    return this.tasks.get(key)?.processingOn?.address;
  }

  /** Number of tasks the scheduler currently tracks (forgotten ones are gone). */
  get taskCount(): number {
    return this.tasks.size;
  }

  /** Transitions performed since construction (for benchmarks). */
  get transitions(): number {
    return this.transitionsTotal;
  }

  /** Current root-task saturation factor (tasks per thread). */
  get workerSaturation(): number {
    return this.saturation;
  }

  // ======================= stimulus dispatch =======================

  private step(event: SchedulerEvent, stimulusId: string | undefined): void {
    this.stimulusId = stimulusId ?? `${event.type}-${++this.stimulusCounter}`;
    this.time = this.now();
    switch (event.type) {
      case "add-worker":
        this.onAddWorker(event.worker, event.name, event.nthreads, event.memoryLimit, event.resources);
        break;
      case "remove-worker":
        this.onRemoveWorker(event.worker);
        break;
      case "worker-status":
        this.onWorkerStatus(event.worker, event.status === "paused");
        break;
      case "add-client":
        this.client(event.client);
        break;
      case "remove-client":
        this.onRemoveClient(event.client);
        break;
      case "update-graph":
        this.onUpdateGraph(event.client, event.tasks, event.wanted);
        break;
      case "client-desires-keys":
        this.onClientDesiresKeys(event.client, event.keys);
        break;
      case "client-releases-keys":
        this.onClientReleasesKeys(event.client, event.keys);
        break;
      case "cancel-keys":
        this.onCancelKeys(event.client, event.keys);
        break;
      case "task-finished":
        this.onTaskFinished(event.worker, event.key, event.nbytes, event.hasValue, event.value, event.startstops);
        break;
      case "task-erred":
        this.onTaskErred(event.worker, event.key, event.error);
        break;
      case "add-keys":
        this.onAddKeys(event.worker, event.keys);
        break;
      case "scatter":
        this.onScatter(event.client, event.data, event.workers);
        break;
      case "missing-data":
        this.onMissingData(event.worker, event.key, event.errantWorker);
        break;
      case "gather":
        this.onGather(event.client, event.id, event.keys);
        break;
      case "balance":
        this.onBalance();
        break;
      case "steal-response":
        this.onStealResponse(event.worker, event.key, event.state);
        break;
      default:
        unreachable(event);
    }
    this.drain();
  }

  // ---- workers ----

  private onAddWorker(
    address: string,
    name: string,
    nthreads: number,
    memoryLimit: number,
    resources: Record<string, number>,
  ): void {
    if (this.workerMap.has(address)) return; // duplicate registration: the first one stands
    const ws = new WorkerState(address, name, nthreads > 0 ? nthreads : 1, memoryLimit, { ...resources });
    this.workerMap.set(address, ws);
    this.workerList.push(ws);
    this.running.push(ws);
    this.slotsMaybeOpened = true;
    this.resourcesChanged = true;
    if (this.noWorker.size > 0) {
      const retry = Array.from(this.noWorker).sort((a, b) => (higherPriority(a, b) ? 1 : higherPriority(b, a) ? -1 : 0));
      for (let i = 0; i < retry.length; i++) this.recommend(retry[i], PROCESSING); // best pops first
    }
  }

  private onRemoveWorker(address: string): void {
    const ws = this.workerMap.get(address);
    if (ws === undefined) return;
    ws.removed = true;
    this.workerMap.delete(address);
    this.workerList.splice(this.workerList.indexOf(ws), 1);
    if (!ws.paused) this.running.splice(this.running.indexOf(ws), 1);

    // Lost results first, and at once: no placement may see a memory task without holders.
    for (const ts of Array.from(ws.hasWhat)) {
      this.removeReplica(ts, ws);
      if (ts.whoHas === null) this.transition(ts, RELEASED);
    }
    for (const ts of Array.from(ws.processing)) {
      const rare = this.rareOf(ts);
      const killedOn = rare.killedOn ?? (rare.killedOn = []);
      killedOn.push(address);
      if (killedOn.length > this.allowedFailures) {
        rare.error = {
          name: "KilledWorker",
          message: `skein: task ${q(ts.key)} was running on ${killedOn.length} workers that died: ${killedOn.join(", ")}`,
          stack: "",
          key: ts.key,
          fn: ts.name,
          worker: address,
        };
        this.transition(ts, ERRED);
      } else {
        this.transition(ts, RELEASED); // back to waiting via the release handler
      }
    }
    this.resourcesChanged = true; // queued resource tasks may now have no capable worker
  }

  /**
   * A paused worker leaves the placement list: it keeps its results (peers still fetch them)
   * and the tasks already sent to it (it runs them once it resumes). With every worker paused,
   * ready tasks wait in no-worker, as in dask.
   */
  private onWorkerStatus(address: string, paused: boolean): void {
    const ws = this.workerMap.get(address);
    if (ws === undefined || ws.paused === paused) return;
    ws.paused = paused;
    if (paused) {
      this.running.splice(this.running.indexOf(ws), 1);
      return;
    }
    this.running.push(ws);
    this.slotsMaybeOpened = true;
    this.resourcesChanged = true;
    if (this.noWorker.size > 0) {
      const retry = Array.from(this.noWorker).sort((a, b) => (higherPriority(a, b) ? 1 : higherPriority(b, a) ? -1 : 0));
      for (let i = 0; i < retry.length; i++) this.recommend(retry[i], PROCESSING);
    }
  }

  // ---- work stealing ----

  /** Tasks moved by stealing so far (diagnostics, tests). */
  get stolen(): number {
    return this.stealsTotal;
  }

  private onBalance(): void {
    if (this.running.length === 0 || this.workerList.length < 2) return;
    const avg = this.avgDurationMs < 0 ? UNKNOWN_DURATION_MS : this.avgDurationMs;
    const steals = chooseSteals(this.running, this.workerList, avg, this.steals, this.stealsTo);
    for (let i = 0; i < steals.length; i++) {
      const { ts, victim, thief } = steals[i];
      this.steals.set(ts, thief);
      this.stealsTo.set(thief, (this.stealsTo.get(thief) ?? 0) + 1);
      this.out.push({ type: "steal-request", worker: victim.address, key: ts.key });
    }
  }

  private onStealResponse(address: string, key: Key, state: string | null): void {
    const ts = this.tasks.get(key);
    if (ts === undefined) return;
    const thief = this.steals.get(ts);
    if (thief === undefined) return;
    this.clearSteal(ts);
    const victim = ts.processingOn;
    if (ts.state !== PROCESSING || victim === null || victim.address !== address) return;
    // Only a task the victim had not started is given up (the worker released it on the request).
    if (state !== "waiting" && state !== "ready" && state !== "constrained") return;
    this.exitProcessing(ts, false);
    this.stealsTotal++;
    if (!thief.removed && !thief.paused) {
      this.startProcessing(ts, thief);
      this.logged(ts, PROCESSING);
    } else {
      this.place(ts);
    }
  }

  private clearSteal(ts: TaskState): void {
    const thief = this.steals.get(ts);
    if (thief === undefined) return;
    this.steals.delete(ts);
    const n = (this.stealsTo.get(thief) as number) - 1;
    if (n > 0) this.stealsTo.set(thief, n);
    else this.stealsTo.delete(thief);
  }

  // ---- clients ----

  private client(id: string): ClientState {
    let cs = this.clients.get(id);
    if (cs === undefined) {
      cs = new ClientState(id);
      this.clients.set(id, cs);
    }
    return cs;
  }

  private onRemoveClient(id: string): void {
    const cs = this.clients.get(id);
    if (cs === undefined) return;
    const wants = Array.from(cs.wants);
    for (let i = wants.length - 1; i >= 0; i--) this.unwant(cs, wants[i]); // first released first
    this.clients.delete(id);
  }

  /** Add the client's interest and tell it what is already known about the key. */
  private want(cs: ClientState, ts: TaskState): void {
    // Report the state even when the client already wanted the key: it may have dropped its
    // Futures and asked again before its release arrived, and is waiting to hear.
    wantsAdd(ts, cs);
    const s = ts.state;
    if (s === MEMORY) this.out.push({ type: "key-in-memory", client: cs.id, key: ts.key, hasValue: false });
    else if (s === ERRED) {
      this.out.push({ type: "key-erred", client: cs.id, key: ts.key, error: (ts.rare as RareState).error as RemoteErrorInfo });
    } else if (s === RELEASED) this.recommend(ts, WAITING);
  }

  private unwant(cs: ClientState, ts: TaskState): void {
    if (wantsDelete(ts, cs) && ts.whoWants === null && ts.nWaiters === 0) this.recommend(ts, UNNEEDED);
  }

  private onClientDesiresKeys(id: string, keys: readonly Key[]): void {
    const cs = this.client(id);
    const unknown: Key[] = [];
    for (let i = 0; i < keys.length; i++) {
      const ts = this.tasks.get(keys[i]);
      if (ts === undefined) unknown.push(keys[i]);
      else this.want(cs, ts);
    }
    if (unknown.length > 0) {
      this.out.push({
        type: "keys-cancelled",
        client: id,
        keys: unknown,
        reason: `skein scheduler: unknown key(s) ${unknown.map(q).join(", ")}`,
      });
    }
  }

  private onClientReleasesKeys(id: string, keys: readonly Key[]): void {
    const cs = this.clients.get(id);
    if (cs === undefined) return;
    for (let i = keys.length - 1; i >= 0; i--) {
      const ts = this.tasks.get(keys[i]);
      if (ts !== undefined) this.unwant(cs, ts);
    }
  }

  /**
   * dask's cancel: the client's interest goes; if no other client wants the key, its
   * computation stops, and dependents still waiting for it err with CancelledError.
   */
  private onCancelKeys(id: string, keys: readonly Key[]): void {
    const cs = this.client(id);
    for (let i = 0; i < keys.length; i++) {
      const ts = this.tasks.get(keys[i]);
      if (ts === undefined) continue;
      const others = wantedByOther(ts, cs);
      this.unwant(cs, ts);
      if (others || !isActive(ts.state)) continue;
      // Pushed before the dependents' erred recommendations, so it pops after them: by then
      // nothing waits on the key and the release handler will not restart it.
      this.recommend(ts, RELEASED);
      const ds = ts.dependents;
      if (ds === null) continue;
      let err: RemoteErrorInfo | null = null;
      for (const d of ds) {
        if (!isActive(d.state)) continue;
        err ??= {
          name: "CancelledError",
          message: `skein: key ${q(ts.key)} was cancelled`,
          stack: "",
          key: ts.key,
          fn: ts.name,
          worker: "",
          causeKey: ts.key,
        };
        this.rareOf(d).error = err;
        this.recommend(d, ERRED);
      }
    }
    this.out.push({ type: "keys-cancelled", client: id, keys: keys.slice(), reason: "cancelled by client" });
  }

  // ---- graphs ----

  private newTask(sub: TaskSubmission, gen: number, index: number): TaskState {
    let rare: RareState | null = null;
    const restrict = sub.workers;
    if (restrict !== undefined && restrict.length > 0) {
      rare = new RareState();
      rare.workers = restrict.slice();
      rare.allowOtherWorkers = sub.allowOtherWorkers === true;
    }
    const res = sub.resources;
    if (res !== undefined) {
      const names: string[] = [];
      const amounts: number[] = [];
      for (const name of Object.keys(res)) {
        if (res[name] > 0) {
          names.push(name);
          amounts.push(res[name]);
        }
      }
      if (names.length > 0) {
        rare ??= new RareState();
        rare.resNames = names;
        rare.resAmounts = amounts;
        const copy: Record<string, number> = {};
        for (let i = 0; i < names.length; i++) copy[names[i]] = amounts[i];
        rare.resources = copy;
      }
    }
    const prio = sub.priority;
    return new TaskState(
      sub.key,
      sub.run,
      sub.name,
      prio ? -prio : 0,
      gen,
      sub.order ?? index,
      sub.retries !== undefined && sub.retries > 0 ? sub.retries : 0,
      rare,
    );
  }

  private onUpdateGraph(id: string, subs: readonly TaskSubmission[], wanted: readonly Key[]): void {
    const cs = this.client(id);
    const gen = ++this.generation;
    const tasks = this.tasks;

    // Keys already known are not re-added: a pure key submitted twice runs once.
    const created: TaskState[] = [];
    const createdSubs: TaskSubmission[] = [];
    for (let i = 0; i < subs.length; i++) {
      const sub = subs[i];
      if (tasks.has(sub.key)) continue;
      const ts = this.newTask(sub, gen, i);
      tasks.set(sub.key, ts);
      created.push(ts);
      createdSubs.push(sub);
    }

    const wantedTs: TaskState[] = new Array<TaskState>(wanted.length);
    const problem = this.linkNewTasks(created, createdSubs, wanted, wantedTs, gen);
    if (problem !== null) {
      for (let i = 0; i < created.length; i++) tasks.delete(created[i].key);
      this.out.push({ type: "graph-rejected", client: id, keys: wanted.slice(), message: problem });
      return;
    }

    this.stateCounts[RELEASED] += created.length;
    for (let i = 0; i < created.length; i++) {
      const ts = created[i];
      const deps = ts.deps;
      for (let k = 0; k < deps.length; k++) if (deps[k].p1 !== gen) addDependent(deps[k], ts);
    }

    const freshWanted: TaskState[] = [];
    for (let i = 0; i < wantedTs.length; i++) {
      const ts = wantedTs[i];
      if (ts.p1 === gen) {
        if (wantsAdd(ts, cs)) freshWanted.push(ts);
      } else this.want(cs, ts);
    }
    // Submitted but reachable from nothing wanted: forget (they pop last, after the wanted
    // tasks have pulled in whatever they need).
    for (let i = created.length - 1; i >= 0; i--) {
      const ts = created[i];
      if (ts.dependents === null && ts.whoWants === null) this.recommend(ts, UNNEEDED);
    }
    // Highest priority pushed last, so it pops first and takes the first free slots.
    let sorted = true;
    for (let i = 1; i < freshWanted.length && sorted; i++) {
      if (higherPriority(freshWanted[i], freshWanted[i - 1])) sorted = false;
    }
    if (!sorted) freshWanted.sort((a, b) => (higherPriority(a, b) ? -1 : higherPriority(b, a) ? 1 : 0));
    for (let i = freshWanted.length - 1; i >= 0; i--) this.recommend(freshWanted[i], WAITING);
  }

  /**
   * Resolve dependencies of the new tasks and check the submission: every dependency known,
   * every wanted key known, no cycle among the new tasks. Links new-to-new dependents only
   * (links into pre-existing tasks wait until the submission is accepted) and fills
   * `wantedTs`. Returns the rejection message, or null.
   */
  private linkNewTasks(
    created: TaskState[],
    createdSubs: TaskSubmission[],
    wanted: readonly Key[],
    wantedTs: TaskState[],
    gen: number,
  ): string | null {
    const tasks = this.tasks;
    let hasFreshEdges = false;
    for (let j = 0; j < created.length; j++) {
      const sub = createdSubs[j];
      const keys = sub.deps;
      const n = keys.length;
      if (n === 0) continue;
      const ts = created[j];
      // Exact size (a push-built array reserves 17+ slots); duplicates squeezed out.
      let deps = new Array<TaskState>(n);
      let m = 0;
      const seen = n > 8 ? new Set<Key>() : null;
      for (let k = 0; k < n; k++) {
        const dk = keys[k];
        const d = tasks.get(dk);
        if (d === undefined) return `skein graph: task ${q(sub.key)} depends on missing key ${q(dk)}`;
        if (seen !== null) {
          if (seen.has(dk)) continue;
          seen.add(dk);
        } else {
          let dup = false;
          for (let i = 0; i < m && !dup; i++) dup = deps[i] === d;
          if (dup) continue;
        }
        deps[m++] = d;
      }
      if (m < n) deps = deps.slice(0, m);
      ts.deps = deps;
      let fresh = 0;
      for (let k = 0; k < deps.length; k++) {
        if (deps[k].p1 === gen) {
          addDependent(deps[k], ts);
          fresh++;
        }
      }
      ts.nWaitingOn = fresh; // scratch: in-degree for the cycle check below
      if (fresh > 0) hasFreshEdges = true;
    }
    for (let i = 0; i < wanted.length; i++) {
      const ts = tasks.get(wanted[i]);
      if (ts === undefined) return `skein graph: wanted key ${q(wanted[i])} is not in the graph`;
      wantedTs[i] = ts;
    }
    if (!hasFreshEdges) return null;

    // Kahn's algorithm over the new tasks.
    const ready: TaskState[] = [];
    for (let i = 0; i < created.length; i++) if (created[i].nWaitingOn === 0) ready.push(created[i]);
    let done = 0;
    while (ready.length > 0) {
      const t = ready.pop() as TaskState;
      done++;
      const ds = t.dependents;
      if (ds !== null) for (const d of ds) if (--d.nWaitingOn === 0) ready.push(d);
    }
    if (done === created.length) return null;

    // Walk dependencies through unfinished tasks until one repeats: that is a cycle.
    let cur = created.find((t) => t.nWaitingOn > 0) as TaskState;
    const path: TaskState[] = [];
    const at = new Map<TaskState, number>();
    while (!at.has(cur)) {
      at.set(cur, path.length);
      path.push(cur);
      cur = cur.deps.find((d) => d.p1 === gen && d.nWaitingOn > 0) as TaskState;
    }
    const cycle = path.slice(at.get(cur)).map((t) => q(t.key));
    cycle.push(q(cur.key));
    for (let i = 0; i < created.length; i++) created[i].nWaitingOn = 0;
    return `skein graph: dependency cycle ${cycle.join(" -> ")}`;
  }

  // ---- results from workers ----

  private onTaskFinished(
    address: string,
    key: Key,
    nbytes: number,
    hasValue: boolean,
    value: unknown,
    startstops: readonly StartStop[],
  ): void {
    const ws = this.workerMap.get(address);
    if (ws === undefined) return; // from a removed worker: its work was already rescheduled
    const ts = this.tasks.get(key);
    if (ts === undefined) {
      this.emitFree(ws, key);
      return;
    }
    if (ts.state === PROCESSING && ts.processingOn === ws) {
      this.recordDuration(ts, startstops);
      this.finWorkers = [ws]; // becomes ts.whoHas
      this.finNbytes = nbytes > 0 ? nbytes : 0;
      this.finHasValue = hasValue;
      this.finValue = value;
      this.transition(ts, MEMORY);
      this.finWorkers = null;
      this.finValue = undefined;
    } else if (ts.state === MEMORY) {
      this.addReplica(ts, ws); // a second copy is useful
    } else {
      // Stale: released, re-queued or running elsewhere now (dask frees it on that worker).
      this.emitFree(ws, key);
    }
  }

  private onTaskErred(address: string, key: Key, error: RemoteErrorInfo): void {
    const ws = this.workerMap.get(address);
    const ts = this.tasks.get(key);
    if (ws === undefined || ts === undefined || ts.state !== PROCESSING || ts.processingOn !== ws) return;
    if (ts.retries > 0) {
      ts.retries--;
      this.transition(ts, RELEASED); // still needed, so the release handler sends it back to waiting
    } else {
      this.rareOf(ts).error = error;
      this.transition(ts, ERRED);
    }
  }

  private onAddKeys(address: string, keys: readonly Key[]): void {
    const ws = this.workerMap.get(address);
    if (ws === undefined) return;
    for (let i = 0; i < keys.length; i++) {
      const ts = this.tasks.get(keys[i]);
      if (ts !== undefined && ts.state === MEMORY) this.addReplica(ts, ws);
      else if (ts === undefined || ts.processingOn !== ws) this.emitFree(ws, keys[i]); // nothing needs that copy
      // (processing on this very worker: leave it alone, its task-finished is on the way)
    }
  }

  private onScatter(id: string, data: Readonly<Record<Key, number>>, addresses: readonly string[]): void {
    const cs = this.client(id);
    const holders: WorkerState[] = [];
    for (let i = 0; i < addresses.length; i++) {
      const ws = this.workerMap.get(addresses[i]);
      if (ws !== undefined && !holders.includes(ws)) holders.push(ws);
    }
    const keys = Object.keys(data);
    if (holders.length === 0) {
      this.out.push({
        type: "keys-cancelled",
        client: id,
        keys,
        reason: `skein scheduler: scatter target workers are gone: ${addresses.join(", ")}`,
      });
      return;
    }
    const gen = ++this.generation;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      let ts = this.tasks.get(key);
      if (ts !== undefined && ts.state === MEMORY) {
        for (let j = 0; j < holders.length; j++) this.addReplica(ts, holders[j]);
      } else {
        if (ts === undefined) {
          ts = new TaskState(key, null, "scatter", 0, gen, i, 0, null);
          this.tasks.set(key, ts);
          this.stateCounts[RELEASED]++;
        } else if (ts.state !== RELEASED) {
          this.transition(ts, RELEASED);
        }
        this.finWorkers = holders.slice(); // becomes ts.whoHas
        this.finNbytes = data[key] > 0 ? data[key] : 0;
        this.transition(ts, MEMORY);
        this.finWorkers = null;
      }
      wantsAdd(ts, cs);
    }
  }

  private onMissingData(address: string, key: Key, errantAddress: string): void {
    const ts = this.tasks.get(key);
    if (ts === undefined || ts.state !== MEMORY) return;
    const errant = this.workerMap.get(errantAddress);
    if (errant !== undefined && ts.whoHas !== null && ts.whoHas.includes(errant)) {
      this.removeReplica(ts, errant);
      if (ts.whoHas === null) {
        this.transition(ts, RELEASED); // recompute from lineage if still needed
        return;
      }
    }
    // Other copies exist: point the asking worker at them.
    const asker = this.workerMap.get(address);
    if (asker !== undefined) {
      asker.openFree = null;
      this.out.push({ type: "acquire-replicas", worker: asker.address, deps: [this.location(ts)] });
    }
  }

  private onGather(id: string, gatherId: number, keys: readonly Key[]): void {
    const byWorker = new Map<WorkerState, Key[]>();
    const missing: Key[] = [];
    for (let i = 0; i < keys.length; i++) {
      const ts = this.tasks.get(keys[i]);
      const holders = ts !== undefined && ts.state === MEMORY ? ts.whoHas : null;
      if (holders === null) {
        missing.push(keys[i]);
        continue;
      }
      let pick = holders[0]; // any holder; one already asked in this gather saves a round trip
      for (let j = 0; j < holders.length; j++) {
        if (byWorker.has(holders[j])) {
          pick = holders[j];
          break;
        }
      }
      const list = byWorker.get(pick);
      if (list === undefined) byWorker.set(pick, [keys[i]]);
      else list.push(keys[i]);
    }
    for (const [ws, list] of byWorker) {
      ws.openFree = null; // a free-keys for these keys must not jump ahead of the fetch
      this.out.push({ type: "get-data", worker: ws.address, client: id, id: gatherId, keys: list });
    }
    if (missing.length > 0) this.out.push({ type: "gather-missing", client: id, id: gatherId, keys: missing });
  }

  // ======================= the transition engine =======================

  private recommend(ts: TaskState, target: number): void {
    if (ts.rec === NO_REC) {
      ts.rec = target;
      this.stack.push(ts);
    } else if (target !== UNNEEDED) {
      ts.rec = target; // a definite request overrides "release if unneeded"
    }
  }

  private drain(): void {
    const stack = this.stack;
    for (;;) {
      while (stack.length > 0) {
        const ts = stack.pop() as TaskState;
        const target = ts.rec;
        ts.rec = NO_REC;
        if (ts.state !== FORGOTTEN) this.apply(ts, target);
      }
      if (this.slotsMaybeOpened) {
        this.slotsMaybeOpened = false;
        this.fillRootSlots();
      }
      if (this.resourcesChanged) {
        this.resourcesChanged = false;
        this.fillConstrained();
      }
      if (stack.length === 0 && !this.slotsMaybeOpened && !this.resourcesChanged) return;
    }
  }

  /**
   * A recommendation popped: act on it only if it still makes sense for the current state.
   * Starting work (waiting, processing) also requires that something still needs the task:
   * a "release if unneeded" that arrived while another request was pending is folded in here.
   */
  private apply(ts: TaskState, target: number): void {
    const s = ts.state;
    switch (target) {
      case WAITING:
        if (s !== RELEASED) return;
        if (ts.whoWants === null && ts.nWaiters === 0) {
          if (ts.dependents === null) this.transition(ts, FORGOTTEN);
          return;
        }
        break;
      case PROCESSING:
        if (s !== WAITING && s !== QUEUED && s !== NO_WORKER) return;
        if (ts.whoWants === null && ts.nWaiters === 0) target = RELEASED;
        break;
      case UNNEEDED:
        if (ts.whoWants !== null || ts.nWaiters > 0) return;
        if (s === RELEASED || s === ERRED) {
          if (ts.dependents === null) this.transition(ts, FORGOTTEN);
          return;
        }
        target = RELEASED;
        break;
      case ERRED:
        if (s === MEMORY || s === ERRED) return;
        break;
      case RELEASED:
        // Requested for tasks that must stop or restart; lost results are released directly.
        if (!isActive(s)) return;
        break;
      default:
        break;
    }
    this.transition(ts, target);
  }

  private transition(ts: TaskState, finish: number): void {
    const start = ts.state;
    const handler = TABLE[start * NSTATES + finish];
    if (handler === undefined) {
      throw new Error(
        `skein scheduler: illegal transition ${TASK_STATE_NAMES[start]}>${TASK_STATE_NAMES[finish] ?? finish} ` +
          `for key ${q(ts.key)} (stimulus ${this.stimulusId}); story:\n${formatStory(this.log.story(ts.key))}`,
      );
    }
    handler.call(this, ts);
    if (ts.state !== start) this.logged(ts, start);
  }

  private logged(ts: TaskState, start: number): void {
    this.transitionsTotal++;
    this.log.record(ts.key, start, ts.state, this.stimulusId, this.time);
  }

  private setState(ts: TaskState, s: number): void {
    this.stateCounts[ts.state]--;
    this.stateCounts[s]++;
    ts.state = s;
  }

  // ---- transition handlers (one per legal move; see the table at the end of the class) ----

  private releasedToWaiting(ts: TaskState): void {
    if (ts.run === null) {
      // Scattered data has no lineage: once every copy is gone it cannot come back.
      this.rareOf(ts).error = {
        name: "LostData",
        message: `skein: scattered key ${q(ts.key)} was lost with the workers holding it and has no lineage to recompute it`,
        stack: "",
        key: ts.key,
        fn: ts.name,
        worker: "",
      };
      this.becomeErred(ts);
      return;
    }
    const deps = ts.deps;
    for (let i = 0; i < deps.length; i++) {
      if (deps[i].state === ERRED) {
        this.rareOf(ts).error = this.childError(deps[i]);
        this.becomeErred(ts);
        return;
      }
    }
    this.setState(ts, WAITING);
    let n = 0;
    for (let i = deps.length - 1; i >= 0; i--) {
      const d = deps[i];
      d.nWaiters++;
      if (d.state !== MEMORY) {
        n++;
        if (d.state === RELEASED) this.recommend(d, WAITING); // pull lineage back in
      }
    }
    ts.nWaitingOn = n;
    if (n === 0) this.recommend(ts, PROCESSING);
  }

  private waitingToProcessing(ts: TaskState): void {
    if (ts.nWaitingOn === 0) this.place(ts);
  }

  private queuedToProcessing(ts: TaskState): void {
    this.place(ts);
  }

  private noWorkerToProcessing(ts: TaskState): void {
    this.place(ts);
  }

  private processingToMemory(ts: TaskState): void {
    const holders = this.finWorkers;
    if (holders === null) throw new Error(`skein scheduler: processing>memory for ${q(ts.key)} without a worker`);
    this.exitProcessing(ts, false);
    this.leaveActive(ts);
    this.addToMemory(ts, holders);
    this.notifyMemory(ts, this.finHasValue, this.finValue);
    if (ts.whoWants === null && ts.nWaiters === 0) this.recommend(ts, UNNEEDED);
  }

  private releasedToMemory(ts: TaskState): void {
    const holders = this.finWorkers;
    if (holders === null) throw new Error(`skein scheduler: released>memory for ${q(ts.key)} without a worker`);
    this.addToMemory(ts, holders);
    this.notifyMemory(ts, false, undefined);
  }

  private waitingToReleased(ts: TaskState): void {
    this.leaveActive(ts);
    this.setState(ts, RELEASED);
    this.afterRelease(ts);
  }

  private queuedToReleased(ts: TaskState): void {
    this.unqueue(ts);
    this.waitingToReleased(ts);
  }

  private noWorkerToReleased(ts: TaskState): void {
    this.noWorker.delete(ts);
    this.waitingToReleased(ts);
  }

  private processingToReleased(ts: TaskState): void {
    this.exitProcessing(ts, true);
    this.waitingToReleased(ts);
  }

  private memoryToReleased(ts: TaskState): void {
    const holders = ts.whoHas;
    if (holders !== null) {
      for (let i = 0; i < holders.length; i++) {
        const h = holders[i];
        h.hasWhat.delete(ts);
        h.nbytes -= ts.nbytes;
        if (!h.removed) this.emitFree(h, ts.key);
      }
      ts.whoHas = null;
    }
    this.setState(ts, RELEASED);
    this.afterRelease(ts);
    // Pushed after, so dependents that must restart are stopped before this is recomputed.
    const ds = ts.dependents;
    if (ds !== null) {
      for (const d of ds) {
        const s = d.state;
        if (s === WAITING) d.nWaitingOn++;
        else if (s === PROCESSING || s === QUEUED || s === NO_WORKER) this.recommend(d, RELEASED);
      }
    }
  }

  private erredToReleased(ts: TaskState): void {
    const rare = ts.rare as RareState;
    rare.error = null;
    this.setState(ts, RELEASED);
    this.afterRelease(ts);
  }

  private waitingToErred(ts: TaskState): void {
    this.leaveActive(ts);
    this.becomeErred(ts);
  }

  private queuedToErred(ts: TaskState): void {
    this.unqueue(ts);
    this.waitingToErred(ts);
  }

  private noWorkerToErred(ts: TaskState): void {
    this.noWorker.delete(ts);
    this.waitingToErred(ts);
  }

  private processingToErred(ts: TaskState): void {
    this.exitProcessing(ts, true);
    this.waitingToErred(ts);
  }

  private releasedToErred(ts: TaskState): void {
    this.becomeErred(ts);
  }

  private toForgotten(ts: TaskState): void {
    this.setState(ts, FORGOTTEN);
    if (this.tasks.get(ts.key) === ts) this.tasks.delete(ts.key);
    const deps = ts.deps;
    for (let i = 0; i < deps.length; i++) {
      const d = deps[i];
      removeDependent(d, ts);
      if (d.dependents === null && d.whoWants === null) this.recommend(d, UNNEEDED);
    }
    ts.deps = EMPTY_TASKS;
    ts.run = null;
    ts.rare = null;
  }

  // ---- handler helpers ----

  /** Released: run it again if something still needs it, else see whether it can go. */
  private afterRelease(ts: TaskState): void {
    this.recommend(ts, ts.whoWants !== null || ts.nWaiters > 0 ? WAITING : UNNEEDED);
  }

  /** The task left an active state: its dependencies have one waiter fewer. */
  private leaveActive(ts: TaskState): void {
    const deps = ts.deps;
    for (let i = deps.length - 1; i >= 0; i--) {
      const d = deps[i];
      if (--d.nWaiters === 0 && d.whoWants === null) this.recommend(d, UNNEEDED);
    }
  }

  /** Common tail of every move into erred; the error is already in ts.rare.error. */
  private becomeErred(ts: TaskState): void {
    this.setState(ts, ERRED);
    const err = (ts.rare as RareState).error as RemoteErrorInfo;
    const ds = ts.dependents;
    if (ds !== null) {
      let child: RemoteErrorInfo | null = null;
      for (const d of ds) {
        if (!isActive(d.state)) continue; // released lineage learns it lazily, memory keeps its value
        child ??= this.childError(ts);
        this.rareOf(d).error = child;
        this.recommend(d, ERRED);
      }
    }
    const w = ts.whoWants;
    if (w !== null) {
      if (w instanceof Set) for (const cs of w) this.out.push({ type: "key-erred", client: cs.id, key: ts.key, error: err });
      else this.out.push({ type: "key-erred", client: w.id, key: ts.key, error: err });
    }
    if (ts.whoWants === null && ts.nWaiters === 0) this.recommend(ts, UNNEEDED);
  }

  /** The error a dependent of erred task `ts` inherits: same info, causeKey = the failing key. */
  private childError(ts: TaskState): RemoteErrorInfo {
    const err = (ts.rare as RareState).error as RemoteErrorInfo;
    return err.causeKey !== undefined ? err : { ...err, causeKey: ts.key };
  }

  /** `holders` becomes the task's own list. */
  private addToMemory(ts: TaskState, holders: WorkerState[]): void {
    this.setState(ts, MEMORY);
    const nbytes = this.finNbytes;
    ts.nbytes = nbytes;
    ts.whoHas = holders;
    for (let i = 0; i < holders.length; i++) {
      holders[i].hasWhat.add(ts);
      holders[i].nbytes += nbytes;
    }
    const ds = ts.dependents;
    if (ds === null) return;
    if (Array.isArray(ds)) {
      // Backwards, so the first (usually highest-priority) dependent pops first.
      for (let i = ds.length - 1; i >= 0; i--) {
        const d = ds[i];
        if (d.state === WAITING && --d.nWaitingOn === 0) this.recommend(d, PROCESSING);
      }
    } else {
      for (const d of ds) if (d.state === WAITING && --d.nWaitingOn === 0) this.recommend(d, PROCESSING);
    }
  }

  private notifyMemory(ts: TaskState, hasValue: boolean, value: unknown): void {
    const w = ts.whoWants;
    if (w === null) return;
    if (w instanceof Set) for (const cs of w) this.out.push(this.inMemory(cs, ts, hasValue, value));
    else this.out.push(this.inMemory(w, ts, hasValue, value));
  }

  private inMemory(cs: ClientState, ts: TaskState, hasValue: boolean, value: unknown): SchedulerInstruction {
    return hasValue
      ? { type: "key-in-memory", client: cs.id, key: ts.key, hasValue: true, value }
      : { type: "key-in-memory", client: cs.id, key: ts.key, hasValue: false };
  }

  private addReplica(ts: TaskState, ws: WorkerState): void {
    const holders = ts.whoHas as WorkerState[];
    if (holders.includes(ws)) return;
    holders.push(ws);
    ws.hasWhat.add(ts);
    ws.nbytes += ts.nbytes;
  }

  private removeReplica(ts: TaskState, ws: WorkerState): void {
    const holders = ts.whoHas;
    if (holders === null) return;
    const i = holders.indexOf(ws);
    if (i < 0) return;
    const last = holders.pop() as WorkerState;
    if (i < holders.length) holders[i] = last;
    if (holders.length === 0) ts.whoHas = null;
    ws.hasWhat.delete(ts);
    ws.nbytes -= ts.nbytes;
  }

  private rareOf(ts: TaskState): RareState {
    return ts.rare ?? (ts.rare = new RareState());
  }

  // ---- placement ----

  private place(ts: TaskState): void {
    const s = ts.state;
    if (ts.deps.length === 0 && ts.rare === null) {
      // Root task. While others queue, join the queue so priority order holds.
      if (s !== QUEUED && this.rootQueue.size > 0) {
        this.enqueueRoot(ts);
        return;
      }
      const ws = rootSlot(this.running, this.saturation);
      if (ws === null) {
        if (s !== QUEUED) this.enqueueRoot(ts);
        return;
      }
      if (s === QUEUED) this.rootQueue.remove(ts);
      this.startProcessing(ts, ws);
      return;
    }
    const r = decideWorker(ts, this.running, this.avgDurationMs < 0 ? UNKNOWN_DURATION_MS : this.avgDurationMs);
    if (typeof r === "object") {
      this.leavePending(ts);
      this.startProcessing(ts, r);
    } else if (r === ALL_BUSY) {
      if (s !== QUEUED) {
        this.leavePending(ts);
        this.enqueueConstrained(ts);
      }
    } else if (s !== NO_WORKER) {
      this.leavePending(ts);
      this.setState(ts, NO_WORKER);
      this.noWorker.add(ts);
    }
  }

  /** Out of the queue / no-worker set before moving elsewhere. */
  private leavePending(ts: TaskState): void {
    if (ts.state === QUEUED) this.unqueue(ts);
    else if (ts.state === NO_WORKER) this.noWorker.delete(ts);
  }

  private enqueueRoot(ts: TaskState): void {
    this.setState(ts, QUEUED);
    this.rootQueue.push(ts);
  }

  private enqueueConstrained(ts: TaskState): void {
    const rare = ts.rare as RareState;
    const names = rare.resNames as string[];
    const amounts = rare.resAmounts as number[];
    let sig = rare.allowOtherWorkers ? "loose|" : "strict|";
    sig += rare.workers === null ? "" : rare.workers.join("\u0000");
    for (let i = 0; i < names.length; i++) sig += `|${names[i]}=${amounts[i]}`;
    let group = this.groups.get(sig);
    if (group === undefined) {
      group = new ConstraintGroup(sig, new TaskHeap());
      this.groups.set(sig, group);
    }
    group.heap.push(ts);
    rare.group = group;
    this.setState(ts, QUEUED);
  }

  private unqueue(ts: TaskState): void {
    const rare = ts.rare;
    if (rare === null || rare.group === null) {
      this.rootQueue.remove(ts);
      return;
    }
    const group = rare.group;
    group.heap.remove(ts);
    rare.group = null;
    if (group.heap.size === 0) this.groups.delete(group.sig);
  }

  /** Hand queued root tasks to workers below their saturation limit, best priority first. */
  private fillRootSlots(): void {
    const queue = this.rootQueue;
    while (queue.size > 0) {
      const ws = rootSlot(this.running, this.saturation);
      if (ws === null) return;
      const ts = queue.peek() as TaskState;
      queue.remove(ts);
      this.startProcessing(ts, ws);
      this.logged(ts, QUEUED);
    }
  }

  /**
   * Retry resource-blocked tasks. Tasks in one group share their constraints, so when the
   * group's best task cannot start, none of the group can.
   */
  private fillConstrained(): void {
    for (const group of this.groups.values()) {
      const heap = group.heap;
      while (heap.size > 0) {
        const ts = heap.peek() as TaskState;
        this.transition(ts, PROCESSING);
        if (ts.state === QUEUED) break;
      }
    }
  }

  private startProcessing(ts: TaskState, ws: WorkerState): void {
    this.setState(ts, PROCESSING);
    ts.processingOn = ws;
    ws.processing.add(ts);
    ws.lastUsed = ++this.assignCounter;
    const rare = ts.rare;
    let resources: Record<string, number> | undefined;
    if (rare !== null && rare.resNames !== null) {
      const names = rare.resNames;
      const amounts = rare.resAmounts as number[];
      for (let i = 0; i < names.length; i++) ws.available[names[i]] -= amounts[i];
      resources = { ...rare.resources };
    }
    ws.openFree = null; // a later free-keys must not be merged into one sent before this task
    const deps = ts.deps;
    const locs: DepLocation[] = new Array<DepLocation>(deps.length);
    for (let i = 0; i < deps.length; i++) locs[i] = this.location(deps[i]);
    const msg: ComputeTask = {
      op: "compute-task",
      key: ts.key,
      run: ts.run as Uint8Array,
      name: ts.name,
      deps: locs,
      priority: [ts.p0, ts.p1, ts.p2],
    };
    if (resources !== undefined) msg.resources = resources;
    this.out.push({ type: "compute-task", worker: ws.address, msg });
  }

  private location(ts: TaskState): DepLocation {
    const holders = ts.whoHas as WorkerState[];
    const workers = new Array<string>(holders.length);
    for (let j = 0; j < holders.length; j++) workers[j] = holders[j].address;
    return { key: ts.key, workers, nbytes: ts.nbytes };
  }

  private exitProcessing(ts: TaskState, sendFree: boolean): void {
    if (this.steals.size > 0) this.clearSteal(ts);
    const ws = ts.processingOn as WorkerState;
    ts.processingOn = null;
    ws.processing.delete(ts);
    const rare = ts.rare;
    if (rare !== null && rare.resNames !== null) {
      const names = rare.resNames;
      const amounts = rare.resAmounts as number[];
      for (let i = 0; i < names.length; i++) ws.available[names[i]] += amounts[i];
      this.resourcesChanged = true;
    }
    if (!ws.removed) {
      this.slotsMaybeOpened = true;
      if (sendFree) this.emitFree(ws, ts.key);
    }
  }

  /** free-keys, merged per worker within one handle/handleMany call until another instruction goes there. */
  private emitFree(ws: WorkerState, key: Key): void {
    if (ws.openFreeSerial === this.serial && ws.openFree !== null) {
      ws.openFree.push(key);
      return;
    }
    const keys = [key];
    ws.openFree = keys;
    ws.openFreeSerial = this.serial;
    this.out.push({ type: "free-keys", worker: ws.address, keys });
  }

  private recordDuration(ts: TaskState, startstops: readonly StartStop[]): void {
    let d = 0;
    let any = false;
    for (let i = 0; i < startstops.length; i++) {
      const ss = startstops[i];
      if (ss.action === "compute") {
        d += ss.stop - ss.start;
        any = true;
      }
    }
    if (!any || !(d >= 0) || d === Infinity) return;
    this.avgDurationMs = this.avgDurationMs < 0 ? d : this.avgDurationMs + EWMA_ALPHA * (d - this.avgDurationMs);
    if (this.autoSaturation && ts.deps.length === 0 && ts.rare === null) {
      const avg = this.rootAvgDurationMs < 0 ? d : this.rootAvgDurationMs + EWMA_ALPHA * (d - this.rootAvgDurationMs);
      this.rootAvgDurationMs = avg;
      const factor = Math.min(MAX_AUTO_SATURATION, 1 + PIPELINE_MS / Math.max(avg, 1e-3));
      if (factor > this.saturation) this.slotsMaybeOpened = true;
      this.saturation = factor;
    }
  }

  // ======================= invariants (tests and debugging) =======================

  /** Throws if any internal invariant is broken. O(tasks); call between events in tests. */
  checkInvariants(): void {
    const fail = (ts: TaskState | null, what: string): never => {
      const story = ts === null ? "" : `\n${formatStory(this.log.story(ts.key))}`;
      throw new Error(`skein scheduler invariant: ${ts === null ? "" : `${q(ts.key)} `}${what}${story}`);
    };
    if (this.stack.length > 0) fail(null, "recommendations left undrained");
    const counts = new Float64Array(NSTATES);
    for (const [key, ts] of this.tasks) {
      const s = ts.state;
      counts[s]++;
      if (ts.key !== key) fail(ts, "stored under another key");
      if (ts.rec !== NO_REC) fail(ts, "has a pending recommendation");
      if (s === FORGOTTEN) fail(ts, "forgotten but still in the task map");
      let activeDependents = 0;
      if (ts.dependents !== null) {
        for (const d of ts.dependents) {
          if (!d.deps.includes(ts)) fail(ts, `dependent ${q(d.key)} does not list it`);
          if (this.tasks.get(d.key) !== d) fail(ts, `dependent ${q(d.key)} is not in the task map`);
          if (isActive(d.state)) activeDependents++;
        }
      }
      if (ts.nWaiters !== activeDependents) fail(ts, `nWaiters ${ts.nWaiters} != active dependents ${activeDependents}`);
      let notInMemory = 0;
      for (const d of ts.deps) {
        if (this.tasks.get(d.key) !== d) fail(ts, `dependency ${q(d.key)} is not in the task map`);
        const ds = d.dependents;
        if (ds === null || (Array.isArray(ds) ? !ds.includes(ts) : !ds.has(ts))) {
          fail(ts, `dependency ${q(d.key)} does not list it as dependent`);
        }
        if (d.state !== MEMORY) notInMemory++;
      }
      const needed = ts.whoWants !== null || ts.nWaiters > 0;
      if (s === WAITING && ts.nWaitingOn !== notInMemory) fail(ts, `nWaitingOn ${ts.nWaitingOn} != ${notInMemory}`);
      if (s === WAITING && notInMemory === 0) fail(ts, "waiting with every dependency in memory");
      if ((s === PROCESSING || s === QUEUED || s === NO_WORKER) && notInMemory > 0) fail(ts, "ready with dependencies missing");
      if (isActive(s) && !needed) fail(ts, "active but nothing needs it");
      if (s === MEMORY && !needed) fail(ts, "in memory but nothing needs it");
      if ((s === RELEASED || s === ERRED) && !needed && ts.dependents === null) fail(ts, "should have been forgotten");
      if (s === RELEASED && needed) fail(ts, "released but needed");
      if (s === ERRED && (ts.rare === null || ts.rare.error === null)) fail(ts, "erred without error");
      if ((s === MEMORY) !== (ts.whoHas !== null)) fail(ts, "holders do not match state");
      if (ts.whoHas !== null) {
        for (const h of ts.whoHas) {
          if (h.removed || !h.hasWhat.has(ts)) fail(ts, `holder ${h.address} does not know it`);
        }
      }
      if ((s === PROCESSING) !== (ts.processingOn !== null)) fail(ts, "processingOn does not match state");
      if (ts.processingOn !== null && (!ts.processingOn.processing.has(ts) || ts.processingOn.removed)) {
        fail(ts, "processingOn worker does not list it");
      }
      if ((s === QUEUED) !== (ts.heapIndex >= 0)) fail(ts, "heap membership does not match state");
      if ((s === NO_WORKER) !== this.noWorker.has(ts)) fail(ts, "no-worker set does not match state");
      const w = ts.whoWants;
      if (w !== null) {
        for (const cs of w instanceof Set ? w : [w]) {
          if (!cs.wants.has(ts) || this.clients.get(cs.id) !== cs) fail(ts, `client ${cs.id} does not list it`);
        }
      }
    }
    for (let s = 0; s < FORGOTTEN; s++) {
      if (counts[s] !== this.stateCounts[s]) fail(null, `count of ${TASK_STATE_NAMES[s]}: ${this.stateCounts[s]} != ${counts[s]}`);
    }
    for (const cs of this.clients.values()) {
      for (const ts of cs.wants) {
        const w = ts.whoWants;
        if (!(w === cs || (w instanceof Set && w.has(cs)))) fail(ts, `not wanted back by ${cs.id}`);
      }
    }
    let freeSlot = false;
    for (const ws of this.workerList) {
      if (this.workerMap.get(ws.address) !== ws) fail(null, `worker ${ws.address} list/map mismatch`);
      let bytes = 0;
      for (const ts of ws.hasWhat) {
        if (ts.state !== MEMORY || !(ts.whoHas as WorkerState[]).includes(ws)) fail(ts, `stale on ${ws.address}`);
        bytes += ts.nbytes;
      }
      if (bytes !== ws.nbytes) fail(null, `worker ${ws.address} nbytes ${ws.nbytes} != ${bytes}`);
      const used: Record<string, number> = {};
      for (const ts of ws.processing) {
        if (ts.state !== PROCESSING || ts.processingOn !== ws) fail(ts, `stale processing on ${ws.address}`);
        const r = ts.rare?.resources;
        if (r) for (const k of Object.keys(r)) used[k] = (used[k] ?? 0) + r[k];
      }
      for (const k of Object.keys(ws.resources)) {
        if (ws.available[k] !== ws.resources[k] - (used[k] ?? 0)) fail(null, `worker ${ws.address} resource ${k} accounting`);
      }
      if (!ws.paused && ws.processing.size < saturationLimit(ws, this.saturation)) freeSlot = true;
      if (ws.paused === this.running.includes(ws)) fail(null, `worker ${ws.address} paused=${ws.paused} disagrees with the running list`);
    }
    if (this.rootQueue.size > 0 && freeSlot) fail(this.rootQueue.peek() as TaskState, "queued while a worker has a free slot");
    for (let i = 0; i < this.rootQueue.size; i++) {
      const ts = this.rootQueue.at(i);
      if (ts.heapIndex !== i || ts.state !== QUEUED) fail(ts, "root queue slot mismatch");
      if (i > 0 && higherPriority(ts, this.rootQueue.at((i - 1) >> 1))) fail(ts, "root queue heap order");
    }
    for (const group of this.groups.values()) {
      if (group.heap.size === 0) fail(null, `empty constraint group ${group.sig}`);
      for (let i = 0; i < group.heap.size; i++) {
        const ts = group.heap.at(i);
        if (ts.heapIndex !== i || ts.state !== QUEUED || ts.rare?.group !== group) fail(ts, "constraint group mismatch");
      }
    }
  }

  static {
    const table: Partial<Record<TransitionName, Handler>> = {
      "released>waiting": SchedulerState.prototype.releasedToWaiting,
      "released>memory": SchedulerState.prototype.releasedToMemory,
      "released>erred": SchedulerState.prototype.releasedToErred,
      "released>forgotten": SchedulerState.prototype.toForgotten,
      "waiting>processing": SchedulerState.prototype.waitingToProcessing,
      "waiting>released": SchedulerState.prototype.waitingToReleased,
      "waiting>erred": SchedulerState.prototype.waitingToErred,
      "queued>processing": SchedulerState.prototype.queuedToProcessing,
      "queued>released": SchedulerState.prototype.queuedToReleased,
      "queued>erred": SchedulerState.prototype.queuedToErred,
      "no-worker>processing": SchedulerState.prototype.noWorkerToProcessing,
      "no-worker>released": SchedulerState.prototype.noWorkerToReleased,
      "no-worker>erred": SchedulerState.prototype.noWorkerToErred,
      "processing>memory": SchedulerState.prototype.processingToMemory,
      "processing>released": SchedulerState.prototype.processingToReleased,
      "processing>erred": SchedulerState.prototype.processingToErred,
      "memory>released": SchedulerState.prototype.memoryToReleased,
      "erred>released": SchedulerState.prototype.erredToReleased,
      "erred>forgotten": SchedulerState.prototype.toForgotten,
    };
    TABLE = new Array<Handler | undefined>(NSTATES * NSTATES).fill(undefined);
    for (const [name, handler] of Object.entries(table) as [TransitionName, Handler][]) {
      const [start, finish] = name.split(">") as [TaskStateName, TaskStateName];
      TABLE[stateIndex(start) * NSTATES + stateIndex(finish)] = handler;
    }
  }
}

/** The legal transitions, for documentation and tests. */
export function legalTransitions(): TransitionName[] {
  const out: TransitionName[] = [];
  for (let i = 0; i < TABLE.length; i++) {
    if (TABLE[i] !== undefined) {
      out.push(`${TASK_STATE_NAMES[Math.floor(i / NSTATES)]}>${TASK_STATE_NAMES[i % NSTATES]}` as TransitionName);
    }
  }
  return out;
}
