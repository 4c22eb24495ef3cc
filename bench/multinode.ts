/**
 * Many processes over TCP: the four workloads of bench/scheduler with the scheduler, two workers
 * and the client as separate processes (`skein scheduler` + 2 x `skein worker`, reached through
 * a scheduler file), against `dask scheduler` + 2 x `dask worker` running the same workloads
 * (bench/anchors/python/dask_multinode.py drives shared/anchors' bench_scheduler.py), in the same
 * run. Plus worker-to-worker transfer: a 256 MB Float64Array made on one worker and read by a task
 * on the other, in GB/s, against a plain `net` socket copy of the same bytes between two processes.
 *
 * Options: those of bench/scheduler (--scale, --repeat, --quick, --no-anchor); --transfer-mb N.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { Client } from "../src/index.js";
import { anchorsDir, isSkipped, repoRoot, runAnchor, type AnchorOutcome } from "./lib/anchor.js";
import { emit, median, progress } from "./lib/report.js";
import { parseSchedulerArgs, type SchedulerOptions } from "./lib/scheduler-plan.js";
import { emitAll, runWorkloads, type OurRun } from "./scheduler.js";
import { lengthOf, makeArray } from "./tasks.js";

const BENCH = "multinode";
const CLUSTER = "skein scheduler + 2 x skein worker --nthreads 1 (separate processes, TCP)";
const ANCHOR_CLUSTER = "dask scheduler + 2 x dask worker --nthreads 1 (separate processes, TCP)";
const TRANSFER_REPEAT = 3;
/** The targets over TCP: >= 30x Dask's tasks/s, <= 1/30 of its round-trip time. */
const TARGET_RATIO = 30;

/** The CLI from the sources, as the rest of the benchmark runs (a stale dist/ cannot skew it). */
function cliArgs(): string[] {
  return ["--conditions=source", "--import", "tsx", path.join(repoRoot(), "src", "cli", "main.ts")];
}

function startProcess(args: string[], procs: ChildProcess[]): ChildProcess {
  const child = spawn(process.execPath, [...cliArgs(), ...args], { stdio: ["ignore", "ignore", "pipe"] });
  let tail = "";
  child.stderr!.on("data", (b: Buffer) => (tail = (tail + b.toString()).slice(-2000)));
  child.once("exit", (code, signal) => {
    if (code !== 0 && signal === null) progress(`${BENCH}: ${args[0]} exited ${code}: ${tail}`);
  });
  procs.push(child);
  return child;
}

async function waitForWorkers(client: Client, n: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await client.workers()).length < n) {
    if (Date.now() > deadline) throw new Error(`skein bench ${BENCH}: fewer than ${n} workers joined within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface TransferFigures {
  readonly bytes: number;
  /** Seconds per transfer: the read on the other worker minus the same read where the data is. */
  readonly samples: number[];
  readonly medianS: number;
}

/** 256 MB made on w0, read by a task on w1 (a fresh array each time, so every read transfers). */
async function measureTransfer(client: Client, mb: number): Promise<TransferFigures> {
  const n = Math.floor((mb * 1024 * 1024) / 8);
  const samples: number[] = [];
  for (let rep = 0; rep <= TRANSFER_REPEAT; rep++) {
    const arr = client.submitWith({ workers: ["w0"], pure: false }, makeArray, n, rep + 0.5);
    await client.wait([arr]);
    let t = performance.now();
    const local = client.submitWith({ workers: ["w0"], pure: false }, lengthOf, arr);
    if ((await local.result()) !== n) throw new Error(`skein bench ${BENCH}: local read gave the wrong length`);
    const localS = (performance.now() - t) / 1e3;
    t = performance.now();
    const remote = client.submitWith({ workers: ["w1"], pure: false }, lengthOf, arr);
    if ((await remote.result()) !== n) throw new Error(`skein bench ${BENCH}: remote read gave the wrong length`);
    const remoteS = (performance.now() - t) / 1e3;
    for (const f of [arr, local, remote]) f.release();
    if (rep > 0) samples.push(Math.max(remoteS - localS, 1e-6)); // rep 0 warms both workers up
  }
  return { bytes: n * 8, samples, medianS: median(samples) };
}

/** The same bytes through a plain net socket from a child process into a preallocated buffer. */
async function measurePlainSocket(bytes: number): Promise<number[]> {
  const samples: number[] = [];
  for (let rep = 0; rep < TRANSFER_REPEAT; rep++) {
    const sink = Buffer.allocUnsafe(bytes);
    let got = 0;
    let start = 0;
    const done = new Promise<number>((resolve, reject) => {
      const server = createServer((sock) => {
        sock.on("data", (chunk: Buffer) => {
          if (got === 0) start = performance.now();
          chunk.copy(sink, got);
          got += chunk.length;
          if (got >= bytes) {
            resolve((performance.now() - start) / 1e3);
            sock.destroy();
            server.close();
          }
        });
        sock.on("error", reject);
      });
      server.listen(0, "127.0.0.1", () => {
        const port = (server.address() as AddressInfo).port;
        const sender =
          `const b=Buffer.alloc(${bytes},1);const s=require("net").connect(${port},"127.0.0.1",()=>s.end(b));` +
          `s.on("error",()=>{})`;
        spawn(process.execPath, ["-e", sender], { stdio: "ignore" });
      });
    });
    samples.push(await done);
  }
  return samples;
}

function emitTransfer(t: TransferFigures, plain: number[]): void {
  const oursGBs = t.bytes / t.medianS / 1e9;
  const plainGBs = t.bytes / median(plain) / 1e9;
  emit({
    bench: BENCH,
    case: `transfer_${Math.round(t.bytes / 2 ** 20)}MB_worker_to_worker`,
    ours: oursGBs,
    anchor: plainGBs,
    unit: "GB/s",
    better: "higher",
    target: null,
    anchor_source: "measured",
    anchor_kind: "plain net socket between two node processes, same bytes, same run",
    target_gb_s: 1,
    meets_1_gb_s: oursGBs >= 1,
    ours_samples_s: t.samples,
    anchor_samples_s: plain,
    cluster: CLUSTER,
  });
}

async function measureOurs(opts: SchedulerOptions, transferMb: number): Promise<{ run: OurRun; transfer: TransferFigures }> {
  const dir = mkdtempSync(path.join(tmpdir(), "skein-bench-multinode-"));
  const file = path.join(dir, "scheduler.json");
  const procs: ChildProcess[] = [];
  const t0 = performance.now();
  try {
    startProcess(["scheduler", "--host", "127.0.0.1", "--port", "0", "--scheduler-file", file, "--no-dashboard"], procs);
    const deadline = Date.now() + 60_000;
    while (!existsSync(file)) {
      if (Date.now() > deadline) throw new Error(`skein bench ${BENCH}: the scheduler wrote no scheduler file within 60 s`);
      await new Promise((r) => setTimeout(r, 20));
    }
    for (let i = 0; i < 2; i++) {
      startProcess(["worker", "--scheduler-file", file, "--nthreads", "1", "--name", `w${i}`, "--local-directory", dir], procs);
    }
    const client = await Client.connect({ schedulerFile: file });
    try {
      await waitForWorkers(client, 2, 60_000);
      const startupS = (performance.now() - t0) / 1e3;
      progress(`${BENCH}: ${CLUSTER} up in ${startupS.toFixed(3)} s`);
      const r = await runWorkloads(client, { ...opts, million: false }, BENCH);
      progress(`${BENCH}: transfer of ${transferMb} MB between the workers`);
      const transfer = await measureTransfer(client, transferMb);
      return { run: { startupS, ...r }, transfer };
    } finally {
      await client.close();
    }
  } finally {
    for (const p of procs) p.kill("SIGTERM");
    await Promise.all(procs.map((p) => (p.exitCode !== null || p.signalCode !== null ? null : new Promise((r) => p.once("exit", r)))));
    rmSync(dir, { recursive: true, force: true });
  }
}

async function anchorFor(opts: SchedulerOptions): Promise<AnchorOutcome> {
  if (opts.anchor !== "measured") return { skipped: "not requested (the multinode anchor is only measured)" };
  progress(`${BENCH}: running the dask anchor (dask_multinode.py ${opts.repeat} --scale ${opts.scale})`);
  return runAnchor("dask_multinode.py", [String(opts.repeat), "--scale", String(opts.scale)], {
    dir: path.join(repoRoot(), "bench", "anchors"),
    env: { SHARED_ANCHORS: anchorsDir() },
    onProgress: (line) => progress(`[anchor] ${line}`),
  });
}

export async function run(args: string[]): Promise<void> {
  const i = args.indexOf("--transfer-mb");
  const transferMb = i >= 0 ? Number(args[i + 1]) : 256;
  if (!(transferMb > 0)) throw new Error(`skein bench ${BENCH}: --transfer-mb needs a positive number`);
  const rest = i >= 0 ? [...args.slice(0, i), ...args.slice(i + 2)] : args;
  const opts = parseSchedulerArgs(rest);
  const ours = await measureOurs(opts, transferMb);
  const plain = await measurePlainSocket(ours.transfer.bytes);
  const anchor = await anchorFor(opts);
  if (isSkipped(anchor)) progress(`${BENCH}: dask anchor missing: ${anchor.skipped}`);
  emitAll(opts, ours.run, anchor, { bench: BENCH, cluster: CLUSTER, anchorCluster: ANCHOR_CLUSTER, target: TARGET_RATIO });
  emitTransfer(ours.transfer, plain);
}
