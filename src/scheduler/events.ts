/**
 * The scheduler state machine's vocabulary: the events (stimuli) the I/O edge feeds in, the
 * instructions it gets back, and the read-only views for tests and diagnostics.
 *
 * Everything here is plain data, so a stimulus log recorded in a real run can be written out
 * with `stimulusToJSON` and replayed later as a regression test.
 */
import type { Key, RemoteErrorInfo, TaskSubmission } from "../graph/spec.js";
import type { ComputeTask, DepLocation, StartStop } from "../protocol.js";

export type SchedulerEvent =
  | { type: "add-worker"; worker: string; name: string; nthreads: number; memoryLimit: number; resources: Record<string, number> }
  /** Died, connection lost or heartbeat timeout. */
  | { type: "remove-worker"; worker: string; reason: string }
  /** The worker paused (memory pressure: not chosen for new tasks) or runs again. */
  | { type: "worker-status"; worker: string; status: "running" | "paused" }
  | { type: "add-client"; client: string }
  /** Releases everything the client wanted. */
  | { type: "remove-client"; client: string }
  | { type: "update-graph"; client: string; tasks: TaskSubmission[]; wanted: Key[] }
  /** A new Future on an existing key. */
  | { type: "client-desires-keys"; client: string; keys: Key[] }
  | { type: "client-releases-keys"; client: string; keys: Key[] }
  | { type: "cancel-keys"; client: string; keys: Key[] }
  | {
      type: "task-finished";
      worker: string;
      key: Key;
      nbytes: number;
      typeName: string;
      hasValue: boolean;
      value?: unknown;
      startstops: StartStop[];
    }
  | { type: "task-erred"; worker: string; key: Key; error: RemoteErrorInfo; startstops: StartStop[] }
  /** The worker now also holds these keys (replica / scatter). */
  | { type: "add-keys"; worker: string; keys: Key[]; nbytes: Record<Key, number> }
  /** The edge already stored the data on `workers`. */
  | { type: "scatter"; client: string; data: Record<Key, number>; workers: string[] }
  /** `worker` could not fetch `key` from `errantWorker`. */
  | { type: "missing-data"; worker: string; key: Key; errantWorker: string }
  | { type: "gather"; client: string; id: number; keys: Key[] }
  /** Periodic: let idle workers steal queued work from backlogged ones (stealing.ts). */
  | { type: "balance" }
  /** The victim's answer to a steal-request: its state for the key (null: it does not have it). */
  | { type: "steal-response"; worker: string; key: Key; state: string | null };

export type SchedulerInstruction =
  | { type: "compute-task"; worker: string; msg: ComputeTask }
  | { type: "free-keys"; worker: string; keys: Key[] }
  | { type: "key-in-memory"; client: string; key: Key; hasValue: boolean; value?: unknown }
  | { type: "key-erred"; client: string; key: Key; error: RemoteErrorInfo }
  | { type: "keys-cancelled"; client: string; keys: Key[]; reason: string }
  | { type: "graph-rejected"; client: string; keys: Key[]; message: string }
  /** The edge fetches `keys` from `worker` and replies to the client's gather `id`. */
  | { type: "get-data"; worker: string; client: string; id: number; keys: Key[] }
  /** Keys of gather `id` that are not in memory anywhere. */
  | { type: "gather-missing"; client: string; id: number; keys: Key[] }
  /** The worker should fetch these keys from the listed holders (a fresher location list). */
  | { type: "acquire-replicas"; worker: string; deps: DepLocation[] }
  /** Ask `worker` to give up `key` if it has not started it (answered by steal-response). */
  | { type: "steal-request"; worker: string; key: Key };

export const TASK_STATE_NAMES = [
  "released",
  "waiting",
  "no-worker",
  "queued",
  "processing",
  "memory",
  "erred",
  "forgotten",
] as const;

export type TaskStateName = (typeof TASK_STATE_NAMES)[number];

/** One entry of the bounded transition log. */
export interface TransitionRecord {
  readonly key: Key;
  readonly start: TaskStateName;
  readonly finish: TaskStateName;
  readonly stimulusId: string;
  readonly time: number;
}

export interface WorkerView {
  readonly address: string;
  readonly name: string;
  readonly nthreads: number;
  readonly memoryLimit: number;
  /** Paused for memory pressure: not chosen for new tasks. */
  readonly paused: boolean;
  /** Tasks assigned to the worker and not yet reported finished. */
  readonly processing: number;
  /** Bytes of results the worker holds, as reported by it. */
  readonly nbytes: number;
  /** Number of results the worker holds. */
  readonly nkeys: number;
  readonly resources: Readonly<Record<string, number>>;
  /** Resources not consumed by the tasks processing on it. */
  readonly available: Readonly<Record<string, number>>;
}

// ---- JSON round trip ----
// Run blobs (and sometimes values) are typed arrays; JSON has none, so they travel as
// { "$typed": "Float64Array", "base64": ... }. Buffer is a Uint8Array subclass with a toJSON of
// its own, which is why the replacer looks at the holder's raw value rather than at `value`.

const TYPED = {
  Uint8Array,
  Int8Array,
  Uint8ClampedArray,
  Uint16Array,
  Int16Array,
  Uint32Array,
  Int32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
} as const;
type TypedName = keyof typeof TYPED;

function typedName(view: ArrayBufferView): TypedName | null {
  for (const name of Object.keys(TYPED) as TypedName[]) {
    if (view instanceof TYPED[name]) return name; // a Buffer comes back as a Uint8Array
  }
  return null;
}

function replacer(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const raw = this[key];
  if (ArrayBuffer.isView(raw)) {
    const name = typedName(raw);
    if (name !== null) {
      const bytes = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
      return { $typed: name, base64: bytes.toString("base64") };
    }
  }
  return value;
}

function reviver(_key: string, value: unknown): unknown {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const rec = value as Record<string, unknown>;
    const name = rec.$typed;
    if (typeof name === "string" && typeof rec.base64 === "string" && Object.hasOwn(TYPED, name)) {
      const bytes = Buffer.from(rec.base64, "base64");
      const ctor = TYPED[name as TypedName];
      // Copy into a fresh, aligned buffer (Buffer's pool offset may not suit 8-byte elements).
      const buf = new ArrayBuffer(bytes.byteLength);
      new Uint8Array(buf).set(bytes);
      return new ctor(buf);
    }
  }
  return value;
}

/** JSON text for an event, an instruction or a list of either (typed arrays kept). */
export function stimulusToJSON(value: SchedulerEvent | SchedulerInstruction | readonly unknown[]): string {
  return JSON.stringify(value, replacer);
}

/** Inverse of `stimulusToJSON`. The caller states what it expects back. */
export function stimulusFromJSON<T = SchedulerEvent>(text: string): T {
  return JSON.parse(text, reviver) as T;
}
