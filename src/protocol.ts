/**
 * Every message that crosses a connection. Connections carry batches: one frame = `Message[]`.
 * The same messages flow over TCP and over the in-process transport.
 */
import type { Key, RemoteErrorInfo, TaskSubmission } from "./graph/spec.js";

/** Where a dependency can be fetched from, as the scheduler tells a worker. */
export interface DepLocation {
  readonly key: Key;
  readonly workers: readonly string[];
  readonly nbytes: number;
}

export interface StartStop {
  readonly action: "compute" | "transfer" | "disk-read" | "disk-write";
  readonly start: number;
  readonly stop: number;
}

// ---- handshake (first message on any connection) ----
export interface HelloClient {
  op: "hello-client";
  client: string;
  token?: string;
  /** Id of a client whose connection dropped: re-attach to it (within the scheduler's grace period). */
  resume?: string;
}
export interface HelloWorker {
  op: "hello-worker";
  /** Address peers use to fetch data from this worker, e.g. tcp://127.0.0.1:40123. */
  address: string;
  name: string;
  nthreads: number;
  memoryLimit: number;
  resources: Record<string, number>;
  pid: number;
  token?: string;
}
export interface HelloPeer { op: "hello-peer"; token?: string }
export interface Welcome { op: "welcome"; id: string }
export interface Refused { op: "refused"; reason: string }

// ---- client -> scheduler ----
export interface UpdateGraph { op: "update-graph"; tasks: TaskSubmission[]; wanted: Key[] }
export interface ClientReleasesKeys { op: "client-releases-keys"; keys: Key[] }
export interface ClientDesiresKeys { op: "client-desires-keys"; keys: Key[] }
export interface CancelKeys { op: "cancel-keys"; keys: Key[] }
/** The client is closing on purpose: release its keys now, without the grace period. */
export interface ClientGoodbye { op: "client-goodbye" }
export interface ScatterMsg {
  op: "scatter";
  id: number;
  data: Record<Key, unknown>;
  workers?: string[];
  broadcast: boolean;
}
export interface GatherMsg { op: "gather"; id: number; keys: Key[] }
export interface ClusterInfoMsg { op: "cluster-info"; id: number }
/** Ask for a task's packed run spec (to re-run it in the client for debugging). */
export interface RunSpecMsg { op: "run-spec"; id: number; key: Key }
/** Ask for the task-stream records (epoch ms) overlapping [since, until] (performance reports). */
export interface TaskStreamMsg { op: "task-stream"; id: number; since: number; until: number }

// ---- scheduler -> client ----
export interface KeyInMemory { op: "key-in-memory"; key: Key; hasValue: boolean; value?: unknown }
export interface KeyErred { op: "key-erred"; key: Key; error: RemoteErrorInfo }
export interface KeysCancelled { op: "keys-cancelled"; keys: Key[]; reason: string }
export interface GraphRejected { op: "graph-rejected"; keys: Key[]; message: string }
export interface GatherReply {
  op: "gather-reply";
  id: number;
  data: Record<Key, unknown>;
  /** Keys that are not (or no longer) in memory anywhere. */
  missing: Key[];
}
export interface ScatterReply { op: "scatter-reply"; id: number; keys: Key[]; error?: string }
export interface RunSpecReply { op: "run-spec-reply"; id: number; key: Key; found: boolean; run: Uint8Array | null; deps: Key[]; name: string }
/**
 * Task-stream records in columns, one entry per startstop (a task's compute, a transfer, a
 * disk read or write). `fn` indexes `fnNames`, `worker` indexes `workers`; `lane` is the
 * worker thread the scheduler placed the bar on; `action` indexes TASK_STREAM_ACTIONS.
 */
export interface TaskStreamRecords {
  fnNames: string[];
  workers: { address: string; name: string; nthreads: number }[];
  key: Key[];
  fn: number[];
  worker: number[];
  lane: number[];
  action: number[];
  /** 1 when the task failed. */
  erred: number[];
  start: number[];
  stop: number[];
  /** Bytes of the task's result (0 for failures and for transfers). */
  nbytes: number[];
}
export const TASK_STREAM_ACTIONS = ["compute", "transfer", "disk-read", "disk-write"] as const;
/**
 * Results copied to another worker (a dependency fetched, a replica made), one entry per key,
 * as the receiving worker reported it (add-keys): `time` is when the scheduler heard of it
 * (epoch ms); `fn` and `worker` index the fnNames and workers of the records sent with them.
 */
export interface DataTransfers {
  key: Key[];
  fn: number[];
  worker: number[];
  time: number[];
  nbytes: number[];
}
/** `dropped`: matching records the scheduler no longer holds (its buffer is bounded). */
export interface TaskStreamReply { op: "task-stream-reply"; id: number; records: TaskStreamRecords; transfers: DataTransfers; dropped: number }
export interface ClusterInfoReply {
  op: "cluster-info-reply";
  id: number;
  workers: { address: string; name: string; nthreads: number; memoryLimit: number; resources: Record<string, number> }[];
}

// ---- scheduler -> worker ----
export interface ComputeTask {
  op: "compute-task";
  key: Key;
  run: Uint8Array;
  name: string;
  deps: DepLocation[];
  priority: readonly number[];
  resources?: Record<string, number>;
}
export interface FreeKeys { op: "free-keys"; keys: Key[] }
export interface UpdateData { op: "update-data"; id: number; data: Record<Key, unknown> }
export interface AcquireReplicas { op: "acquire-replicas"; deps: DepLocation[] }
export interface StealRequest { op: "steal-request"; key: Key }
export interface CloseWorker { op: "close"; reason: string }
/** A peer left the cluster: drop its connection so fetches from it fail now, not at a TCP timeout. */
export interface WorkerRemoved { op: "worker-removed"; worker: string }

// ---- worker -> scheduler ----
export interface TaskFinished {
  op: "task-finished";
  key: Key;
  nbytes: number;
  type: string;
  /** Small results travel with the notice so a waiting client needs no extra gather. */
  hasValue: boolean;
  value?: unknown;
  startstops: StartStop[];
}
export interface TaskErred { op: "task-erred"; key: Key; error: RemoteErrorInfo; startstops: StartStop[] }
export interface AddKeys { op: "add-keys"; keys: Key[]; nbytes: Record<Key, number> }
export interface MissingData { op: "missing-data"; key: Key; errantWorker: string }
export interface StealResponse { op: "steal-response"; key: Key; state: string | null }
export interface UpdateDataReply { op: "update-data-reply"; id: number; nbytes: Record<Key, number> }
export interface Heartbeat {
  op: "heartbeat";
  memory: { managed: number; spilled: number; rss: number };
  executing: number;
  ready: number;
  /** Process CPU use since the previous heartbeat, in % of one core (the dashboard shows it). */
  cpu?: number;
}
/**
 * The worker paused (memory above its pause threshold: it starts no tasks) or is running
 * again. A paused worker is not chosen for new tasks (dask's Status.paused).
 */
export interface WorkerStatusMsg { op: "worker-status"; status: "running" | "paused" }

// ---- anyone holding data <-> anyone asking for it ----
export interface GetData { op: "get-data"; id: number; keys: Key[] }
export interface DataReply { op: "data"; id: number; data: Record<Key, unknown>; missing: Key[] }

export type Message =
  | HelloClient | HelloWorker | HelloPeer | Welcome | Refused
  | UpdateGraph | ClientReleasesKeys | ClientDesiresKeys | CancelKeys | ClientGoodbye | ScatterMsg | GatherMsg | ClusterInfoMsg | RunSpecMsg | TaskStreamMsg
  | KeyInMemory | KeyErred | KeysCancelled | GraphRejected | GatherReply | ScatterReply | ClusterInfoReply | RunSpecReply | TaskStreamReply
  | ComputeTask | FreeKeys | UpdateData | AcquireReplicas | StealRequest | CloseWorker | WorkerRemoved
  | TaskFinished | TaskErred | AddKeys | MissingData | StealResponse | UpdateDataReply | Heartbeat | WorkerStatusMsg
  | GetData | DataReply;

export type Op = Message["op"];
