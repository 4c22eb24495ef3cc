/**
 * The graph's plain-data vocabulary, shared by client, scheduler and worker.
 *
 * A task names a function by reference (module URL + export name), never by source, and carries
 * an argument tree in which `KeyRef`s stand for the results of other tasks and `Call`s are nested
 * calls evaluated on the worker (dask's `(add, (inc, 1), 2)`).
 */

export type Key = string;

/** A function by reference: `module` is an absolute URL (file:, data: or skein:), `name` its export. */
export interface FnRef {
  readonly module: string;
  readonly name: string;
}

/** Stands for the value of task `key` inside an argument tree. */
export class KeyRef {
  constructor(readonly key: Key) {}
}

/** A nested call evaluated in place on the worker, before the outer function runs. */
export class Call {
  constructor(
    readonly fn: FnRef,
    readonly args: readonly unknown[],
  ) {}
}

/**
 * What a worker needs to run a task: a function and its arguments, or (fn === null) a value
 * whose KeyRefs are substituted (aliases and lists of keys in raw graphs).
 */
export interface RunSpec {
  readonly fn: FnRef | null;
  readonly args: readonly unknown[];
}

/** One task as the client submits it to the scheduler. `run` is the packed RunSpec. */
export interface TaskSubmission {
  readonly key: Key;
  /** RunSpec packed by `packRun`; opaque to the scheduler, which only forwards it. */
  readonly run: Uint8Array;
  readonly deps: readonly Key[];
  /** Short display name of the function (for errors and diagnostics), e.g. "inc". */
  readonly name: string;
  /** Higher runs first among ready tasks; graph order breaks ties. */
  readonly priority?: number;
  /** Extra attempts after a failure before the task is erred. */
  readonly retries?: number;
  /** Restrict to these workers (addresses or names). */
  readonly workers?: readonly string[];
  readonly allowOtherWorkers?: boolean;
  /** Abstract resources the task consumes while running, e.g. { GPU: 1 }. */
  readonly resources?: Readonly<Record<string, number>>;
  /** Position in the graph's memory-friendly order (lower runs first). */
  readonly order?: number;
}

/** An error raised by a task, as it travels back to the client. */
export interface RemoteErrorInfo {
  readonly name: string;
  readonly message: string;
  readonly stack: string;
  readonly key: Key;
  /** Display name of the function that failed. */
  readonly fn: string;
  /** Address of the worker where it failed ("" when not on a worker). */
  readonly worker: string;
  /** Set on dependents: the key whose failure they inherit. */
  readonly causeKey?: Key;
}
