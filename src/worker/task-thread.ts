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
import { runTask, thrown, type RunnableTask, type TaskOutcome } from "./run-task.js";
import type { InspectOptions } from "./values.js";

export type ThreadTask = RunnableTask & { readonly id: number };

export type ThreadResult = TaskOutcome & { readonly id: number };

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

async function runOne(task: ThreadTask, transfer: ArrayBuffer[]): Promise<ThreadResult> {
  return { id: task.id, ...(await runTask(task, config.inspect, transfer)) };
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
