/**
 * Worker process entry. Start it as
 *
 *   spawn(process.execPath, [...execArgv, "<dist or src>/worker/main.(js|ts)", ...flags], { env })
 *
 * where `execArgv` must carry a TypeScript loader (`--import tsx`) when main.ts is the source
 * file and must NOT carry the parent's `-e/--eval/-p/--print <code>` (node would run that code
 * instead of this file: a parent started with `node -e` would spawn copies of itself), and the
 * options come from flags, from `SKEIN_WORKER_OPTIONS` (JSON), or both (flags win):
 *
 *   --scheduler tcp://host:port   (required)   JSON: "scheduler"
 *   --nthreads N                  default 1    JSON: "nthreads"
 *   --name NAME                   default: the listen address          JSON: "name"
 *   --listen tcp://host:0         default tcp://127.0.0.1:0            JSON: "listen"
 *   --memory-limit BYTES          default 0 (none)                     JSON: "memoryLimit"
 *   --resources '{"GPU":1}'                    JSON: "resources" (an object)
 *   --heartbeat-ms MS             default 1000 JSON: "heartbeatMs"
 *   --inline-max-ms MS            default 1    JSON: "inlineMaxMs"  (or env SKEIN_INLINE_MAX_MS; 0: never inline)
 *   --tls-ca/--tls-cert/--tls-key FILE   (all three, for tls:// addresses)  JSON: "tls": {ca, cert, key}
 *   token: env SKEIN_TOKEN or JSON "token" (never a flag: argv is visible to other users)
 *
 * e.g. env SKEIN_WORKER_OPTIONS='{"scheduler":"tcp://127.0.0.1:8786","nthreads":2,"name":"worker-0"}'.
 *
 * Nothing is printed on stdout. When started with an IPC channel (as `skein worker` does, see
 * src/cluster/worker-process.ts), it sends `{ op: "worker-started", address, name }` once joined,
 * and shuts down when that channel closes (the parent exited).
 * Errors go to stderr. Exit code 0 once the worker has shut down
 * (scheduler gone, asked to close, SIGTERM/SIGINT); 1 if it could not start.
 */
import { parseWorkerOptions } from "./options.js";
import { WorkerServer } from "./server.js";
import { createLogger, lineLog, logSettings } from "../log.js";
import { setCommLogger } from "../comm/index.js";
import { thrown } from "./run-task.js";

async function main(): Promise<void> {
  // Tasks run native libraries built on OpenMP (XGBoost), whose idle threads busy-wait by
  // default. Several workers sharing a host's cores then burn each other's time: 2 workers x
  // nthread 2 on 2 cores trained 3.8x slower than with passive waiting (bench/xgb). Set here, in
  // the process environment, before any task thread can load libgomp; the user's setting wins.
  process.env.OMP_WAIT_POLICY ??= "PASSIVE";
  let server: WorkerServer;
  try {
    const opts = parseWorkerOptions(process.argv.slice(2), process.env);
    if (opts.name !== undefined) process.env.SKEIN_WORKER_NAME = opts.name;
    // `skein worker` passes its log settings down; started otherwise (LocalCluster), the
    // server's default applies: warnings as plain lines.
    const env = process.env;
    const log = env.SKEIN_LOG_FORMAT || env.SKEIN_LOG_LEVEL ? lineLog(createLogger({ ...logSettings({}, env), name: "skein-worker" })) : undefined;
    if (log) setCommLogger(log);
    server = await WorkerServer.start(log ? { ...opts, log } : opts);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
  // A lone tiny task runs on this event loop (inline-policy.ts) and may leave a stray promise that
  // rejects later. A task thread logs that and goes on; so does this process.
  process.on("unhandledRejection", (reason) => {
    process.stderr.write(`skein worker: unhandled promise rejection (from an earlier task?): ${thrown(reason).stack}\n`);
  });
  const stop = (signal: string) => () => void server.close(`received ${signal}`);
  process.once("SIGTERM", stop("SIGTERM"));
  process.once("SIGINT", stop("SIGINT"));
  if (process.send) {
    process.send({ op: "worker-started", address: server.address, name: server.name });
    // The parent that started us over IPC is gone (even by SIGKILL): don't outlive it.
    process.once("disconnect", stop("parent exit (IPC channel closed)"));
  }
  await server.closed;
  process.exit(0);
}

void main();
