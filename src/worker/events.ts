/**
 * The worker state machine's vocabulary: task states, the events it accepts and the
 * instructions it returns. Plain data (JSON except the packed run bytes of compute-task), so a
 * recorded stimulus log can be replayed against a fresh machine.
 */
import type { Key, RemoteErrorInfo } from "../graph/spec.js";
import type { DepLocation, StartStop } from "../protocol.js";

export type TaskStateName =
  | "released"
  | "waiting"
  | "ready"
  | "constrained"
  | "executing"
  | "memory"
  | "error"
  | "fetch"
  | "flight"
  | "missing"
  | "cancelled"
  | "resumed";

/** Size and type name of a value the edge has stored. */
export interface DataInfo {
  readonly nbytes: number;
  readonly typeName: string;
}

/** An error as the executor reports it; the machine adds key, function name and worker. */
export interface ThrownError {
  readonly name: string;
  readonly message: string;
  readonly stack: string;
}

interface Stimulus {
  /** Names the cause in the story, e.g. "compute-task-17" or "gather-dep-success-3". */
  readonly stimulusId: string;
}

export interface ComputeTaskEvent extends Stimulus {
  readonly type: "compute-task";
  readonly key: Key;
  readonly run: Uint8Array;
  readonly name: string;
  readonly deps: readonly DepLocation[];
  readonly priority: readonly number[];
  readonly resources?: Readonly<Record<string, number>>;
}
/** The scheduler no longer wants these keys here. */
export interface FreeKeysEvent extends Stimulus {
  readonly type: "free-keys";
  readonly keys: readonly Key[];
}
/** Copy these keys here (replication) from the listed holders. */
export interface AcquireReplicasEvent extends Stimulus {
  readonly type: "acquire-replicas";
  readonly deps: readonly DepLocation[];
}
/** Scattered values the edge has just stored. */
export interface UpdateDataEvent extends Stimulus {
  readonly type: "update-data";
  readonly data: Readonly<Record<Key, DataInfo>>;
}
export interface ExecuteSuccessEvent extends Stimulus {
  readonly type: "execute-success";
  readonly key: Key;
  readonly nbytes: number;
  readonly typeName: string;
  readonly start: number;
  readonly stop: number;
}
export interface ExecuteFailureEvent extends Stimulus {
  readonly type: "execute-failure";
  readonly key: Key;
  readonly error: ThrownError;
  readonly start: number;
  readonly stop: number;
}
/**
 * A `gather-dep` answered. `keys` are the keys of that request; `data` has an entry for each
 * one the peer sent (and the edge stored); requested keys absent from `data` were missing there.
 */
export interface GatherDepSuccessEvent extends Stimulus {
  readonly type: "gather-dep-success";
  readonly worker: string;
  readonly keys: readonly Key[];
  readonly data: Readonly<Record<Key, DataInfo>>;
  readonly start: number;
  readonly stop: number;
}
/** A `gather-dep` failed on the network: the peer is unreachable (or died). */
export interface GatherDepFailureEvent extends Stimulus {
  readonly type: "gather-dep-failure";
  readonly worker: string;
  readonly keys: readonly Key[];
  readonly error: string;
}
export interface StealRequestEvent extends Stimulus {
  readonly type: "steal-request";
  readonly key: Key;
}

/** Memory pressure (memory.ts): stop starting tasks and fetching data until "unpause". */
export interface PauseEvent extends Stimulus {
  readonly type: "pause";
}
export interface UnpauseEvent extends Stimulus {
  readonly type: "unpause";
}

export type WorkerEvent =
  | PauseEvent
  | UnpauseEvent
  | ComputeTaskEvent
  | FreeKeysEvent
  | AcquireReplicasEvent
  | UpdateDataEvent
  | ExecuteSuccessEvent
  | ExecuteFailureEvent
  | GatherDepSuccessEvent
  | GatherDepFailureEvent
  | StealRequestEvent;

export type WorkerInstruction =
  /** Run the task; its dependencies' values are in the store under `deps`. */
  | { readonly op: "execute"; readonly key: Key; readonly run: Uint8Array; readonly name: string; readonly deps: Key[]; readonly stimulusId: string }
  /** Fetch `keys` from one peer in one request, then report gather-dep-success/failure. */
  | { readonly op: "gather-dep"; readonly worker: string; readonly keys: Key[]; readonly totalNbytes: number; readonly stimulusId: string }
  | { readonly op: "send-task-finished"; readonly key: Key; readonly nbytes: number; readonly typeName: string; readonly startstops: StartStop[] }
  | { readonly op: "send-task-erred"; readonly key: Key; readonly error: RemoteErrorInfo; readonly startstops: StartStop[] }
  | { readonly op: "send-missing-data"; readonly key: Key; readonly errantWorker: string }
  | { readonly op: "send-add-keys"; readonly keys: Key[]; readonly nbytes: Record<Key, number> }
  | { readonly op: "send-steal-response"; readonly key: Key; readonly state: TaskStateName | null }
  /** Drop the value from the store (a no-op when it is not there). */
  | { readonly op: "release-data"; readonly key: Key };

export interface StoryEntry {
  readonly key: Key;
  readonly from: TaskStateName;
  readonly to: TaskStateName;
  readonly stimulusId: string;
  readonly time: number;
}
