/**
 * Small builders for scheduler state-machine tests: events as one-liners, instructions
 * summarised as short strings so a test can assert the whole list at once.
 */
import type { Key, RemoteErrorInfo, TaskSubmission } from "../src/graph/spec.js";
import type { StartStop } from "../src/protocol.js";
import {
  SchedulerState,
  type SchedulerEvent,
  type SchedulerInstruction,
  type SchedulerOptions,
} from "../src/scheduler/state.js";

const enc = new TextEncoder();

export interface TaskOpts {
  priority?: number;
  retries?: number;
  workers?: string[];
  allowOtherWorkers?: boolean;
  resources?: Record<string, number>;
  order?: number;
}

/** A task whose run blob is its key's bytes (so compute-task instructions are recognisable). */
export function task(key: Key, deps: Key[] = [], opts: TaskOpts = {}): TaskSubmission {
  return { key, run: enc.encode(`run:${key}`), deps, name: key.replace(/-\d+$/, ""), ...opts };
}

export const addWorker = (
  worker: string,
  opts: { name?: string; nthreads?: number; resources?: Record<string, number> } = {},
): SchedulerEvent => ({
  type: "add-worker",
  worker,
  name: opts.name ?? worker,
  nthreads: opts.nthreads ?? 1,
  memoryLimit: 1e9,
  resources: opts.resources ?? {},
});

export const removeWorker = (worker: string, reason = "connection lost"): SchedulerEvent => ({
  type: "remove-worker",
  worker,
  reason,
});

export const addClient = (client: string): SchedulerEvent => ({ type: "add-client", client });

export const graph = (client: string, tasks: TaskSubmission[], wanted: Key[]): SchedulerEvent => ({
  type: "update-graph",
  client,
  tasks,
  wanted,
});

export const finished = (
  worker: string,
  key: Key,
  opts: { nbytes?: number; value?: unknown; ms?: number } = {},
): SchedulerEvent => {
  const startstops: StartStop[] = opts.ms === undefined ? [] : [{ action: "compute", start: 1000, stop: 1000 + opts.ms }];
  return opts.value === undefined
    ? { type: "task-finished", worker, key, nbytes: opts.nbytes ?? 8, typeName: "number", hasValue: false, startstops }
    : { type: "task-finished", worker, key, nbytes: opts.nbytes ?? 8, typeName: "number", hasValue: true, value: opts.value, startstops };
};

export function remoteError(key: Key, worker: string, message = "boom"): RemoteErrorInfo {
  return { name: "Error", message, stack: `Error: ${message}\n    at fn`, key, fn: key.replace(/-\d+$/, ""), worker };
}

export const erred = (worker: string, key: Key, message = "boom"): SchedulerEvent => ({
  type: "task-erred",
  worker,
  key,
  error: remoteError(key, worker, message),
  startstops: [],
});

export const releases = (client: string, keys: Key[]): SchedulerEvent => ({ type: "client-releases-keys", client, keys });
export const desires = (client: string, keys: Key[]): SchedulerEvent => ({ type: "client-desires-keys", client, keys });
export const cancel = (client: string, keys: Key[]): SchedulerEvent => ({ type: "cancel-keys", client, keys });

/** One line per instruction, e.g. "compute w1 x", "free w1 a,b", "memory c1 x", "erred c1 y<-x". */
export function brief(out: readonly SchedulerInstruction[]): string[] {
  return out.map((i) => {
    switch (i.type) {
      case "compute-task":
        return `compute ${i.worker} ${i.msg.key}`;
      case "free-keys":
        return `free ${i.worker} ${i.keys.join(",")}`;
      case "key-in-memory":
        return i.hasValue ? `memory ${i.client} ${i.key}=${JSON.stringify(i.value)}` : `memory ${i.client} ${i.key}`;
      case "key-erred":
        return `erred ${i.client} ${i.key}${i.error.causeKey === undefined ? "" : `<-${i.error.causeKey}`}`;
      case "keys-cancelled":
        return `cancelled ${i.client} ${i.keys.join(",")}`;
      case "graph-rejected":
        return `rejected ${i.client} ${i.keys.join(",")}`;
      case "get-data":
        return `get-data ${i.worker} ${i.client}#${i.id} ${i.keys.join(",")}`;
      case "gather-missing":
        return `missing ${i.client}#${i.id} ${i.keys.join(",")}`;
      case "acquire-replicas":
        return `acquire ${i.worker} ${i.deps.map((d) => `${d.key}@${d.workers.join("+")}`).join(",")}`;
      case "steal-request":
        return `steal ${i.worker} ${i.key}`;
    }
  });
}

/** A scheduler with a ticking clock that checks its invariants after every stimulus. */
export class Harness {
  readonly s: SchedulerState;
  private t = 0;
  /** Every stimulus fed in, as recorded by a real edge would. */
  readonly recorded: SchedulerEvent[] = [];

  constructor(opts: SchedulerOptions = {}) {
    this.s = new SchedulerState({ now: () => ++this.t, ...opts });
  }

  /** Feed events (several: one handleMany batch); returns the instructions. */
  do(...events: SchedulerEvent[]): SchedulerInstruction[] {
    this.recorded.push(...events);
    const out = events.length === 1 ? this.s.handle(events[0]) : this.s.handleMany(events);
    this.s.checkInvariants();
    return out;
  }

  /** Same, summarised with `brief`. */
  run(...events: SchedulerEvent[]): string[] {
    return brief(this.do(...events));
  }

  state(key: Key): string | undefined {
    return this.s.taskState(key);
  }

  processingOn(key: Key): string | undefined {
    return this.s.processingOn(key);
  }
}

export const balance: SchedulerEvent = { type: "balance" };
export const stealResponse = (worker: string, key: Key, state: string | null): SchedulerEvent => ({ type: "steal-response", worker, key, state });
