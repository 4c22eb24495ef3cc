#!/usr/bin/env node
/**
 * The `skein` command: `skein scheduler ...` and `skein worker ...` (see `skein <command> --help`).
 * Runs from dist (`npx skein`, package.json `bin`) or from source (`node --import tsx src/cli/main.ts`).
 */
import { Command, Option } from "commander";
import type { TlsFiles } from "../comm/index.js";
import { CliError, parseCount, parsePort, parseSeconds } from "./parse.js";
import { logToStderr, runScheduler } from "./scheduler.js";
import { runWorkers } from "./worker.js";

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

  addTlsOptions(
    program
      .command("scheduler")
      .description("run a scheduler; prints the address it listens at, runs until SIGINT/SIGTERM")
      .option("--host <host>", "interface address to listen on (0.0.0.0 for all)", "127.0.0.1")
      .option("--port <port>", "TCP port (0: any free port)", "8786")
      .option("--scheduler-file <file>", "write {address, token, pid} here (mode 0600) for workers and clients")
      .addOption(new Option("--token <token>", "shared secret every client and worker must present (prefer the env variable: argv is visible in ps)").env("SKEIN_TOKEN"))
      .option("--insecure", "allow listening off loopback without a token or TLS", false),
  )
    .option("--heartbeat-timeout <seconds>", "remove a worker silent for this long and recompute its work", "30")
    .option("--allowed-failures <n>", "a task that kills this many workers errs with KilledWorker", "3")
    .action(async (o: { host: string; port: string; schedulerFile?: string; token?: string; insecure: boolean; heartbeatTimeout: string; allowedFailures: string } & TlsFlags) => {
      const sched = await runScheduler({
        host: o.host,
        port: parsePort(o.port),
        schedulerFile: o.schedulerFile,
        token: o.token === "" ? undefined : o.token,
        insecure: o.insecure,
        tls: tlsFiles("scheduler", o),
        heartbeatTimeoutMs: parseSeconds("--heartbeat-timeout", o.heartbeatTimeout),
        allowedFailures: parseCount("--allowed-failures", o.allowedFailures),
      });
      // Handlers before the announcement: whoever reads the line may signal at once.
      onSignals(async (signal) => {
        logToStderr("info", `skein scheduler: ${signal}, shutting down`);
        await sched.close();
      });
      process.stdout.write(`skein scheduler listening at ${sched.address}\n`);
    });

  addTlsOptions(
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
  ).action(async (address: string | undefined, o: { schedulerFile?: string; nworkers: string; nthreads?: string; memoryLimit: string; resources?: string; name?: string; localDirectory?: string; interface?: string; host?: string; token?: string; timeout: string } & TlsFlags) => {
    const nworkers = parseCount("--nworkers", o.nworkers);
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
      onStarted: (line) => process.stdout.write(line + "\n"),
      onSpawned: (stop) => (stopSpawned = stop),
    });
    await running.done;
    process.stderr.write("skein worker: all workers have exited\n");
    process.exit(0);
  });
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
