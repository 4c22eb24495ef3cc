/**
 * Quick start: futures on an embedded LocalCluster (one worker process per core).
 *
 *   npm run example            # or: node --conditions=source --import tsx examples/quickstart.ts
 *
 * Task functions are plain exported functions: workers import this module to run them, and the
 * `isMain` guard keeps them from running `main()` when they do.
 */
import { Client, delayed, isMain } from "skein";

export function inc(x: number): number {
  return x + 1;
}

export function add(x: number, y: number): number {
  return x + y;
}

export function sum(xs: number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s;
}

export async function main(): Promise<number> {
  const client = await Client.connect();
  try {
    // map + submit: 10,000 tasks, then one that sums their results on a worker.
    const xs = client.map(inc, Array.from({ length: 10_000 }, (_, i) => i));
    const total = await client.submit(sum, xs).result();
    console.log(`sum of inc(0..9999) = ${total}`);

    // asCompleted: handle results in the order they finish.
    let seen = 0;
    for await (const [, value] of client.asCompleted(client.map(inc, [10, 20, 30]), { withResults: true })) {
      seen += value;
    }
    console.log(`asCompleted saw ${seen}`);

    // delayed: build a graph lazily, then compute it on the cluster.
    const z = delayed(add)(delayed(inc)(1), 2);
    console.log(`delayed add(inc(1), 2) = ${await client.compute(z).result()}`);

    // A raw graph in Dask's style: keys referenced by name inside argument lists.
    const graph = { x: 1, y: [inc, "x"], z: [add, "x", "y"] };
    console.log(`raw graph z = ${await client.get(graph, "z")}`);
    return total;
  } finally {
    await client.close();
  }
}

if (isMain(import.meta)) await main();
