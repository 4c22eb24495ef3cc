#!/usr/bin/env node
/**
 * The `skein` command: `skein scheduler ...` and `skein worker ...` (see `skein <command> --help`).
 * Runs from dist (`npx skein`, package.json `bin`) or from source (`node --import tsx src/cli/main.ts`).
 */
import { Command, Option } from "commander";
import type { TlsFiles } from "../comm/index.js";
import { CliError, parseCount, parsePort, parseSeconds } from "./parse.js";
import { addPredictCommand } from "./predict.js";
import { createLogger, lineLog, logSettings, resolveLogFormat } from "../log.js";
import { announceLines, runScheduler } from "./scheduler.js";
import { runWorkers } from "./worker.js";
import { runMpi } from "./mpi.js";

interface TlsFlags {
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
}

function tlsFiles(command: string, f: TlsFlags): TlsFiles | undefined {
  const given = [f.tlsCert, f.tlsKey, f.tlsCa].filter((v) => v !== undefined).length;
  if (given === 0) return undefined;
  if (given < 3) throw new CliError(`skein ${command}: TLS needs all three of --tls-cert, --tls-key and --tls-ca`);
  return { cert: f.tlsCert!, key: f.tlsKey!, ca: f.tlsCa! };
}

function addTlsOptions(cmd: Command): Command {
  return cmd
    .option("--tls-cert <file>", "this end's certificate (PEM); with --tls-key and --tls-ca, switches to tls:// with mutual certificates")
    .option("--tls-key <file>", "the private key of --tls-cert (PEM)")
    .option("--tls-ca <file>", "the CA (PEM) that signs every certificate of the cluster");
}

function addLogOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option("--log-level <level>", "least severe log level written: trace, debug, info, warn, error, fatal, silent (default: info)").env("SKEIN_LOG_LEVEL"))
    .addOption(new Option("--log-format <format>", "log records on stderr as json (one object per line), text, or auto: text on a terminal, json otherwise (default: auto)").env("SKEIN_LOG_FORMAT"));
}

interface LogFlags {
  logLevel?: string;
  logFormat?: string;
}

function onSignals(stop: (signal: string) => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    void stop(signal).then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
      },
    );
  };
  // `on`, not `once`: a second signal during shutdown must not kill the process half-way.
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
}

function buildProgram(): Command {
  const program = new Command("skein")
    .description("skein's distributed runtime: start a scheduler, then workers on any number of hosts")
    .showHelpAfterError()
    .enablePositionalOptions();

  addLogOptions(addTlsOptions(
    program
      .command("scheduler")
      .description("run a scheduler; prints the address it listens at, runs until SIGINT/SIGTERM")
      .option("--host <host>", "interface address to listen on (0.0.0.0 for all)", "127.0.0.1")
      .option("--port <port>", "TCP port (0: any free port)", "8786")
      .option("--scheduler-file <file>", "write {address, token, pid} here (mode 0600) for workers and clients")
      .addOption(new Option("--token <token>", "shared secret every client and worker must present (prefer the env variable: argv is visible in ps)").env("SKEIN_TOKEN"))
      .option("--insecure", "allow listening off loopback without a token or TLS", false),
  ))
    .option("--heartbeat-timeout <seconds>", "remove a worker silent for this long and recompute its work", "30")
    .option("--allowed-failures <n>", "a task that kills this many workers errs with KilledWorker", "3")
    .option("--dashboard-port <port>", "port of the live dashboard (a free port when taken)", "8787")
    .option("--no-dashboard", "do not serve the dashboard")
    .action(async (o: { host: string; port: string; schedulerFile?: string; token?: string; insecure: boolean; heartbeatTimeout: string; allowedFailures: string; dashboard: boolean; dashboardPort: string } & TlsFlags & LogFlags) => {
      const logger = createLogger({ ...logSettings(o), name: "skein-scheduler" });
      const sched = await runScheduler({
        logger,
        host: o.host,
        port: parsePort(o.port),
        schedulerFile: o.schedulerFile,
        token: o.token === "" ? undefined : o.token,
        insecure: o.insecure,
        tls: tlsFiles("scheduler", o),
        heartbeatTimeoutMs: parseSeconds("--heartbeat-timeout", o.heartbeatTimeout),
        allowedFailures: parseCount("--allowed-failures", o.allowedFailures),
        dashboard: o.dashboard ? { port: parsePort(o.dashboardPort, "--dashboard-port") } : false,
      });
      // Handlers before the announcement: whoever reads the line may signal at once.
      onSignals(async (signal) => {
        logger.info(`skein scheduler: ${signal}, shutting down`);
        await sched.close();
      });
      process.stdout.write(announceLines(sched).map((l) => l + "\n").join(""));
      logger.info({ address: sched.address, dashboard: sched.dashboardUrl }, `skein scheduler listening at ${sched.address}`);
    });

  addLogOptions(addTlsOptions(
    program
      .command("worker")
      .description("start worker processes joined to a scheduler; prints where each listens; exits when the scheduler goes away")
      .argument("[address]", "the scheduler, e.g. tcp://10.0.0.1:8786")
      .option("--scheduler-file <file>", "read the scheduler's address (and token) from this file, waiting for it to appear")
      .option("--nworkers <n>", "worker processes to start", "1")
      .option("--nthreads <n>", "task threads per worker (default: cores / nworkers)")
      .option("--memory-limit <limit>", 'bytes per worker: "auto" (machine memory / nworkers), a count, "4GB", "512MiB", a fraction "0.5", or 0 for none', "auto")
      .option("--resources <list>", 'abstract resources of each worker, e.g. "GPU=1,MEM=2e9"')
      .option("--name <name>", "worker name (with --nworkers > 1: name-0, name-1, ...)")
      .option("--local-directory <dir>", "directory for spilled results and scratch files (created if missing)")
      .option("--interface <iface>", "listen on this network interface's IPv4 address (e.g. ib0)")
      .option("--host <host>", "listen on this address (default: the local address that reaches the scheduler)")
      .addOption(new Option("--token <token>", "the scheduler's shared secret (prefer the env variable: argv is visible in ps)").env("SKEIN_TOKEN"))
      .option("--timeout <seconds>", "how long to wait for the scheduler file and for each worker to join", "60"),
  )).action(async (address: string | undefined, o: { schedulerFile?: string; nworkers: string; nthreads?: string; memoryLimit: string; resources?: string; name?: string; localDirectory?: string; interface?: string; host?: string; token?: string; timeout: string } & TlsFlags & LogFlags) => {
    const nworkers = parseCount("--nworkers", o.nworkers);
    const settings = logSettings(o);
    const logger = createLogger({ ...settings, name: "skein-worker" });
    // Worker processes inherit the environment: they log at this level, in this (concrete) format.
    process.env.SKEIN_LOG_LEVEL = settings.level;
    process.env.SKEIN_LOG_FORMAT = resolveLogFormat(settings.format);
    // Signals may come while workers start: stop whatever has been spawned by then.
    let stopSpawned: (() => Promise<void>) | undefined;
    onSignals(async () => {
      await stopSpawned?.();
    });
    const running = await runWorkers({
      scheduler: address,
      schedulerFile: o.schedulerFile,
      nworkers,
      nthreads: o.nthreads !== undefined ? parseCount("--nthreads", o.nthreads) : undefined,
      memoryLimit: o.memoryLimit,
      resources: o.resources,
      name: o.name,
      localDirectory: o.localDirectory,
      iface: o.interface,
      host: o.host,
      token: o.token === "" ? undefined : o.token,
      tls: tlsFiles("worker", o),
      timeoutMs: parseSeconds("--timeout", o.timeout),
      onStarted: (line) => {
        process.stdout.write(line + "\n");
        logger.info(line);
      },
      onSpawned: (stop) => (stopSpawned = stop),
      log: lineLog(logger),
    });
    await running.done;
    logger.info("skein worker: all workers have exited");
    process.exit(0);
  });
  addLogOptions(
    program
      .command("mpi")
      .description("inside mpirun/srun: rank 0 runs the scheduler, rank 1 the script (with Client.connect() joined to it), the other ranks workers; exits with the script's exit code")
      .argument("<script>", "the script rank 1 runs (node; .ts scripts get the tsx loader)")
      .argument("[args...]", "arguments for the script")
      .option("--scheduler-file <file>", "where the ranks meet (default: the temp directory, named by the job id); on a shared filesystem for multi-node jobs")
      .option("--host <host>", "the scheduler's listen address (default: loopback when all ranks share this node, else all interfaces)")
      .option("--interface <iface>", "listen on this network interface's IPv4 address (e.g. ib0)")
      .option("--port <port>", "the scheduler's TCP port (0: any free port)", "0")
      .option("--nthreads <n>", "task threads per worker rank (default: cores / ranks on the node)")
      .option("--memory-limit <limit>", 'bytes per worker rank: "auto" (node memory / ranks on the node), "4GB", a fraction, or 0', "auto")
      .option("--local-directory <dir>", "directory for spilled results")
      .addOption(new Option("--token <token>", "shared secret (default: a fresh random one, passed through the 0600 scheduler file)").env("SKEIN_TOKEN"))
      .option("--timeout <seconds>", "how long to wait for the scheduler file, the workers, and the shutdown", "60")
      .option("--dashboard-port <port>", "port of rank 0's live dashboard (a free port when taken)", "8787")
      .option("--no-dashboard", "do not serve the dashboard")
      .passThroughOptions(),
  ).action(async (script: string, args: string[], o: { schedulerFile?: string; host?: string; interface?: string; port: string; nthreads?: string; memoryLimit: string; localDirectory?: string; token?: string; timeout: string; dashboard: boolean; dashboardPort: string } & LogFlags) => {
    const logger = createLogger({ ...logSettings(o), name: "skein-mpi" });
    const code = await runMpi({
      script,
      args,
      schedulerFile: o.schedulerFile,
      host: o.host,
      iface: o.interface,
      port: parsePort(o.port),
      nthreads: o.nthreads !== undefined ? parseCount("--nthreads", o.nthreads) : undefined,
      memoryLimit: o.memoryLimit,
      localDirectory: o.localDirectory,
      token: o.token === "" || o.token === undefined ? undefined : o.token,
      timeoutMs: parseSeconds("--timeout", o.timeout),
      dashboard: o.dashboard ? { port: parsePort(o.dashboardPort, "--dashboard-port") } : false,
      logger,
    });
    process.exit(code);
  });

  addPredictCommand(program);
  return program;
}

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}

void main();
