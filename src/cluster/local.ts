/**
 * LocalCluster: a scheduler in this process plus N workers, as worker processes (default,
 * isolation) or as workers inside this process (`processes: false`, lowest overhead).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { availableParallelism, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import { SkeinError } from "../errors.js";
import { SchedulerServer } from "../scheduler/server.js";
import { WorkerServer } from "../worker/server.js";

export interface LocalClusterOptions {
  /** Number of workers. Default: one per core. */
  nWorkers?: number;
  /** Task threads per worker. Default 1. */
  threadsPerWorker?: number;
  /** Bytes per worker; default: the machine's memory divided among the workers. */
  memoryLimit?: number;
  /** Worker processes (true, default) or workers inside this process (false). */
  processes?: boolean;
  /** Abstract resources every worker advertises, e.g. { GPU: 1 }. */
  resources?: Record<string, number>;
  /** Host the scheduler's TCP listener binds to. Default 127.0.0.1. */
  host?: string;
  /** Port for the scheduler's TCP listener. Default 0 (any free port). */
  port?: number;
  /** Seconds of silence after which a worker is declared dead. Default 30. */
  heartbeatTimeoutMs?: number;
  /** Node flags for worker processes. Default: this process's own (so `--import tsx` carries over). */
  execArgv?: string[];
  /** How long to wait for the workers to join. Default 60 s. */
  startTimeoutMs?: number;
}

let clusterCounter = 0;

const ownFile = fileURLToPath(import.meta.url);
const workerMain = ownFile.replace(/cluster[\\/]local\.(ts|js)$/, (_m, ext: string) => `worker/main.${ext}`);

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

export class LocalCluster {
  private readonly children: ChildProcess[] = [];
  private readonly inprocWorkers: WorkerServer[] = [];
  private closed = false;

  private constructor(
    readonly scheduler: SchedulerServer,
    readonly opts: Required<Pick<LocalClusterOptions, "nWorkers" | "threadsPerWorker" | "memoryLimit" | "processes">>,
  ) {}

  static async start(options: LocalClusterOptions = {}): Promise<LocalCluster> {
    const nWorkers = options.nWorkers ?? availableParallelism();
    const threadsPerWorker = options.threadsPerWorker ?? 1;
    const processes = options.processes ?? true;
    const memoryLimit = options.memoryLimit ?? Math.floor(totalmem() / Math.max(1, nWorkers));
    if (!Number.isInteger(nWorkers) || nWorkers < 0) throw new SkeinError(`skein LocalCluster: nWorkers must be a non-negative integer, got ${nWorkers}`);
    if (!Number.isInteger(threadsPerWorker) || threadsPerWorker < 1) throw new SkeinError(`skein LocalCluster: threadsPerWorker must be a positive integer, got ${threadsPerWorker}`);
    const id = `${process.pid}-${++clusterCounter}`;
    const scheduler = await SchedulerServer.start({
      listen: [`tcp://${options.host ?? "127.0.0.1"}:${options.port ?? 0}`, `inproc://skein-scheduler-${id}`],
      heartbeatTimeoutMs: options.heartbeatTimeoutMs,
    });
    const cluster = new LocalCluster(scheduler, { nWorkers, threadsPerWorker, memoryLimit, processes });
    try {
      for (let i = 0; i < nWorkers; i++) await cluster.addWorker(options, i, id);
      await cluster.waitForWorkers(nWorkers, options.startTimeoutMs ?? 60_000);
    } catch (err) {
      await cluster.close();
      throw err;
    }
    return cluster;
  }

  /** Address for workers and clients in other processes. */
  get address(): string {
    return this.scheduler.address("tcp");
  }

  /** Address for a client in this process (no sockets, no serialization). */
  get inprocAddress(): string {
    return this.scheduler.address("inproc");
  }

  /** Worker processes (empty with `processes: false`); tests kill them to check recovery. */
  get processes(): readonly ChildProcess[] {
    return this.children;
  }

  private async addWorker(options: LocalClusterOptions, i: number, id: string): Promise<void> {
    const workerOpts = {
      scheduler: this.opts.processes ? this.address : this.inprocAddress,
      nthreads: this.opts.threadsPerWorker,
      name: `worker-${i}`,
      memoryLimit: this.opts.memoryLimit,
      resources: options.resources ?? {},
    };
    if (!this.opts.processes) {
      this.inprocWorkers.push(await WorkerServer.start({ ...workerOpts, listen: `inproc://skein-worker-${id}-${i}` }));
      return;
    }
    const child = spawn(process.execPath, [...childExecArgv(options.execArgv), workerMain], {
      env: { ...process.env, SKEIN_WORKER_OPTIONS: JSON.stringify(workerOpts) },
      stdio: ["ignore", "inherit", "pipe"],
    });
    let stderr = "";
    child.stderr!.on("data", (b: Buffer) => {
      stderr = (stderr + b.toString()).slice(-4000);
      process.stderr.write(b);
    });
    child.once("exit", (code, signal) => {
      if (!this.closed && code !== 0) (child as ChildProcess & { exitInfo?: string }).exitInfo = `exit code ${code ?? signal}: ${stderr.trim()}`;
    });
    this.children.push(child);
  }

  private waitForWorkers(n: number, timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new SkeinError(`skein LocalCluster: only ${this.scheduler.nWorkers} of ${n} workers started within ${timeoutMs} ms`)), timeoutMs);
      const onExit = (child: ChildProcess) => () => {
        if (this.scheduler.nWorkers >= n) return;
        clearTimeout(timer);
        const info = (child as ChildProcess & { exitInfo?: string }).exitInfo ?? `exit code ${child.exitCode}`;
        reject(new SkeinError(`skein LocalCluster: a worker process exited before joining (${info})`));
      };
      for (const c of this.children) c.once("exit", onExit(c));
      this.scheduler.waitForWorkers(n).then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const exits = this.children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          const kill = setTimeout(() => c.kill("SIGKILL"), 5000);
          c.once("exit", () => {
            clearTimeout(kill);
            resolve();
          });
        }),
    );
    await this.scheduler.close();
    await Promise.all(this.inprocWorkers.map((w) => w.close()));
    await Promise.all(exits);
  }
}
