/**
 * `npm run bench` entry point. Runs every registered benchmark (or the one named first on the
 * command line), each in its own `node --expose-gc --import tsx` process: a fresh heap per
 * benchmark, and `globalThis.gc` available for memory figures.
 *
 *   npm run bench                          every benchmark, default sizes
 *   npm run bench -- --quick               every benchmark, smoke sizes
 *   npm run bench -- scheduler --repeat 5  one benchmark with its options
 *   npm run bench -- --list
 *
 * stdout: one JSON line per case (see bench/README.md); stderr: progress.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { listText, planRuns, BENCHMARKS } from "./lib/registry.js";
import type { BenchEntry } from "./lib/registry.js";

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.resolve(BENCH_DIR, "..");
/** Set in the child process: argv is then NAME ...args. */
const CHILD_ENV = "SKEIN_BENCH_CHILD";

interface BenchModule {
  run(args: string[]): Promise<void>;
}

function isBenchModule(m: unknown): m is BenchModule {
  return m !== null && typeof m === "object" && typeof (m as { run?: unknown }).run === "function";
}

/** In the child: import the benchmark module and run it. */
async function runInProcess(name: string, args: string[]): Promise<void> {
  const entry = BENCHMARKS.find((e) => e.name === name);
  if (!entry) throw new Error(`skein bench: unknown benchmark "${name}"`);
  const mod: unknown = await import(pathToFileURL(path.join(BENCH_DIR, entry.file)).href);
  if (!isBenchModule(mod)) throw new Error(`skein bench: bench/${entry.file} does not export run(args)`);
  await mod.run(args);
}

/** In the parent: one child process per benchmark; resolves to its exit code. */
function spawnBench(entry: BenchEntry, args: readonly string[]): Promise<number> {
  const argv = ["--expose-gc", "--import", "tsx", fileURLToPath(import.meta.url), entry.name, ...args];
  process.stderr.write(`[bench] ${entry.name}: node ${argv.join(" ")}\n`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, argv, {
      cwd: REPO_ROOT,
      stdio: "inherit",
      env: { ...process.env, [CHILD_ENV]: "1" },
    });
    child.on("error", (e) => {
      process.stderr.write(`[bench] ${entry.name}: could not start (${e.message})\n`);
      resolve(1);
    });
    child.on("close", (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

async function main(argv: string[]): Promise<number> {
  if (process.env[CHILD_ENV] === "1") {
    await runInProcess(argv[0], argv.slice(1));
    return 0;
  }
  const plan = planRuns(argv);
  if (plan.kind === "list") {
    process.stdout.write(listText() + "\n");
    return 0;
  }
  const failed: string[] = [];
  for (const { entry, args } of plan.runs) {
    const code = await spawnBench(entry, args);
    if (code !== 0) failed.push(`${entry.name} (exit ${code})`);
  }
  if (failed.length > 0) {
    process.stderr.write(`[bench] failed: ${failed.join(", ")}\n`);
    return 1;
  }
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then(
    // Exit explicitly: a benchmark that leaves a handle open must not hang CI; the figures
    // are already printed.
    (code) => process.exit(code),
    (e: unknown) => {
      // Our own errors (bad options, missing benchmark) need no stack; anything else does.
      const own = e instanceof Error && e.message.startsWith("skein bench");
      process.stderr.write(`${e instanceof Error ? (own ? e.message : (e.stack ?? e.message)) : String(e)}\n`);
      process.exit(1);
    },
  );
}
