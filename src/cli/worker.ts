/**
 * `skein worker`: N worker processes joined to one scheduler, each announced on stdout. Exits
 * when they all have (the scheduler went away), and stops them on SIGINT/SIGTERM.
 */
import { mkdir, stat } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { resolve as resolvePath } from "node:path";
import { formatSocketAddress, parseSocketAddress, type TlsFiles } from "../comm/index.js";
import { readSchedulerFile, type SchedulerFileInfo } from "../cluster/scheduler-file.js";
import { Nanny } from "../cluster/nanny.js";
import type { WorkerProcessConfig } from "../cluster/worker-process.js";
import { interfaceAddress, localAddressToward } from "./network.js";
import { CliError, parseMemoryLimit, parseResources } from "./parse.js";
import type { LineLog } from "../log.js";

export interface WorkerCommandOptions {
  /** Scheduler address (tcp:// or tls://); or `schedulerFile`. */
  scheduler?: string;
  schedulerFile?: string;
  nworkers: number;
  /** Threads per worker; default: the cores divided among the workers. */
  nthreads?: number;
  /** "auto", bytes, "4GB", a fraction; see parseMemoryLimit. */
  memoryLimit: string;
  resources?: string;
  name?: string;
  localDirectory?: string;
  /** Bind to this interface's IPv4 address. */
  iface?: string;
  /** Bind to this host (default: the local address that reaches the scheduler). */
  host?: string;
  token?: string;
  tls?: TlsFiles;
  heartbeatMs?: number;
  /** How long to wait for the scheduler file and for each worker to join. */
  timeoutMs: number;
  /** Called with each worker's line once it joined. */
  onStarted?: (line: string) => void;
  /** Called once the processes exist, with the function that stops them (for signal handlers). */
  onSpawned?: (stop: () => Promise<void>) => void;
  /** The nannies' log (restarts, deaths); default: warnings as plain lines on stderr. */
  log?: LineLog;
}

export interface RunningWorkers {
  /** One nanny per worker process: it restarts a worker that dies or passes `terminate`. */
  readonly nannies: readonly Nanny[];
  readonly workers: readonly { address: string; name: string }[];
  /** Resolves once every nanny has stopped (its worker left on purpose, or stop()). */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

/** Wait for a scheduler file to appear (the scheduler may start after its workers, as in Dask). */
async function waitForSchedulerFile(path: string, timeoutMs: number): Promise<SchedulerFileInfo> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const exists = await stat(path).then(() => true, () => false);
    if (exists) return readSchedulerFile(path);
    if (Date.now() >= deadline) throw new CliError(`skein worker: scheduler file "${path}" did not appear within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function runWorkers(o: WorkerCommandOptions): Promise<RunningWorkers> {
  if ((o.scheduler === undefined) === (o.schedulerFile === undefined)) {
    throw new CliError("skein worker: give the scheduler's address (skein worker tcp://host:8786) or --scheduler-file, not both");
  }
  if (o.iface !== undefined && o.host !== undefined) throw new CliError("skein worker: --interface and --host are exclusive");
  let scheduler = o.scheduler;
  let token = o.token;
  if (o.schedulerFile !== undefined) {
    const info = await waitForSchedulerFile(o.schedulerFile, o.timeoutMs);
    scheduler = info.address;
    token ??= info.token;
  }
  const scheme = scheduler!.startsWith("tls://") ? "tls" : scheduler!.startsWith("tcp://") ? "tcp" : undefined;
  if (scheme === undefined) throw new CliError(`skein worker: the scheduler address must be tcp://host:port or tls://host:port, got ${JSON.stringify(scheduler)}`);
  const target = parseSocketAddress(scheme, scheduler!);
  if (scheme === "tls" && o.tls === undefined) throw new CliError(`skein worker: ${scheduler} is a TLS address: give --tls-cert, --tls-key and --tls-ca`);
  const host = o.iface !== undefined ? interfaceAddress(o.iface) : (o.host ?? (await localAddressToward(target.host, target.port)));
  const nthreads = o.nthreads ?? Math.max(1, Math.floor(availableParallelism() / o.nworkers));
  const memoryLimit = parseMemoryLimit(o.memoryLimit, o.nworkers);
  const resources = o.resources !== undefined ? parseResources(o.resources) : undefined;
  let localDirectory: string | undefined;
  if (o.localDirectory !== undefined) {
    localDirectory = resolvePath(o.localDirectory);
    await mkdir(localDirectory, { recursive: true });
  }

  const nannies: Nanny[] = [];
  for (let i = 0; i < o.nworkers; i++) {
    const config: WorkerProcessConfig = {
      scheduler: scheduler!,
      listen: formatSocketAddress(scheme, host, 0),
      nthreads,
      memoryLimit,
      ...(o.name !== undefined ? { name: o.nworkers === 1 ? o.name : `${o.name}-${i}` } : {}),
      ...(resources ? { resources } : {}),
      ...(localDirectory ? { localDirectory } : {}),
      ...(o.tls ? { tls: o.tls } : {}),
      ...(o.heartbeatMs !== undefined ? { heartbeatMs: o.heartbeatMs } : {}),
    };
    nannies.push(new Nanny({ config, token, startTimeoutMs: o.timeoutMs, ...(o.log ? { log: o.log } : {}) }));
  }
  const stop = async (): Promise<void> => {
    await Promise.all(nannies.map((n) => n.close()));
  };
  o.onSpawned?.(stop);
  const workers: { address: string; name: string }[] = [];
  try {
    for (const n of nannies) {
      const w = await n.started;
      workers.push(w);
      o.onStarted?.(`skein worker ${w.name} listening at ${w.address} (scheduler ${scheduler})`);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const done = Promise.all(nannies.map((n) => n.stopped)).then(() => {});
  return { nannies, workers, done, stop };
}
