/**
 * Nanny: supervises one worker process (dask's Nanny, in the parent instead of a process of its
 * own). It starts the worker, starts a fresh one when it dies unexpectedly, and kills and
 * restarts it when its resident memory passes the `terminate` fraction of its memory limit.
 *
 * Restarts: a worker that had joined the scheduler is replaced at once; one that died before
 * joining is retried with exponential backoff (100 ms doubling to 10 s), and no more than
 * `maxRestartsPerMinute` restarts happen in any 60 s (further ones wait for the window). A
 * restarted worker listens on a new port, so the scheduler sees it as a new worker; its results
 * are recomputed from lineage like any lost worker's.
 *
 * A worker that exits with code 0 on its own (the scheduler closed, or asked it to leave) is
 * not restarted: the nanny stops too. The first incarnation failing before it joins is a
 * configuration problem, not a crash: `started` rejects and the nanny stops.
 *
 * Each incarnation gets the nanny's scratch directory as its local directory; the nanny empties
 * it after every exit (a SIGKILLed worker cannot clean its spill files) and removes it at close.
 */
import type { ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_MEMORY_FRACTIONS, MEMORY_ENV, type MemoryFractions } from "../worker/memory.js";
import { spawnWorkerProcess, type WorkerProcess, type WorkerProcessConfig } from "./worker-process.js";

export interface NannyOptions {
  /** What the worker is told (scheduler address, threads, name, memory limit, ...). */
  config: WorkerProcessConfig;
  /** Memory fractions for the worker (passed as SKEIN_MEMORY_*); `terminate` is enforced here. */
  memoryFractions?: Partial<Record<keyof MemoryFractions, number | false>>;
  token?: string;
  execArgv?: string[];
  env?: Record<string, string | undefined>;
  /** Where the worker's stderr goes (default: inherited). */
  onStderr?: (chunk: Buffer) => void;
  /** Default 20. */
  maxRestartsPerMinute?: number;
  /** First retry delay after a worker died before joining; doubles up to 10 s. Default 100 ms. */
  restartBackoffMs?: number;
  /** How often the worker's RSS is read. Default 200 ms. */
  memoryPollMs?: number;
  /** Resident bytes of a process, or null when unknown. Default: VmRSS from /proc/<pid>/status. */
  rssProbe?: (pid: number) => number | null;
  /** How long a worker may take to join. Default 60 s. */
  startTimeoutMs?: number;
  log?: (level: "info" | "warn", msg: string) => void;
}

const MAX_BACKOFF_MS = 10_000;
const WINDOW_MS = 60_000;

/** VmRSS of `pid` in bytes, from /proc (Linux); null where unavailable. */
export function procRss(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "latin1"));
    return m === null ? null : Number(m[1]) * 1024;
  } catch {
    return null;
  }
}

function defaultLog(level: "info" | "warn", msg: string): void {
  if (level === "warn") process.stderr.write(msg + "\n");
}

export class Nanny {
  /** Resolves when the first incarnation has joined; rejects if it exits or times out first. */
  readonly started: Promise<{ address: string; name: string }>;
  /** Resolves once the nanny has stopped (closed, or its worker left on purpose). */
  readonly stopped: Promise<void>;
  /** Scratch directory handed to each incarnation as its local directory. */
  readonly directory: string;
  private current: WorkerProcess | null = null;
  private joined = false;
  private address_: string | null = null;
  private everJoined = false;
  private failures = 0;
  private restarts_ = 0;
  private readonly restartTimes: number[] = [];
  private restartTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private restarting = false;
  private closing: Promise<void> | null = null;
  private done = false;
  private resolveStopped!: () => void;
  private readonly log: (level: "info" | "warn", msg: string) => void;
  private readonly label: string;
  private readonly terminateBytes: number;
  private readonly env: Record<string, string | undefined>;

  constructor(private readonly opts: NannyOptions) {
    this.log = opts.log ?? defaultLog;
    this.label = opts.config.name ?? "worker";
    const parent = opts.config.localDirectory ?? tmpdir();
    mkdirSync(parent, { recursive: true });
    this.directory = mkdtempSync(join(parent, "skein-nanny-"));
    const f = { ...DEFAULT_MEMORY_FRACTIONS, ...(opts.memoryFractions ?? {}) };
    const limit = opts.config.memoryLimit ?? 0;
    this.terminateBytes = limit > 0 && f.terminate !== false ? f.terminate * limit : Infinity;
    this.env = { ...(opts.env ?? process.env) };
    for (const name of Object.keys(MEMORY_ENV) as (keyof MemoryFractions)[]) {
      const v = opts.memoryFractions?.[name];
      if (v !== undefined) this.env[MEMORY_ENV[name]] = String(v);
    }
    this.stopped = new Promise((resolve) => (this.resolveStopped = resolve));
    this.started = this.spawn().started;
    this.started.catch(() => {});
    const every = opts.memoryPollMs ?? 200;
    if (this.terminateBytes < Infinity) {
      this.pollTimer = setInterval(() => this.checkMemory(), every);
      this.pollTimer.unref();
    }
  }

  /** The live worker process, or null between incarnations. */
  get process(): ChildProcess | null {
    const c = this.current?.child;
    return c && c.exitCode === null && c.signalCode === null ? c : null;
  }

  /** Address of the current incarnation once it has joined, else null. */
  get address(): string | null {
    return this.joined ? this.address_ : null;
  }

  /** Restarts so far (deaths, memory kills and `restart()` calls). */
  get restarts(): number {
    return this.restarts_;
  }

  /** Kill the worker and start a fresh one (memory kill, or on request). */
  async restart(reason = "restart requested"): Promise<void> {
    const wp = this.current;
    if (this.closing || this.done || wp === null || this.restarting) return;
    this.restarting = true;
    this.log("warn", `skein nanny: restarting ${this.label} (pid ${wp.child.pid}): ${reason}`);
    await wp.stop(2000);
  }

  /** Stop supervising and stop the worker (SIGTERM, then SIGKILL after `graceMs`). */
  async close(graceMs = 5000): Promise<void> {
    this.stopSupervising();
    if (this.current !== null) await this.current.stop(graceMs);
    await this.closing;
  }

  /** Stop restarting; the nanny finishes once the current worker exits (`close` also stops it). */
  stopSupervising(): void {
    this.closing ??= (async () => {
      clearTimeout(this.restartTimer);
      clearInterval(this.pollTimer);
      if (this.current !== null) await this.current.exited;
      this.finish();
    })();
  }

  private spawn(): WorkerProcess {
    this.joined = false;
    this.restarting = false;
    const wp = spawnWorkerProcess({
      config: { ...this.opts.config, localDirectory: this.directory },
      token: this.opts.token,
      execArgv: this.opts.execArgv,
      env: this.env,
      startTimeoutMs: this.opts.startTimeoutMs,
      onStderr: this.opts.onStderr,
    });
    this.current = wp;
    wp.started.then(
      ({ address }) => {
        if (this.current !== wp) return;
        this.joined = true;
        this.everJoined = true;
        this.address_ = address;
        this.failures = 0;
      },
      () => {},
    );
    void wp.exited.then(({ code, signal }) => this.onExit(wp, code, signal));
    return wp;
  }

  private onExit(wp: WorkerProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.current !== wp) return;
    const wasJoined = this.joined;
    this.joined = false;
    this.cleanDirectory();
    if (this.closing || this.done) return;
    const how = signal ?? `exit code ${code}`;
    if (!this.restarting) {
      if (!this.everJoined) {
        this.log("warn", `skein nanny: ${this.label} exited before it first joined (${how}); not restarting`);
        this.current = null;
        this.finish();
        return;
      }
      if (code === 0 && signal === null) {
        this.log("info", `skein nanny: ${this.label} shut down on its own; the nanny stops too`);
        this.current = null;
        this.finish();
        return;
      }
      this.log("warn", `skein nanny: ${this.label} (pid ${wp.child.pid}) died (${how}); starting a new one`);
    }
    this.current = null;
    let delay = 0;
    if (!wasJoined && !this.restarting) {
      this.failures++;
      delay = Math.min(MAX_BACKOFF_MS, (this.opts.restartBackoffMs ?? 100) * 2 ** (this.failures - 1));
    }
    const now = Date.now();
    while (this.restartTimes.length > 0 && now - this.restartTimes[0] >= WINDOW_MS) this.restartTimes.shift();
    const max = this.opts.maxRestartsPerMinute ?? 20;
    if (this.restartTimes.length >= max) {
      const wait = this.restartTimes[0] + WINDOW_MS - now;
      if (wait > delay) delay = wait;
      this.log("warn", `skein nanny: ${this.label} restarted ${max} times within a minute; next restart in ${Math.ceil(delay / 1000)} s`);
    }
    this.restartTimer = setTimeout(() => {
      if (this.closing || this.done) return;
      this.restartTimes.push(Date.now());
      this.restarts_++;
      this.spawn();
    }, delay);
  }

  private checkMemory(): void {
    const wp = this.current;
    if (wp === null || this.restarting || this.closing || wp.child.pid === undefined) return;
    const rss = (this.opts.rssProbe ?? procRss)(wp.child.pid);
    if (rss === null || rss <= this.terminateBytes) return;
    const mb = (n: number): string => `${(n / 2 ** 20).toFixed(0)} MiB`;
    void this.restart(`process memory ${mb(rss)} is above the terminate threshold ${mb(this.terminateBytes)}`);
  }

  private cleanDirectory(): void {
    try {
      for (const entry of readdirSync(this.directory)) rmSync(join(this.directory, entry), { recursive: true, force: true });
    } catch {
      // Removed already (closing) or unreadable: nothing to clean.
    }
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.restartTimer);
    clearInterval(this.pollTimer);
    rmSync(this.directory, { recursive: true, force: true });
    this.resolveStopped();
  }
}
