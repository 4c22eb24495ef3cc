/**
 * One task, start to finish, wherever it runs (a task thread, or the worker's own event loop
 * for a lone tiny task): unpack the run spec, evaluate it against the dependencies' values, and
 * inspect the value (plain data only; big typed arrays into shared memory).
 */
import { unpackRun } from "../comm/serialize.js";
import { epochMs } from "../epoch-clock.js";
import { describeValue } from "../errors.js";
import { threadBoundCalls } from "../functions/thread-bound.js";
import { startRun } from "../graph/evaluate.js";
import type { Key, RunSpec } from "../graph/spec.js";
import type { ThrownError } from "./state.js";
import { inspectValue, type InspectOptions } from "./values.js";

export interface RunnableTask {
  readonly key: Key;
  /** The packed RunSpec. */
  readonly run: Uint8Array;
  /** Values of the task's dependencies. */
  readonly data: ReadonlyMap<Key, unknown>;
}

/** Start and stop are epoch milliseconds; `threadBound`: it called a function marked threadBound. */
export type TaskOutcome = (
  | { readonly ok: true; readonly value: unknown; readonly nbytes: number; readonly typeName: string }
  | { readonly ok: false; readonly error: ThrownError }
) & { readonly start: number; readonly stop: number; readonly threadBound: boolean };

export function thrown(err: unknown): ThrownError {
  if (err instanceof Error) return { name: err.name, message: err.message, stack: err.stack ?? `${err.name}: ${err.message}` };
  const message = `non-Error value thrown: ${describeValue(err)}`;
  return { name: "Error", message, stack: `Error: ${message}` };
}

/**
 * Runs `task`; buffers the caller should transfer with the value are pushed onto `transfer`.
 * `spec`: the run spec, if the caller has unpacked it already.
 */
export async function runTask(task: RunnableTask, inspect: InspectOptions, transfer: ArrayBuffer[], spec?: RunSpec): Promise<TaskOutcome> {
  const boundBefore = threadBoundCalls();
  const start = epochMs();
  let value: unknown;
  try {
    value = startRun(spec ?? unpackRun(task.run), task.data);
    if (isThenable(value)) value = await value;
  } catch (err) {
    return { ok: false, error: thrown(err), start, stop: epochMs(), threadBound: threadBoundCalls() !== boundBefore };
  }
  const stop = epochMs();
  const threadBound = threadBoundCalls() !== boundBefore;
  const ins = inspectValue(value, inspect);
  if (ins.problem !== null) {
    const message = `skein: task "${task.key}" returned a value that cannot be sent between processes: ${ins.problem}`;
    return { ok: false, error: { name: "SerializationError", message, stack: `SerializationError: ${message}` }, start, stop, threadBound };
  }
  for (const b of ins.transfer) transfer.push(b);
  return { ok: true, value: ins.value, nbytes: ins.nbytes, typeName: ins.typeName, start, stop, threadBound };
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (typeof v === "object" || typeof v === "function") && v !== null && typeof (v as { then?: unknown }).then === "function";
}
