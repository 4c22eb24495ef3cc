/**
 * Random event scripts against the worker state machine, with a simulated edge (store,
 * executor, peers). After every event: internal bookkeeping is consistent (validate), the
 * store holds exactly the keys the machine has in memory, and every execute finds its inputs.
 * Seeded, so a failure names a reproducible script.
 */
import { describe, expect, it } from "vitest";
import { WorkerState, type WorkerEvent, type WorkerInstruction } from "../src/worker/state.js";

const SELF = "tcp://self:1";
const PEERS = ["tcp://a:1", "tcp://b:1", "tcp://c:1"];
const RUN = new Uint8Array([1]);

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

function runScript(seed: number, steps: number): void {
  const rand = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const ws = new WorkerState({ address: SELF, nthreads: 2, resources: { R: 1 }, maxConcurrentFetchesPerWorker: 1, transferBatchBytes: 20 });
  const store = new Set<string>();
  const executing: string[] = [];
  const gathers: { worker: string; keys: string[] }[] = [];
  const keys = Array.from({ length: 12 }, (_, i) => `k${i}`);
  // A key's dependencies are fixed, as in a real graph (acyclic: only lower keys); holders vary.
  const depsOf = new Map(keys.map((key) => [key, keys.filter((k) => k < key && rand() < 0.25)]));
  const log: string[] = [];
  let n = 0;

  const apply = (ins: WorkerInstruction[]): void => {
    for (const i of ins) {
      switch (i.op) {
        case "execute":
          for (const d of i.deps) if (!store.has(d)) throw new Error(`execute ${i.key} without input ${d}`);
          executing.push(i.key);
          break;
        case "gather-dep":
          gathers.push({ worker: i.worker, keys: i.keys });
          break;
        case "release-data":
          store.delete(i.key);
          break;
        default:
          break;
      }
    }
  };

  const feed = (ev: WorkerEvent): void => {
    log.push(JSON.stringify(ev, (_k, v: unknown) => (v instanceof Uint8Array ? undefined : v)));
    apply(ws.handle(ev));
    ws.validate();
    const inMemory = [...ws.tasks.values()].filter((t) => t.state === "memory").map((t) => t.key).sort();
    expect([...store].sort(), `store vs memory after:\n${log.slice(-8).join("\n")}`).toEqual(inMemory);
  };

  for (let step = 0; step < steps; step++) {
    const r = rand();
    const stimulusId = `s${n++}`;
    try {
      if (r < 0.3) {
        const key = pick(keys);
        const deps = depsOf.get(key)!.map((k) => ({ key: k, workers: PEERS.filter(() => rand() < 0.5), nbytes: 8 }));
        feed({ type: "compute-task", stimulusId, key, run: RUN, name: key, deps, priority: [Math.floor(rand() * 3)], resources: rand() < 0.2 ? { R: 1 } : undefined });
      } else if (r < 0.45) {
        feed({ type: "free-keys", stimulusId, keys: [pick(keys)] });
      } else if (r < 0.5) {
        feed({ type: "acquire-replicas", stimulusId, deps: [{ key: pick(keys), workers: [pick(PEERS)], nbytes: 8 }] });
      } else if (r < 0.53) {
        const key = pick(keys);
        store.add(key);
        feed({ type: "update-data", stimulusId, data: { [key]: { nbytes: 8, typeName: "number" } } });
      } else if (r < 0.55) {
        feed({ type: "steal-request", stimulusId, key: pick(keys) });
      } else if (r < 0.78 && executing.length > 0) {
        const key = executing.splice(Math.floor(rand() * executing.length), 1)[0];
        if (rand() < 0.8) {
          store.add(key);
          feed({ type: "execute-success", stimulusId, key, nbytes: 8, typeName: "number", start: 0, stop: 1 });
        } else {
          feed({ type: "execute-failure", stimulusId, key, error: { name: "Error", message: "x", stack: "Error: x" }, start: 0, stop: 1 });
        }
      } else if (gathers.length > 0) {
        const g = gathers.splice(Math.floor(rand() * gathers.length), 1)[0];
        if (rand() < 0.8) {
          const data: Record<string, { nbytes: number; typeName: string }> = {};
          for (const k of g.keys) {
            if (rand() < 0.85) {
              data[k] = { nbytes: 8, typeName: "number" };
              store.add(k);
            }
          }
          feed({ type: "gather-dep-success", stimulusId, worker: g.worker, keys: g.keys, data, start: 0, stop: 1 });
        } else {
          feed({ type: "gather-dep-failure", stimulusId, worker: g.worker, keys: g.keys, error: "down" });
        }
      }
    } catch (err) {
      throw new Error(`seed ${seed}, step ${step}: ${(err as Error).message}\nlast events:\n${log.slice(-10).join("\n")}`);
    }
  }

  // Liveness: let everything under way succeed; then nothing may be left runnable or stuck.
  while (executing.length > 0 || gathers.length > 0) {
    const key = executing.shift();
    if (key !== undefined) {
      store.add(key);
      feed({ type: "execute-success", stimulusId: `end${n++}`, key, nbytes: 8, typeName: "number", start: 0, stop: 1 });
    }
    const g = gathers.shift();
    if (g !== undefined) {
      const data: Record<string, { nbytes: number; typeName: string }> = {};
      for (const k of g.keys) {
        data[k] = { nbytes: 8, typeName: "number" };
        store.add(k);
      }
      feed({ type: "gather-dep-success", stimulusId: `end${n++}`, worker: g.worker, keys: g.keys, data, start: 0, stop: 1 });
    }
  }
  for (const t of ws.tasks.values()) {
    const where = `seed ${seed}: "${t.key}" left in ${t.state}`;
    expect(["ready", "constrained", "executing", "fetch", "flight", "cancelled", "resumed"], where).not.toContain(t.state);
    if (t.state === "waiting") {
      // Only a dependency that cannot arrive by itself may hold it.
      const blocked = [...t.waitingFor].some((d) => ["missing", "error", "released", "waiting"].includes(d.state));
      expect(blocked, where).toBe(true);
    }
  }
}

describe("WorkerState under random event scripts", () => {
  it("keeps its bookkeeping and the store consistent", () => {
    for (let seed = 1; seed <= 200; seed++) runScript(seed, 400);
  });
});
