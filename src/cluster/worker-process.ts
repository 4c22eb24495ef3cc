/**
 * Start one worker process (src/worker/main.ts) and learn where it listens. The single place
 * that spawns a worker for `skein worker` (and for a nanny that supervises one).
 *
 * Options travel as `SKEIN_WORKER_OPTIONS` (JSON) and the token as `SKEIN_TOKEN`, never in argv
 * (visible in `ps`). The child reports `{ op: "worker-started", address, name }` over an IPC
 * channel once the scheduler has welcomed it, and exits when that channel closes.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { SkeinError } from "../errors.js";

// Running from source (.ts) means children need the TypeScript loader too.
const ownFile = fileURLToPath(import.meta.url);

/** Node flags that shape how modules load or memory behaves, and are safe to pass to a worker. */
const INHERITED_FLAG = /^(--import|--require|-r|--loader|--experimental-loader|--conditions|-C|--enable-source-maps|--no-warnings|--disable-warning|--max-old-space-size|--max-semi-space-size|--stack-size|--expose-gc|--env-file|--(no-)?experimental-[\w-]+|--no-deprecation|--trace-warnings|--preserve-symlinks)(=|$)/;
const TAKES_VALUE = new Set(["--import", "--require", "-r", "--loader", "--experimental-loader", "--conditions", "-C", "--disable-warning", "--stack-size", "--env-file"]);

/**
 * Flags a child needs to load code as this process does (`--import tsx`, `--conditions`), and
 * nothing else: `-e`, `--test`, `--watch`, `--inspect` and friends would make a worker run
 * something other than the worker, so only known loader / memory flags are kept.
 */
export function childExecArgv(base: readonly string[] = process.execArgv): string[] {
  const out: string[] = [];
  for (let i = 0; i < base.length; i++) {
    const a = base[i];
    if (!INHERITED_FLAG.test(a)) continue;
    out.push(a);
    if (TAKES_VALUE.has(a) && i + 1 < base.length) out.push(base[++i]);
  }
  const hasTsx = out.some((a) => /tsx/.test(a));
  if (ownFile.endsWith(".ts") && !hasTsx) out.push("--import", "tsx");
  return out;
}

/** What a worker process is told (the JSON form of src/worker/options.ts). */
export interface WorkerProcessConfig {
  scheduler: string;
  /** Listen address for peers, e.g. tcp://10.0.0.2:0. */
  listen?: string;
  nthreads: number;
  name?: string;
  memoryLimit?: number;
  resources?: Record<string, number>;
  heartbeatMs?: number;
  /** Directory for spilled results and scratch files. */
  localDirectory?: string;
  /** PEM file paths for tls:// addresses. */
  tls?: { ca: string; cert: string; key: string };
}

export interface WorkerProcessOptions {
  config: WorkerProcessConfig;
  token?: string;
  /** Node flags; default: this process's loader flags (see childExecArgv). */
  execArgv?: string[];
  /** Extra environment; default: this process's. */
  env?: Record<string, string | undefined>;
  /** How long to wait for "worker-started". Default 60 s. */
  startTimeoutMs?: number;
  /** Where the child's stderr goes: "inherit" (default) or a callback per chunk. */
  onStderr?: (chunk: Buffer) => void;
}

export interface WorkerProcess {
  readonly child: ChildProcess;
  /** Resolves once the worker joined the scheduler; rejects if it exits or times out first. */
  readonly started: Promise<{ address: string; name: string }>;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL after `graceMs` (default 5 s); resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

export const workerMainPath = ownFile.replace(/cluster[\\/]worker-process\.(ts|js)$/, (_m, ext: string) => `worker/main.${ext}`);

export function spawnWorkerProcess(opts: WorkerProcessOptions): WorkerProcess {
  const env: Record<string, string | undefined> = { ...(opts.env ?? process.env), SKEIN_WORKER_OPTIONS: JSON.stringify(opts.config) };
  if (opts.token !== undefined) env.SKEIN_TOKEN = opts.token;
  else delete env.SKEIN_TOKEN;
  // --expose-gc: the worker collects after releasing many bytes of shared results (worker/collect.ts).
  const execArgv = childExecArgv(opts.execArgv);
  if (!execArgv.includes("--expose-gc")) execArgv.push("--expose-gc");
  const child = spawn(process.execPath, [...execArgv, workerMainPath], {
    env,
    stdio: ["ignore", "inherit", opts.onStderr ? "pipe" : "inherit", "ipc"],
  });
  let stderrTail = "";
  child.stderr?.on("data", (b: Buffer) => {
    stderrTail = (stderrTail + b.toString()).slice(-2000);
    opts.onStderr?.(b);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });
  const label = opts.config.name ?? "worker";
  const timeoutMs = opts.startTimeoutMs ?? 60_000;
  const started = new Promise<{ address: string; name: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new SkeinError(`skein worker: ${label} did not join ${opts.config.scheduler} within ${timeoutMs} ms`)), timeoutMs);
    child.on("message", (m: unknown) => {
      const msg = m as { op?: unknown; address?: unknown; name?: unknown } | null;
      if (msg?.op !== "worker-started" || typeof msg.address !== "string") return;
      clearTimeout(timer);
      resolve({ address: msg.address, name: String(msg.name ?? msg.address) });
    });
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(new SkeinError(`skein worker: cannot start a worker process: ${err.message}`));
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      const tail = stderrTail.trim();
      reject(new SkeinError(`skein worker: ${label} exited before joining (${signal ?? `exit code ${code}`})${tail ? `: ${tail}` : ""}`));
    });
  });
  // `started` may be observed late (or never, when the caller only awaits `exited`).
  started.catch(() => {});
  const stop = async (graceMs = 5000): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    }
  };
  return { child, started, exited, stop };
}
