/**
 * The scheduler's per-task, per-worker and per-client records.
 *
 * A graph can hold a million tasks, so TaskState is one flat class with a fixed shape: numbers
 * instead of strings for states, counters instead of sets for "waiting on" / "waited on by",
 * null instead of empty containers, and the rarely used fields (restrictions, resources,
 * errors, the workers that died under it) in a separate object most tasks never allocate.
 */
import type { Key, RemoteErrorInfo } from "../graph/spec.js";

// Task states (indices into TASK_STATE_NAMES).
export const RELEASED = 0;
export const WAITING = 1;
export const NO_WORKER = 2;
export const QUEUED = 3;
export const PROCESSING = 4;
export const MEMORY = 5;
export const ERRED = 6;
export const FORGOTTEN = 7;
export const NSTATES = 8;
/** Recommendation only: "release this, or forget it, if nothing needs it any more". */
export const UNNEEDED = 8;
export const NO_REC = -1;

/** waiting, no-worker, queued, processing: the task will need its dependencies' data. */
export function isActive(state: number): boolean {
  return state >= WAITING && state <= PROCESSING;
}

export const EMPTY_TASKS: TaskState[] = [];
Object.freeze(EMPTY_TASKS);

export class ClientState {
  readonly wants = new Set<TaskState>();
  constructor(readonly id: string) {}
}

/** Tasks waiting for the same resources/restrictions; one heap per distinct signature. */
export class ConstraintGroup {
  constructor(
    readonly sig: string,
    readonly heap: TaskHeap,
  ) {}
}

export class RareState {
  workers: readonly string[] | null = null;
  allowOtherWorkers = false;
  /** Resource names and amounts, as parallel arrays (checked per placement, no Object.keys). */
  resNames: string[] | null = null;
  resAmounts: number[] | null = null;
  resources: Readonly<Record<string, number>> | null = null;
  group: ConstraintGroup | null = null;
  /** Addresses of workers that died while this task was processing on them. */
  killedOn: string[] | null = null;
  error: RemoteErrorInfo | null = null;
}

export class TaskState {
  state = RELEASED;
  /** Pending recommendation (a state or UNNEEDED), NO_REC when none. */
  rec = NO_REC;
  deps: TaskState[] = EMPTY_TASKS;
  /** Small array, promoted to a Set past PROMOTE_AT entries (hubs with many dependents). */
  dependents: TaskState[] | Set<TaskState> | null = null;
  /** One client (the common case) or several. */
  whoWants: ClientState | Set<ClientState> | null = null;
  whoHas: WorkerState[] | null = null;
  processingOn: WorkerState | null = null;
  nbytes = 0;
  /** In waiting: dependencies not in memory. */
  nWaitingOn = 0;
  /** Dependents in an active state (they still need this task's data). */
  nWaiters = 0;
  heapIndex = -1;

  constructor(
    readonly key: Key,
    /** Packed RunSpec; null for scattered data, which has no lineage. */
    public run: Uint8Array | null,
    readonly name: string,
    /** Priority tuple [-user priority, generation, order]; lower runs first. */
    readonly p0: number,
    readonly p1: number,
    readonly p2: number,
    public retries: number,
    public rare: RareState | null,
  ) {}
}

export class WorkerState {
  readonly processing = new Set<TaskState>();
  readonly hasWhat = new Set<TaskState>();
  readonly available: Record<string, number>;
  nbytes = 0;
  removed = false;
  /** Paused for memory pressure: out of the placement list until it runs again. */
  paused = false;
  /** Assignment serial of the last task placed here: recency breaks ties (least recent for tasks with inputs, most recent for root tasks). */
  lastUsed = 0;
  /** Placement scratch: bytes of the task being placed that this worker holds. */
  scratchBytes = 0;
  /** Placement scratch: how many of its dependencies this worker holds. */
  scratchDeps = 0;
  /** The free-keys instruction still open for appending in the current batch. */
  openFree: Key[] | null = null;
  openFreeSerial = -1;

  constructor(
    readonly address: string,
    readonly name: string,
    readonly nthreads: number,
    readonly memoryLimit: number,
    readonly resources: Readonly<Record<string, number>>,
  ) {
    this.available = { ...resources };
  }
}

// ---- dependents: array, then Set ----

const PROMOTE_AT = 16;

export function addDependent(dep: TaskState, ts: TaskState): void {
  const ds = dep.dependents;
  if (ds === null) dep.dependents = [ts];
  else if (Array.isArray(ds)) {
    const n = ds.length;
    if (n < PROMOTE_AT) {
      // Exact-size copy: push would grow the backing store to 17+ slots (~150 bytes) at once.
      const next = new Array<TaskState>(n + 1);
      for (let i = 0; i < n; i++) next[i] = ds[i];
      next[n] = ts;
      dep.dependents = next;
    } else {
      const set = new Set(ds);
      set.add(ts);
      dep.dependents = set;
    }
  } else ds.add(ts);
}

export function removeDependent(dep: TaskState, ts: TaskState): void {
  const ds = dep.dependents;
  if (ds === null) return;
  if (Array.isArray(ds)) {
    const i = ds.indexOf(ts);
    if (i < 0) return;
    const last = ds.pop() as TaskState;
    if (i < ds.length) ds[i] = last;
    if (ds.length === 0) dep.dependents = null;
  } else {
    ds.delete(ts);
    if (ds.size === 0) dep.dependents = null;
  }
}

// ---- who wants: one client or a Set ----

/** Adds `cs`; false when it was already there. */
export function wantsAdd(ts: TaskState, cs: ClientState): boolean {
  const w = ts.whoWants;
  if (w === null) ts.whoWants = cs;
  else if (w === cs) return false;
  else if (w instanceof Set) {
    if (w.has(cs)) return false;
    w.add(cs);
  } else ts.whoWants = new Set([w, cs]);
  cs.wants.add(ts);
  return true;
}

/** Removes `cs`; false when it was not there. */
export function wantsDelete(ts: TaskState, cs: ClientState): boolean {
  const w = ts.whoWants;
  if (w === null) return false;
  if (w === cs) ts.whoWants = null;
  else if (w instanceof Set) {
    if (!w.delete(cs)) return false;
    if (w.size === 1) ts.whoWants = w.values().next().value as ClientState;
  } else return false;
  cs.wants.delete(ts);
  return true;
}

/** Whether a client other than `cs` wants the task. */
export function wantedByOther(ts: TaskState, cs: ClientState): boolean {
  const w = ts.whoWants;
  if (w === null) return false;
  if (w instanceof Set) return w.size > (w.has(cs) ? 1 : 0);
  return w !== cs;
}

// ---- priority heap ----

export function higherPriority(a: TaskState, b: TaskState): boolean {
  if (a.p0 !== b.p0) return a.p0 < b.p0;
  if (a.p1 !== b.p1) return a.p1 < b.p1;
  return a.p2 < b.p2;
}

/** Binary min-heap of tasks by priority; each task knows its slot (heapIndex) for O(log n) removal. */
export class TaskHeap {
  private readonly items: TaskState[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): TaskState | undefined {
    return this.items[0];
  }

  /** Read-only access for scans (validation, diagnostics). */
  at(i: number): TaskState {
    return this.items[i];
  }

  push(ts: TaskState): void {
    const items = this.items;
    ts.heapIndex = items.length;
    items.push(ts);
    this.up(items.length - 1);
  }

  remove(ts: TaskState): void {
    const i = ts.heapIndex;
    const items = this.items;
    if (i < 0 || items[i] !== ts) return;
    ts.heapIndex = -1;
    const last = items.pop() as TaskState;
    if (i === items.length) return;
    items[i] = last;
    last.heapIndex = i;
    if (i > 0 && higherPriority(last, items[(i - 1) >> 1])) this.up(i);
    else this.down(i);
  }

  private up(i: number): void {
    const items = this.items;
    const ts = items[i];
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent];
      if (!higherPriority(ts, p)) break;
      items[i] = p;
      p.heapIndex = i;
      i = parent;
    }
    items[i] = ts;
    ts.heapIndex = i;
  }

  private down(i: number): void {
    const items = this.items;
    const n = items.length;
    const ts = items[i];
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && higherPriority(items[r], items[l]) ? r : l;
      const child = items[c];
      if (!higherPriority(child, ts)) break;
      items[i] = child;
      child.heapIndex = i;
      i = c;
    }
    items[i] = ts;
    ts.heapIndex = i;
  }
}
