/**
 * `skein mpi script.js [args]`: a whole skein cluster inside one MPI or Slurm job, the dask-mpi
 * pattern. Every rank runs the same command; the launcher's environment says which rank this is:
 *
 *   rank 0     the scheduler; writes the scheduler file (address + a fresh token, mode 0600)
 *   rank 1     waits for the workers, runs the user's script with SKEIN_SCHEDULER_FILE set (so
 *              `Client.connect()` joins this cluster), then tells rank 0 to stop
 *   rank >= 2  one worker each, in the rank's own process
 *
 * No MPI library is used: ranks meet through files. The scheduler file (default: in the temp
 * directory, named by the job id, so single-node jobs need no flag; give `--scheduler-file` on a
 * shared filesystem for multi-node jobs) and, next to it, `<file>.exit`, which rank 1 writes with
 * the script's exit code. Rank 0 then closes the scheduler, which tells every worker to stop, and
 * removes the scheduler file; rank 1 waits for that, then exits with the script's code.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFile, rm, stat, writeFile } from "node:fs/promises";
import { availableParallelism, constants, tmpdir } from "node:os";
import { join, resolve as resolvePath } from "node:path";
import { Client } from "../client/client.js";
import { childExecArgv } from "../cluster/worker-process.js";
import { writeSchedulerFile, type SchedulerFileInfo } from "../cluster/scheduler-file.js";
import { formatSocketAddress, parseSocketAddress, setCommLogger } from "../comm/index.js";
import { lineLog, type Logger } from "../log.js";
import { WorkerServer } from "../worker/server.js";
import { interfaceAddress, localAddressToward } from "./network.js";
import { CliError, parseMemoryLimit } from "./parse.js";
import { runScheduler } from "./scheduler.js";

/** This process's place in the job, from the launcher's environment. */
export interface MpiPlace {
  rank: number;
  size: number;
  /** Ranks on this node (divides the cores and memory among them). */
  localSize: number;
  /** Identifies the job (and step): names the default scheduler file and marks it as this job's. */
  jobId: string | undefined;
}

// Open MPI, MPICH / Intel MPI (PMI), PMIx launchers, Slurm's srun, MVAPICH: first found wins.
const RANK_VARS = ["OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK", "SLURM_PROCID", "MV2_COMM_WORLD_RANK"];
const SIZE_VARS = ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_NTASKS", "SLURM_NPROCS", "MV2_COMM_WORLD_SIZE"];
const LOCAL_SIZE_VARS = ["OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS_PER_NODE", "MV2_COMM_WORLD_LOCAL_SIZE"];

function firstInt(env: NodeJS.ProcessEnv, names: readonly string[]): { name: string; value: number } | undefined {
  for (const name of names) {
    const text = env[name];
    if (text === undefined || text === "") continue;
    const value = /^[0-9]+$/.test(text.trim()) ? Number(text) : NaN;
    if (!Number.isSafeInteger(value)) throw new CliError(`skein mpi: ${name} must be a non-negative integer, got ${JSON.stringify(text)}`);
    return { name, value };
  }
  return undefined;
}

export function mpiPlace(env: NodeJS.ProcessEnv = process.env): MpiPlace {
  const rank = firstInt(env, RANK_VARS);
  const size = firstInt(env, SIZE_VARS);
  if (rank === undefined || size === undefined) {
    throw new CliError(
      `skein mpi: no MPI or Slurm rank/size in the environment (looked for ${RANK_VARS.join(", ")} and ${SIZE_VARS.join(", ")}); ` +
        "start it with mpirun -n N or srun -n N",
    );
  }
  if (size.value < 3) throw new CliError(`skein mpi: needs at least 3 ranks (scheduler, script, one worker), got ${size.name}=${size.value}`);
  if (rank.value >= size.value) throw new CliError(`skein mpi: rank ${rank.value} (${rank.name}) is not below the size ${size.value} (${size.name})`);
  const local = firstInt(env, LOCAL_SIZE_VARS);
  const slurmJob = env.SLURM_JOB_ID ? `${env.SLURM_JOB_ID}.${env.SLURM_STEP_ID ?? "0"}` : undefined;
  const jobId = env.PMIX_NAMESPACE || env.OMPI_MCA_ess_base_jobid || slurmJob || env.PMI_JOBID || undefined;
  return { rank: rank.value, size: size.value, localSize: Math.max(1, local?.value ?? 1), jobId };
}

export interface MpiCommandOptions {
  script: string;
  args: readonly string[];
  /** Where the ranks meet; default `<tmpdir>/skein-mpi-<job id>.json`. */
  schedulerFile?: string;
  /** The scheduler's listen host; default loopback when every rank is on this node, else all interfaces. */
  host?: string;
  /** Listen on this interface's IPv4 address (scheduler and workers), e.g. ib0. */
  iface?: string;
  port: number;
  /** Threads per worker; default the node's cores divided among its ranks. */
  nthreads?: number;
  memoryLimit: string;
  localDirectory?: string;
  /** Default: a fresh random token, shared through the (0600) scheduler file. */
  token?: string;
  /** How long ranks wait for the scheduler file, rank 1 for the workers, and rank 1 for the shutdown. */
  timeoutMs: number;
  /** Rank 0's dashboard (as `skein scheduler`'s): a port, or false for none. Default on, 8787. */
  dashboard?: false | { port: number };
  logger: Logger;
  env?: NodeJS.ProcessEnv;
}

type JobFile = SchedulerFileInfo & { job?: string };

/** Run this rank's part; resolves to the exit code this process should end with. */
export async function runMpi(o: MpiCommandOptions): Promise<number> {
  const env = o.env ?? process.env;
  const place = mpiPlace(env);
  if (o.schedulerFile === undefined && place.jobId === undefined) {
    throw new CliError("skein mpi: cannot tell this job's id from the environment: give --scheduler-file (on a filesystem every rank sees)");
  }
  const file = resolvePath(o.schedulerFile ?? join(tmpdir(), `skein-mpi-${place.jobId!.replace(/[^\w.-]/g, "_")}.json`));
  const log = o.logger.child({ rank: place.rank });
  // Comm warnings (bad frames, refused peers) of every rank go to the same log.
  setCommLogger(lineLog(log));
  if (place.rank === 0) return runSchedulerRank(o, place, file, log);
  if (place.rank === 1) return runScriptRank(o, place, file, log);
  return runWorkerRank(o, place, file, log);
}

async function runSchedulerRank(o: MpiCommandOptions, place: MpiPlace, file: string, log: Logger): Promise<number> {
  const exitFile = `${file}.exit`;
  // Left over from an earlier job with the same file: readers must not see them.
  await rm(file, { force: true });
  await rm(exitFile, { force: true });
  const host = o.iface !== undefined ? interfaceAddress(o.iface) : (o.host ?? (place.localSize >= place.size ? "127.0.0.1" : "0.0.0.0"));
  const token = o.token ?? randomBytes(24).toString("hex");
  const sched = await runScheduler({ host, port: o.port, token, insecure: false, logger: o.logger, ...(o.dashboard !== undefined ? { dashboard: o.dashboard } : {}) });
  const info: JobFile = {
    address: sched.address,
    token,
    pid: process.pid,
    ...(sched.dashboardUrl !== undefined ? { dashboard: sched.dashboardUrl } : {}),
    ...(place.jobId !== undefined ? { job: place.jobId } : {}),
  };
  await writeSchedulerFile(file, info);
  const dash = sched.dashboardUrl !== undefined ? `, dashboard at ${sched.dashboardUrl}` : "";
  log.info({ address: sched.address, schedulerFile: file, dashboard: sched.dashboardUrl }, `skein mpi: rank 0 runs the scheduler at ${sched.address}${dash}`);
  const code = await new Promise<number>((resolve) => {
    const timer = setInterval(() => {
      void readFile(exitFile, "utf8").then(
        (text) => {
          clearInterval(timer);
          log.info(`skein mpi: the script exited (${text.trim()}); stopping the cluster`);
          resolve(0);
        },
        () => {},
      );
    }, 100);
    onStopSignal(() => {
      clearInterval(timer);
      resolve(1);
    });
  });
  await sched.close();
  await rm(file, { force: true });
  await rm(exitFile, { force: true });
  return code;
}

async function runScriptRank(o: MpiCommandOptions, place: MpiPlace, file: string, log: Logger): Promise<number> {
  const info = await waitForJobFile(file, place.jobId, o.timeoutMs);
  const nworkers = place.size - 2;
  // The script starts with every worker joined, so `client.nthreads()` sees the whole job.
  const client = await Client.connect({ address: info.address, token: info.token, name: "skein-mpi" });
  try {
    const deadline = Date.now() + o.timeoutMs;
    let joined = (await client.workers()).length;
    while (joined < nworkers && Date.now() < deadline) {
      await delay(100);
      joined = (await client.workers()).length;
    }
    if (joined < nworkers) log.warn(`skein mpi: only ${joined} of ${nworkers} workers joined within ${o.timeoutMs} ms; running the script anyway`);
  } finally {
    await client.close();
  }
  const script = resolvePath(o.script);
  const execArgv = childExecArgv();
  if (/\.[cm]?ts$/.test(script) && !execArgv.some((a) => /tsx/.test(a))) execArgv.push("--import", "tsx");
  log.info(`skein mpi: rank 1 runs ${script} against ${info.address} (${nworkers} workers)`);
  const child = spawn(process.execPath, [...execArgv, script, ...o.args], {
    stdio: "inherit",
    env: { ...(o.env ?? process.env), SKEIN_SCHEDULER_FILE: file },
  });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on("SIGINT", forward);
  process.on("SIGTERM", forward);
  const code = await new Promise<number>((resolve) => {
    child.once("error", (err) => {
      log.error(`skein mpi: cannot start ${script}: ${err.message}`);
      resolve(127);
    });
    child.once("exit", (c, signal) => resolve(c ?? 128 + signalNumber(signal)));
  });
  process.off("SIGINT", forward);
  process.off("SIGTERM", forward);
  await writeFile(`${file}.exit`, `${code}\n`);
  // Rank 0 removes the scheduler file once the cluster is down.
  if (!(await waitForRemoval(file, o.timeoutMs))) log.warn(`skein mpi: the scheduler did not stop within ${o.timeoutMs} ms`);
  return code;
}

async function runWorkerRank(o: MpiCommandOptions, place: MpiPlace, file: string, log: Logger): Promise<number> {
  const info = await waitForJobFile(file, place.jobId, o.timeoutMs);
  const target = parseSocketAddress("tcp", info.address);
  const host = o.iface !== undefined ? interfaceAddress(o.iface) : await localAddressToward(target.host, target.port);
  const name = `rank-${place.rank}`;
  // As worker processes do (src/worker/main.ts): tasks can tell which worker runs them.
  process.env.SKEIN_WORKER_NAME = name;
  let worker: WorkerServer;
  try {
    worker = await WorkerServer.start({
      scheduler: info.address,
      listen: formatSocketAddress("tcp", host, 0),
      nthreads: o.nthreads ?? Math.max(1, Math.floor(availableParallelism() / place.localSize)),
      name,
      memoryLimit: parseMemoryLimit(o.memoryLimit, place.localSize),
      ...(info.token !== undefined ? { token: info.token } : {}),
      ...(o.localDirectory !== undefined ? { localDirectory: resolvePath(o.localDirectory) } : {}),
      log: lineLog(log),
    });
  } catch (err) {
    // The job ended before this worker joined (a script quicker than the launcher): not a failure.
    if (await exists(`${file}.exit`)) return 0;
    throw err;
  }
  log.info(`skein mpi: rank ${place.rank} runs worker ${worker.name} at ${worker.address}`);
  onStopSignal(() => void worker.close("signal"));
  await worker.closed;
  return 0;
}

/** The job's scheduler file, once it exists and (when the job id is known) belongs to this job. */
async function waitForJobFile(file: string, jobId: string | undefined, timeoutMs: number): Promise<JobFile> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const info = JSON.parse(await readFile(file, "utf8")) as JobFile;
      if (typeof info.address === "string" && (jobId === undefined || info.job === undefined || info.job === jobId)) return info;
    } catch {
      // Not there yet (the write is atomic, so never half there).
    }
    if (Date.now() >= deadline) throw new CliError(`skein mpi: scheduler file "${file}" did not appear within ${timeoutMs} ms (is rank 0 running, and is the file on a filesystem every rank sees?)`);
    await delay(50);
  }
}

async function waitForRemoval(file: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (await exists(file)) {
    if (Date.now() >= deadline) return false;
    await delay(50);
  }
  return true;
}

function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function onStopSignal(fn: () => void): void {
  process.once("SIGINT", fn);
  process.once("SIGTERM", fn);
}

function signalNumber(signal: NodeJS.Signals | null): number {
  const n = signal ? (constants.signals as Record<string, number | undefined>)[signal] : undefined;
  return n ?? 0;
}
