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
 *   token: env SKEIN_TOKEN or JSON "token" (never a flag: argv is visible to other users)
 *
 * e.g. env SKEIN_WORKER_OPTIONS='{"scheduler":"tcp://127.0.0.1:8786","nthreads":2,"name":"worker-0"}'.
 *
 * Nothing is printed on stdout. Errors go to stderr. Exit code 0 once the worker has shut down
 * (scheduler gone, asked to close, SIGTERM/SIGINT); 1 if it could not start.
 */
import { parseWorkerOptions } from "./options.js";
import { WorkerServer } from "./server.js";

async function main(): Promise<void> {
  let server: WorkerServer;
  try {
    const opts = parseWorkerOptions(process.argv.slice(2), process.env);
    if (opts.name !== undefined) process.env.SKEIN_WORKER_NAME = opts.name;
    server = await WorkerServer.start(opts);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
  const stop = (signal: string) => () => void server.close(`received ${signal}`);
  process.once("SIGTERM", stop("SIGTERM"));
  process.once("SIGINT", stop("SIGINT"));
  await server.closed;
  process.exit(0);
}

void main();
