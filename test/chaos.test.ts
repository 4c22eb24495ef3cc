/**
 * Chaos: a big graph (a map over many leaves plus tree reductions) while a worker process is
 * SIGKILLed every ~0.5 s and its nanny starts a new one. The result must equal the serial one.
 * Three workers; a tick kills a worker that has joined only while another joined one survives
 * it, so the kill rate is bounded by how fast nannies bring replacements up (~1 s on 2 cores).
 *
 * `npm test` runs 4,000 leaves; `SKEIN_TEST_FULL=1` (npm run test:full) runs 20,000 leaves
 * (~22,900 tasks). allowedFailures is raised for this test: a worker killed every half second
 * is often killed again while it is still starting, and the tasks just handed to it would
 * otherwise reach KilledWorker (cluster-nanny.test.ts checks that default of 3).
 */
import { afterEach, describe, expect, it } from "vitest";
import { Client, type Future } from "../src/index.js";
import { leaf, leafValue, total } from "./fixtures/chaos-tasks.js";

const FULL = process.env.SKEIN_TEST_FULL === "1";
const LEAVES = FULL ? 20_000 : Number(process.env.CHAOS_LEAVES ?? 4_000);
/**
 * Leaf cost. Each kill loses a third of the results held, and a lost high-level reduction
 * takes its whole subtree with it (recomputed from lineage), so the graph only finishes under
 * continuous kills when a subtree recomputes faster than the kill interval: keep leaves cheap.
 */
const LEAF_MS = FULL ? 0.2 : 1;
/** npm test: a few kills, then the graph finishes; full: kills until the result is in. */
const MAX_KILLS = FULL ? Infinity : 6;
const FAN_IN = 8;
const KILL_EVERY_MS = 500;

let client: Client | undefined;

afterEach(async () => {
  await client?.close();
  client = undefined;
});

describe("chaos", () => {
  it(`computes ${LEAVES} leaves + tree reductions exactly while workers are SIGKILLed every ${KILL_EVERY_MS} ms`, async () => {
    client = await Client.connect({ nWorkers: 3, allowedFailures: 1000, maxRestartsPerMinute: 1000 });
    const cluster = client.cluster!;
    const idx = Array.from({ length: LEAVES }, (_, i) => i);
    let level: Future<number>[] = client.map(leaf, idx, idx.map(() => LEAF_MS));
    let tasks = level.length;
    while (level.length > 1) {
      const next: Future<number>[] = [];
      for (let i = 0; i < level.length; i += FAN_IN) next.push(client.submit(total, ...level.slice(i, i + FAN_IN)));
      tasks += next.length;
      level = next;
    }
    expect(tasks).toBeGreaterThanOrEqual(LEAVES);
    const expected = idx.reduce((s, i) => s + leafValue(i), 0);

    let kills = 0;
    let done = false;
    const killer = (async () => {
      while (!done && kills < MAX_KILLS) {
        await new Promise((r) => setTimeout(r, KILL_EVERY_MS));
        if (done) break;
        // Kill a worker that has joined, as long as another joined one survives it: a worker
        // killed while it is still starting would test nothing (and would never get to work).
        const joined = cluster.workerNannies.filter((n) => n.address !== null && n.process !== null);
        if (joined.length < 2) continue;
        joined[kills % joined.length].process!.kill("SIGKILL");
        kills++;
      }
    })();
    let result: number;
    try {
      result = await Promise.race([
        level[0].result(),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`chaos: no result within ${FULL ? 600 : 150} s (${kills} kills)`)), (FULL ? 600 : 150) * 1000)),
      ]);
    } catch (err) {
      const st = cluster.scheduler.state;
      console.log(`chaos: failed with tasks ${JSON.stringify(st.counts())}, workers ${st.workers().map((w) => w.address).join(", ")}, nannies ${JSON.stringify(cluster.workerNannies.map((n) => ({ restarts: n.restarts, address: n.address, pid: n.process?.pid })))}`);
      throw err;
    } finally {
      done = true;
      await killer;
    }
    expect(result).toBe(expected);
    expect(kills).toBeGreaterThanOrEqual(FULL ? 5 : 3);
    const restarts = cluster.workerNannies.reduce((s, n) => s + n.restarts, 0);
    expect(restarts).toBeGreaterThanOrEqual(Math.min(kills, 3));
    console.log(`chaos: ${tasks} tasks, ${kills} kills, ${restarts} restarts`);
  }, FULL ? 700_000 : 200_000);
});
