/**
 * Seeing work happen: a progress bar while a graph runs, then the graph drawn as SVG, coloured by
 * what finished and what failed.
 *
 *   node --conditions=source --import tsx examples/progress.ts
 *
 * On a terminal `progress` draws a bar; piped into a file or a CI log it prints a few plain lines
 * instead (start, every 25 %, end). The same script runs unchanged inside an MPI job:
 * `mpirun -n 4 npx skein mpi examples/progress.ts` (Client.connect() then joins the job's cluster).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, delayed, isMain, progress, ProgressReporter, visualize } from "skein";

const SMALL = process.env.SKEIN_EXAMPLE_SMALL === "1";

/** A little CPU work per task, so the bar has something to show. */
export function work(i: number, ms: number): number {
  const end = Date.now() + ms;
  let x = i;
  while (Date.now() < end) x = (x * 1103515245 + 12345) % 2147483648;
  return i;
}

export function total(xs: number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s;
}

export function checkPositive(x: number): number {
  if (x <= 0) throw new Error(`checkPositive: expected a positive number, got ${x}`);
  return x;
}

export async function main(): Promise<void> {
  const n = SMALL ? 40 : 400;
  const client = await Client.connect(SMALL ? { nWorkers: 2, threadsPerWorker: 1 } : {});
  try {
    // 1. Futures: wait for them with a progress display (it never throws for failed tasks).
    const futures = client.map(work, Array.from({ length: n }, (_, i) => i), Array(n).fill(SMALL ? 2 : 20));
    await progress(futures, { label: "map" });

    // 2. A graph: `compute(..., { progress: true })` shows progress while you wait on the result.
    const parts = Array.from({ length: 8 }, (_, i) => delayed(work)(i, 5));
    const sum = delayed(total)(parts);
    const bad = delayed(checkPositive)(delayed(total)([]));
    const [ok, failed] = client.compute([sum, bad], { progress: { label: "graph" } });
    console.log(`total = ${await ok.result()}`);
    console.log(`failed as expected: ${(await failed.exception())?.message}`);

    // 3. Draw it: finished tasks green, the failed one (and what reads it) red.
    const dir = mkdtempSync(join(tmpdir(), "skein-progress-"));
    await visualize([sum, bad], join(dir, "graph.svg"));
    await visualize([sum, bad], join(dir, "graph.dot"));
    console.log(`graph written to ${join(dir, "graph.svg")} (and graph.dot)`);

    // 4. Any loop can report the same way.
    const files = ["a.csv", "b.csv", "c.csv", "d.csv"];
    const report = new ProgressReporter(files.length, { label: "files", unit: "files" });
    for (const _f of files) report.tick();
    report.done();
  } finally {
    await client.close();
  }
}

if (isMain(import.meta)) await main();
