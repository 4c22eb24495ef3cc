/**
 * Runs tasks in `worker_threads`, so the worker's own event loop stays free for heartbeats,
 * peer transfers and new work while a long task computes.
 *
 * - Tasks submitted in the same tick leave for a thread together in one postMessage, and a
 *   thread returns results in batches (see task-thread.ts): the hop is paid per batch. How
 *   many tasks a thread holds at once is the state machine's decision (it hands out more than
 *   one per thread only while tasks are tiny); `maxPerThread` is a backstop.
 * - Inputs reach the thread by structured clone; typed arrays in shared memory are shared.
 * - A lone task whose function has kept to a few microseconds runs on the worker's own event
 *   loop instead (inline-policy.ts): a thread round trip would cost it two wake-ups. Its inputs
 *   and its value are copied as a thread's would be, so it sees the same data either way.
 * - A thread that dies (process.exit in a task, out of memory, an uncaught exception) is
 *   replaced. The task it was running fails with a clear error; the tasks queued behind it
 *   run on the replacement.
 * - From TypeScript sources, Node 20 ignores `--import` in worker threads, so a thread first
 *   registers tsx through its API and then imports the entry.
 */
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Worker, type ResourceLimits } from "node:worker_threads";
import { unpackRun } from "../comm/serialize.js";
import { epochMs } from "../epoch-clock.js";
import { importModule, loadFunctionCached } from "../functions/load.js";
import type { Key, RunSpec } from "../graph/spec.js";
import { InlinePolicy } from "./inline-policy.js";
import { runTask, thrown, type RunnableTask as ExecTask, type TaskOutcome } from "./run-task.js";
import type { ThrownError } from "./state.js";
import type { FromThread, ThreadData, ThreadResult, ThreadTask, ToThread } from "./task-thread.js";
import type { InspectOptions } from "./values.js";

export interface ExecutorOptions {
  nthreads: number;
  /** Node flags for the threads. Default: this process's (minus the tsx loader, registered by API). */
  execArgv?: readonly string[];
  /** Typed arrays in results at least this big are moved to shared memory. Default 64 KiB. */
  sharedMinBytes?: number;
  /**
   * Transfer (instead of copy) the ArrayBuffers of results not moved to shared memory.
   * Zero-copy, but detaches the thread's buffer: only safe if tasks never keep (e.g. cache at
   * module level) an array they return. Default false: below `sharedMinBytes` a copy is cheap.
   */
  transferResults?: boolean;
  /** A thread holding results posts them after this long even if it has more tasks. Default 1 ms. */
  flushMs?: number;
  /** Most tasks in one postMessage and queued in one thread. Default 64. */
  maxPerThread?: number;
  /**
   * A lone task whose prefix's recent runs each took at most this long (ms) runs on the event
   * loop instead of a thread (see inline-policy.ts). 0: every task goes to a thread. Default 1.
   */
  inlineMaxMs?: number;
  resourceLimits?: ResourceLimits;
  /** Thread entry, for tests. Default: task-thread next to this file. */
  threadUrl?: URL;
}

export type { ExecTask };

export type ExecResult =
  | { readonly key: Key; readonly ok: true; readonly value: unknown; readonly nbytes: number; readonly typeName: string; readonly start: number; readonly stop: number }
  | { readonly key: Key; readonly ok: false; readonly error: ThrownError; readonly start: number; readonly stop: number };

interface Pending {
  readonly id: number;
  readonly task: ExecTask;
  readonly onDone: (r: ExecResult) => void;
  /** Times its thread died under it while it was queued there. */
  orphaned: number;
}

interface Slot {
  readonly worker: Worker;
  readonly progress: Int32Array;
  readonly outstanding: Map<number, Pending>;
  ready: boolean;
  dead: boolean;
  lastError: Error | null;
}

const DEFAULT_SHARED_MIN_BYTES = 64 * 1024;
/** Inline runs take no run spec or typed-array input bigger than this: big inputs, long runs. */
const INLINE_INPUT_BYTES = 64 * 1024;
/** Consecutive threads dying before they were ready before the executor gives up. */
const MAX_START_FAILURES = 3;
/** A queued task whose thread died this many times (running other tasks) fails. */
const MAX_ORPHANED = 3;

const ownUrl = import.meta.url;
const fromSource = ownUrl.endsWith(".ts");

function isTsxFlag(argv: readonly string[], i: number): boolean {
  const a = argv[i];
  if (/^--(import|loader|experimental-loader|require)=.*tsx/.test(a)) return true;
  return /tsx/.test(a) && i > 0 && /^--(import|loader|experimental-loader|require|r)$/.test(argv[i - 1]);
}

/** Flags whose next argument is code or a mode for the main script: never for a thread. */
const SCRIPT_FLAGS = /^(-e|--eval|-p|--print|--input-type|--test-[a-z-]+|--watch-path)$/;
const SCRIPT_FLAGS_INLINE = /^(--eval=|--print=|--input-type=|--test|--watch|-i$|--interactive$|-c$|--check$)/;

/**
 * V8 flags that shape the process: a thread refuses them in its execArgv (ERR_WORKER_INVALID_EXEC_ARGV)
 * and has them anyway, V8's flags being process-wide. Worker processes always run with --expose-gc.
 */
const PROCESS_WIDE_FLAG = /^--(expose[-_]gc|max[-_]old[-_]space[-_]size|max[-_]semi[-_]space[-_]size|stack[-_]size)(=|$)/;

/**
 * Flags minus the tsx loader (and the flag naming it), minus main-script flags (`-e code`) and
 * minus process-wide V8 flags.
 */
function withoutTsx(argv: readonly string[]): { rest: string[]; hadTsx: boolean } {
  const rest: string[] = [];
  let hadTsx = false;
  for (let i = 0; i < argv.length; i++) {
    if (SCRIPT_FLAGS.test(argv[i])) {
      i++;
      continue;
    }
    if (SCRIPT_FLAGS_INLINE.test(argv[i])) continue;
    if (PROCESS_WIDE_FLAG.test(argv[i])) {
      // `--stack-size 4000` form: its value goes too.
      if (!argv[i].includes("=") && /^--(max|stack)/.test(argv[i]) && i + 1 < argv.length && /^\d/.test(argv[i + 1])) i++;
      continue;
    }
    if (isTsxFlag(argv, i)) {
      hadTsx = true;
      if (!argv[i].startsWith("--") && rest.length > 0) rest.pop();
      continue;
    }
    rest.push(argv[i]);
  }
  return { rest: rest.filter((a) => !/^--(inspect|debug)/.test(a)), hadTsx };
}

/** URL of tsx's ESM register API, looked up from the working directory, then from skein. */
function tsxApiUrl(): string | null {
  for (const base of [join(process.cwd(), "package.json"), ownUrl]) {
    try {
      const cjs = createRequire(base).resolve("tsx/esm/api");
      return pathToFileURL(cjs.replace(/index\.cjs$/, "index.mjs")).href;
    } catch {
      // not resolvable from there
    }
  }
  return null;
}

let tsxApi: string | null | undefined;

/** `new Worker` arguments that load the thread entry, with a TypeScript loader if needed. */
function threadSpec(entry: URL, execArgv: readonly string[]): { script: string | URL; eval: boolean; execArgv: string[] } {
  const { rest, hadTsx } = withoutTsx(execArgv);
  const needsTsx = hadTsx || entry.pathname.endsWith(".ts");
  if (!needsTsx) return { script: entry, eval: false, execArgv: rest };
  if (tsxApi === undefined) tsxApi = tsxApiUrl();
  if (tsxApi === null) {
    throw new Error(`skein worker: task thread entry ${entry.href} needs the tsx loader, which cannot be resolved`);
  }
  const script =
    `import(${JSON.stringify(tsxApi)})` +
    `.then((api) => { api.register(); return import(${JSON.stringify(entry.href)}); })` +
    `.catch((err) => { process.nextTick(() => { throw err; }); });`;
  return { script, eval: true, execArgv: rest };
}

export class Executor {
  readonly nthreads: number;
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private readonly threadData: Omit<ThreadData, "progress">;
  private readonly maxPerThread: number;
  private readonly execArgv: readonly string[];
  private readonly entry: URL;
  private readonly resourceLimits: ResourceLimits | undefined;
  private readonly inline: InlinePolicy;
  private readonly inlineInspect: InspectOptions;
  private inlineRunning = 0;
  /** Modules this thread has started importing for inline runs. */
  private readonly importsTried = new Set<string>();
  private nextId = 0;
  private flushScheduled = false;
  private startFailures = 0;
  private broken: Error | null = null;
  private closed = false;

  constructor(opts: ExecutorOptions) {
    if (!Number.isInteger(opts.nthreads) || opts.nthreads < 1) {
      throw new Error(`skein worker: nthreads must be a positive integer, got ${opts.nthreads}`);
    }
    this.nthreads = opts.nthreads;
    this.maxPerThread = opts.maxPerThread ?? 64;
    this.threadData = {
      inspect: { sharedMinBytes: opts.sharedMinBytes ?? DEFAULT_SHARED_MIN_BYTES, transfer: opts.transferResults ?? false },
      flushMs: opts.flushMs ?? 1,
    };
    const tinyMs = opts.inlineMaxMs ?? 1;
    this.inline = new InlinePolicy({ tinyMs, barMs: 20 * tinyMs });
    this.inlineInspect = { sharedMinBytes: this.threadData.inspect.sharedMinBytes, transfer: false };
    this.execArgv = opts.execArgv ?? process.execArgv;
    this.entry = opts.threadUrl ?? new URL(fromSource ? "./task-thread.ts" : "./task-thread.js", ownUrl);
    this.resourceLimits = opts.resourceLimits;
    for (let i = 0; i < this.nthreads; i++) this.slots.push(this.spawn());
  }

  /** Tasks submitted and not reported yet. */
  get outstanding(): number {
    let n = this.queue.length + this.inlineRunning;
    for (const s of this.slots) n += s.outstanding.size;
    return n;
  }

  /** Resolves once every thread has loaded its entry (tests and benchmarks use it). */
  async ready(): Promise<void> {
    await Promise.all(
      this.slots.map((s) => (s.ready ? undefined : new Promise<void>((resolve) => s.worker.once("message", () => resolve())))),
    );
  }

  submit(task: ExecTask, onDone: (r: ExecResult) => void): void {
    if (this.closed || this.broken) {
      const message = this.broken ? this.broken.message : "skein worker: executor is closed";
      const now = Date.now();
      queueMicrotask(() => onDone({ key: task.key, ok: false, error: { name: "Error", message, stack: `Error: ${message}` }, start: now, stop: now }));
      return;
    }
    if (this.outstanding === 0 && this.inline.allows(task.key) && smallInputs(task)) {
      const spec = this.loadedHere(task);
      if (spec !== null) {
        void this.runInline(task, spec, onDone);
        return;
      }
    }
    this.queue.push({ id: this.nextId, task, onDone, orphaned: 0 });
    this.nextId = (this.nextId + 1) & 0x3fffffff;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  run(task: ExecTask): Promise<ExecResult> {
    return new Promise((resolve) => this.submit(task, resolve));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const orphans: Pending[] = this.queue.splice(0);
    for (const s of this.slots) {
      s.dead = true;
      for (const p of s.outstanding.values()) orphans.push(p);
      s.outstanding.clear();
    }
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    for (const p of orphans) this.fail(p, "skein worker: executor closed before the task ran");
  }

  // ---------------------------------------------------------------- inline

  /**
   * The task's run spec if its function's module is loaded in this thread. If not, the import
   * starts now (once per module) and the task goes to a thread: an inline run's time, which
   * decides whether its prefix stays inline, is then the call's alone.
   */
  private loadedHere(task: ExecTask): RunSpec | null {
    let spec: RunSpec;
    try {
      spec = unpackRun(task.run);
    } catch {
      return null; // the thread reports it
    }
    if (spec.fn === null || loadFunctionCached(spec.fn) !== undefined) return spec;
    const module = spec.fn.module;
    if (!this.importsTried.has(module)) {
      this.importsTried.add(module);
      importModule(module).catch(() => undefined); // stays in threads
    }
    return null;
  }

  private async runInline(task: ExecTask, spec: RunSpec, onDone: (r: ExecResult) => void): Promise<void> {
    this.inlineRunning++;
    let out: TaskOutcome;
    try {
      out = await runTask({ key: task.key, run: task.run, data: ownCopies(task.data) }, this.inlineInspect, [], spec);
      // As a thread's postMessage would: the store must not share objects with the task's module.
      if (out.ok && typeof out.value === "object" && out.value !== null) out = { ...out, value: structuredClone(out.value) };
    } catch (err) {
      const now = epochMs();
      out = { ok: false, error: thrown(err), start: now, stop: now, threadBound: false };
    } finally {
      this.inlineRunning--;
    }
    this.inline.observe(task.key, out.stop - out.start, true, out.threadBound);
    onDone(toExecResult(task.key, out));
    if (this.queue.length > 0 && !this.flushScheduled) this.flush();
  }

  // ---------------------------------------------------------------- dispatch

  private flush(): void {
    this.flushScheduled = false;
    if (this.closed) return;
    while (this.queue.length > 0) {
      let best: Slot | null = null;
      let free = 0;
      for (const s of this.slots) {
        if (s.dead || s.outstanding.size >= this.maxPerThread) continue;
        free++;
        if (best === null || s.outstanding.size < best.outstanding.size) best = s;
      }
      if (best === null) return;
      // Spread a burst over the threads with room instead of filling the first one.
      const share = Math.ceil(this.queue.length / free);
      const n = Math.min(share, this.maxPerThread - best.outstanding.size);
      const batch = this.queue.splice(0, n);
      if (best.outstanding.size === 0) best.worker.ref();
      const tasks: ThreadTask[] = [];
      for (const p of batch) {
        best.outstanding.set(p.id, p);
        tasks.push({ id: p.id, key: p.task.key, run: p.task.run, data: p.task.data });
      }
      try {
        best.worker.postMessage({ tasks } satisfies ToThread);
      } catch (err) {
        // Data that structured clone refuses (cannot happen for values that came out of a task).
        for (const p of batch) {
          best.outstanding.delete(p.id);
          this.fail(p, `skein worker: cannot pass the inputs of task "${p.task.key}" to a thread: ${(err as Error).message}`);
        }
      }
    }
  }

  private spawn(): Slot {
    const progress = new Int32Array(new SharedArrayBuffer(4));
    progress[0] = -1;
    const spec = threadSpec(this.entry, this.execArgv);
    const options = {
      eval: spec.eval,
      workerData: { ...this.threadData, progress } satisfies ThreadData,
      resourceLimits: this.resourceLimits,
      stdout: false,
      stderr: false,
    };
    let worker: Worker;
    try {
      worker = new Worker(spec.script, { ...options, execArgv: spec.execArgv });
    } catch (err) {
      if ((err as { code?: string }).code !== "ERR_WORKER_INVALID_EXEC_ARGV") throw err;
      // Another flag a thread refuses: start it with none, keeping `--conditions` (without it a
      // thread could resolve a package to a second copy of skein, whose classes the worker's
      // values are not instances of). The loader is set up by API anyway.
      const keep = spec.execArgv.filter((a, i, all) => /^(--conditions|-C)(=|$)/.test(a) || /^(--conditions|-C)$/.test(all[i - 1] ?? ""));
      worker = new Worker(spec.script, { ...options, execArgv: keep });
    }
    const slot: Slot = { worker, progress, outstanding: new Map(), ready: false, dead: false, lastError: null };
    worker.on("message", (msg: FromThread) => this.onMessage(slot, msg));
    worker.on("error", (err) => {
      slot.lastError = err;
    });
    worker.on("exit", (code) => this.onExit(slot, code));
    // A thread keeps the process alive while it starts or has work, not when idle.
    return slot;
  }

  private onMessage(slot: Slot, msg: FromThread): void {
    if ("ready" in msg) {
      slot.ready = true;
      this.startFailures = 0;
      if (slot.outstanding.size === 0) slot.worker.unref();
      return;
    }
    for (const r of msg.results) this.complete(slot, r);
    if (this.queue.length > 0 && !this.flushScheduled) this.flush();
    if (slot.outstanding.size === 0 && slot.ready) slot.worker.unref();
  }

  private complete(slot: Slot, r: ThreadResult): void {
    const p = slot.outstanding.get(r.id);
    if (!p) return;
    slot.outstanding.delete(r.id);
    this.inline.observe(p.task.key, r.stop - r.start, false, r.threadBound);
    p.onDone(toExecResult(p.task.key, r));
  }

  private fail(p: Pending, message: string): void {
    const now = Date.now();
    p.onDone({ key: p.task.key, ok: false, error: { name: "Error", message, stack: `Error: ${message}` }, start: now, stop: now });
  }

  private onExit(slot: Slot, code: number): void {
    if (slot.dead) return; // terminated by close()
    slot.dead = true;
    const i = this.slots.indexOf(slot);
    const cause = slot.lastError ? `: ${slot.lastError.message}` : ` (exit code ${code})`;
    if (!slot.ready) this.startFailures++;
    const runningId = Atomics.load(slot.progress, 0);
    const requeue: Pending[] = [];
    for (const p of slot.outstanding.values()) {
      if (p.id === runningId) {
        this.fail(
          p,
          `skein worker: the thread running task "${p.task.key}" died${cause}; ` +
            "a task must not call process.exit() and must fit in memory (the thread was replaced)",
        );
      } else if (++p.orphaned >= MAX_ORPHANED) {
        this.fail(p, `skein worker: task "${p.task.key}" was queued on ${MAX_ORPHANED} threads that died${cause}`);
      } else {
        requeue.push(p);
      }
    }
    slot.outstanding.clear();
    if (this.startFailures >= MAX_START_FAILURES) {
      this.broken = new Error(`skein worker: task threads fail to start${cause}`);
      for (const p of requeue.concat(this.queue.splice(0))) this.fail(p, this.broken.message);
      this.slots.splice(i, 1);
      return;
    }
    this.queue.unshift(...requeue);
    if (!this.closed) this.slots[i] = this.spawn();
    this.flush();
  }
}

function toExecResult(key: Key, r: TaskOutcome): ExecResult {
  return r.ok
    ? { key, ok: true, value: r.value, nbytes: r.nbytes, typeName: r.typeName, start: r.start, stop: r.stop }
    : { key, ok: false, error: r.error, start: r.start, stop: r.stop };
}

function smallInputs(task: ExecTask): boolean {
  if (task.run.byteLength > INLINE_INPUT_BYTES) return false;
  for (const v of task.data.values()) if (ArrayBuffer.isView(v) && v.byteLength > INLINE_INPUT_BYTES) return false;
  return true;
}

/** Inputs as a thread receives them: objects cloned (shared memory stays shared), primitives as they are. */
function ownCopies(data: ReadonlyMap<Key, unknown>): ReadonlyMap<Key, unknown> {
  let out: Map<Key, unknown> | null = null;
  for (const [k, v] of data) {
    if (typeof v !== "object" || v === null) continue;
    out ??= new Map(data);
    out.set(k, structuredClone(v));
  }
  return out ?? data;
}
