/**
 * Entry of a task thread (worker_threads). Runs tasks off the worker's event loop, one at a
 * time, in the order received.
 *
 * Messages: main -> thread `{ tasks: ThreadTask[] }`; thread -> main `{ ready: true }` once
 * loaded, then `{ results: ThreadResult[] }`. Results are batched: a thread that has more
 * tasks queued keeps results for up to `flushMs` before posting them together, so tiny tasks
 * pay the thread hop per batch, not per task.
 *
 * `progress[0]` (shared memory) holds the id of the task running now, -1 between tasks, so
 * that when the thread dies the executor knows which task killed it and which were innocent.
 */
import { parentPort, workerData } from "node:worker_threads";
import { unpackRun } from "../comm/serialize.js";
import { describeValue } from "../errors.js";
import { evaluateRun } from "../graph/evaluate.js";
import type { Key } from "../graph/spec.js";
import type { ThrownError } from "./state.js";
import { inspectValue, type InspectOptions } from "./values.js";

export interface ThreadTask {
  readonly id: number;
  readonly key: Key;
  readonly run: Uint8Array;
  readonly data: ReadonlyMap<Key, unknown>;
}

export type ThreadResult =
  | { readonly id: number; readonly ok: true; readonly value: unknown; readonly nbytes: number; readonly typeName: string; readonly start: number; readonly stop: number }
  | { readonly id: number; readonly ok: false; readonly error: ThrownError; readonly start: number; readonly stop: number };

export interface ThreadData {
  readonly progress: Int32Array;
  readonly inspect: InspectOptions;
  readonly flushMs: number;
}

export type ToThread = { readonly tasks: ThreadTask[] };
export type FromThread = { readonly ready: true } | { readonly results: ThreadResult[] };

const port = parentPort!;
const config = workerData as ThreadData;
const progress = config.progress;
const origin = performance.timeOrigin;

function thrown(err: unknown): ThrownError {
  if (err instanceof Error) return { name: err.name, message: err.message, stack: err.stack ?? `${err.name}: ${err.message}` };
  const message = `non-Error value thrown: ${describeValue(err)}`;
  return { name: "Error", message, stack: `Error: ${message}` };
}

async function runOne(task: ThreadTask, transfer: ArrayBuffer[]): Promise<ThreadResult> {
  const start = origin + performance.now();
  let value: unknown;
  try {
    value = await evaluateRun(unpackRun(task.run), task.data);
  } catch (err) {
    return { id: task.id, ok: false, error: thrown(err), start, stop: origin + performance.now() };
  }
  const stop = origin + performance.now();
  const ins = inspectValue(value, config.inspect);
  if (ins.problem !== null) {
    const message = `skein: task "${task.key}" returned a value that cannot be sent between processes: ${ins.problem}`;
    return { id: task.id, ok: false, error: { name: "SerializationError", message, stack: `SerializationError: ${message}` }, start, stop };
  }
  for (const b of ins.transfer) transfer.push(b);
  return { id: task.id, ok: true, value: ins.value, nbytes: ins.nbytes, typeName: ins.typeName, start, stop };
}

const queue: ThreadTask[] = [];
let head = 0;
let draining = false;

async function drain(): Promise<void> {
  draining = true;
  let results: ThreadResult[] = [];
  let transfer: ArrayBuffer[] = [];
  let oldest = 0;
  while (head < queue.length) {
    const task = queue[head];
    queue[head++] = undefined as unknown as ThreadTask;
    Atomics.store(progress, 0, task.id);
    const r = await runOne(task, transfer);
    Atomics.store(progress, 0, -1);
    if (results.length === 0) oldest = performance.now();
    results.push(r);
    if (head >= queue.length || performance.now() - oldest >= config.flushMs) {
      port.postMessage({ results } satisfies FromThread, transfer);
      results = [];
      transfer = [];
    }
  }
  queue.length = 0;
  head = 0;
  draining = false;
}

port.on("message", (msg: ToThread) => {
  for (const t of msg.tasks) queue.push(t);
  if (!draining) void drain();
});

// A stray promise rejected after its task ended must not kill the thread (and with it an
// innocent task): report it and go on. Synchronous uncaught exceptions still end the thread.
process.on("unhandledRejection", (reason) => {
  process.stderr.write(`skein worker thread: unhandled promise rejection (from an earlier task?): ${thrown(reason).stack}\n`);
});

port.postMessage({ ready: true } satisfies FromThread);
