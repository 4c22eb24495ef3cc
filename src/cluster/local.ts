/**
 * LocalCluster: a scheduler in this process plus N workers, as worker processes (default,
 * isolation) or as workers inside this process (`processes: false`, lowest overhead).
 *
 * Worker processes are supervised by nannies (nanny.ts) unless `nanny: false`: a worker that
 * dies or passes its memory `terminate` fraction is replaced by a fresh process, which joins
 * the scheduler as a new worker.
 */
import type { ChildProcess } from "node:child_process";
import { availableParallelism, totalmem } from "node:os";
import { Dashboard, type DashboardOptions } from "../dashboard/server.js";
import { SkeinError } from "../errors.js";
import { SchedulerServer } from "../scheduler/server.js";
import type { MemoryFractions } from "../worker/memory.js";
import { WorkerServer } from "../worker/server.js";
import { Nanny } from "./nanny.js";
import { spawnWorkerProcess, type WorkerProcess } from "./worker-process.js";

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
  /** How long the scheduler keeps a dropped client's keys for it to reconnect. Default 30 s. */
  clientGraceMs?: number;
  /** Node flags for worker processes. Default: this process's own (so `--import tsx` carries over). */
  execArgv?: string[];
  /** How long to wait for the workers to join. Default 60 s. */
  startTimeoutMs?: number;
  /** Worker deaths a task may be caught in before it fails with KilledWorker. Default 3. */
  allowedFailures?: number;
  /** Supervise worker processes with nannies that replace dead ones (default true; processes only). */
  nanny?: boolean;
  /** Restarts one nanny may make per minute (default 20). */
  maxRestartsPerMinute?: number;
  /** Fractions of memoryLimit (dask's defaults 0.6 / 0.7 / 0.8 / 0.95; false disables one). */
  memoryTarget?: number | false;
  memorySpill?: number | false;
  memoryPause?: number | false;
  memoryTerminate?: number | false;
  /** Parent directory for workers' spill files. Default os.tmpdir(). */
  localDirectory?: string;
  /**
   * The live dashboard: on by default at port 8787 (a free port when taken), its URL printed
   * once on stderr; `false` turns it off, `{ port, host }` moves it.
   */
  dashboard?: boolean | DashboardOptions;
}

function fractionsOf(o: LocalClusterOptions): Partial<Record<keyof MemoryFractions, number | false>> {
  const f: Partial<Record<keyof MemoryFractions, number | false>> = {};
  if (o.memoryTarget !== undefined) f.target = o.memoryTarget;
  if (o.memorySpill !== undefined) f.spill = o.memorySpill;
  if (o.memoryPause !== undefined) f.pause = o.memoryPause;
  if (o.memoryTerminate !== undefined) f.terminate = o.memoryTerminate;
  return f;
}

let clusterCounter = 0;

export class LocalCluster {
  private readonly children: WorkerProcess[] = [];
  private readonly nannies: Nanny[] = [];
  private readonly inprocWorkers: WorkerServer[] = [];
  private closed = false;
  private dashboard: Dashboard | undefined;

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
      clientGraceMs: options.clientGraceMs,
      allowedFailures: options.allowedFailures,
    });
    const cluster = new LocalCluster(scheduler, { nWorkers, threadsPerWorker, memoryLimit, processes });
    try {
      if (options.dashboard !== false) {
        const d = await Dashboard.start(scheduler, { host: options.host, ...(options.dashboard === true ? {} : options.dashboard) });
        cluster.dashboard = d;
        process.stderr.write(`skein dashboard at ${d.url}${d.fellBack ? ` (port ${d.requestedPort} was taken)` : ""}\n`);
      }
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

  /** The dashboard's URL (http://host:port/status), or undefined when it is off. */
  get dashboardLink(): string | undefined {
    return this.dashboard?.url;
  }

  /** Address for a client in this process (no sockets, no serialization). */
  get inprocAddress(): string {
    return this.scheduler.address("inproc");
  }

  /**
   * Live worker processes (empty with `processes: false`); tests kill them to check recovery.
   * With nannies, a killed worker's replacement appears here once spawned.
   */
  get processes(): readonly ChildProcess[] {
    if (this.nannies.length > 0) {
      const out: ChildProcess[] = [];
      for (const n of this.nannies) {
        const c = n.process;
        if (c !== null) out.push(c);
      }
      return out;
    }
    return this.children.map((w) => w.child);
  }

  /** The nannies supervising the worker processes (empty without them). */
  get workerNannies(): readonly Nanny[] {
    return this.nannies;
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
      this.inprocWorkers.push(
        await WorkerServer.start({
          ...workerOpts,
          listen: `inproc://skein-worker-${id}-${i}`,
          // Process memory is shared by every in-process worker (and the client), so it says
          // nothing about one worker: only the managed-memory rule (target) applies by default.
          memoryFractions: { spill: false, pause: false, terminate: false, ...fractionsOf(options) },
          ...(options.localDirectory !== undefined ? { localDirectory: options.localDirectory } : {}),
        }),
      );
      return;
    }
    const config = { ...workerOpts, ...(options.localDirectory !== undefined ? { localDirectory: options.localDirectory } : {}) };
    const onStderr = (b: Buffer): void => void process.stderr.write(b);
    const startTimeoutMs = options.startTimeoutMs ?? 60_000;
    if (options.nanny ?? true) {
      this.nannies.push(
        new Nanny({
          config,
          memoryFractions: fractionsOf(options),
          execArgv: options.execArgv,
          onStderr,
          startTimeoutMs,
          maxRestartsPerMinute: options.maxRestartsPerMinute,
        }),
      );
      return;
    }
    const env: Record<string, string | undefined> = { ...process.env };
    const f = fractionsOf(options);
    for (const [name, v] of Object.entries(f)) env[`SKEIN_MEMORY_${name.toUpperCase()}`] = String(v);
    this.children.push(spawnWorkerProcess({ config, execArgv: options.execArgv, env, onStderr, startTimeoutMs }));
  }

  private async waitForWorkers(n: number, timeoutMs: number): Promise<void> {
    // A process that exits before joining fails the start at once, with its stderr.
    await Promise.all([...this.children.map((w) => w.started), ...this.nannies.map((x) => x.started)]);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.scheduler.waitForWorkers(n),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new SkeinError(`skein LocalCluster: only ${this.scheduler.nWorkers} of ${n} workers started within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const n of this.nannies) n.stopSupervising();
    await this.scheduler.close();
    await Promise.all(this.inprocWorkers.map((w) => w.close()));
    // Workers leave when the scheduler closes; SIGKILL any that have not within 5 s.
    await Promise.all([...this.children.map((w) => exitWithin(w, 5000)), ...this.nannies.map((x) => x.close(5000))]);
  }
}

async function exitWithin(w: WorkerProcess, ms: number): Promise<void> {
  const c = w.child;
  if (c.exitCode !== null || c.signalCode !== null) return;
  const kill = setTimeout(() => c.kill("SIGKILL"), ms);
  await w.exited;
  clearTimeout(kill);
}
