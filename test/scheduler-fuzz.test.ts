/**
 * Random event scripts (seeded, so failures reproduce) against the scheduler's invariant
 * checker: graphs, results, errors, worker churn, releases, cancels, scatters, stale and
 * duplicate events. At the end every remaining task must finish and, once the clients are
 * gone, nothing may remain allocated.
 */
import { describe, expect, it } from "vitest";
import type { TaskSubmission } from "../src/graph/spec.js";
import type { SchedulerEvent, SchedulerInstruction } from "../src/scheduler/state.js";
import { Harness, addWorker, cancel, desires, erred, finished, graph, releases, removeWorker, task } from "./scheduler-helpers.js";

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Sim {
  readonly h: Harness;
  /** What each live worker was told to compute and not told to free. */
  readonly running = new Map<string, Set<string>>();
  readonly names = new Map<string, string>();
  private nextWorker = 0;
  private nextKey = 0;
  readonly clients = ["c1", "c2", "c3"];
  readonly wanted = new Map<string, Set<string>>(this.clients.map((c) => [c, new Set<string>()]));
  readonly r: () => number;

  constructor(seed: number, saturation: number | "auto") {
    this.r = mulberry32(seed);
    this.h = new Harness({ workerSaturation: saturation, allowedFailures: 2 });
  }

  pick<T>(xs: readonly T[]): T | undefined {
    return xs.length === 0 ? undefined : xs[Math.floor(this.r() * xs.length)];
  }

  feed(...events: SchedulerEvent[]): SchedulerInstruction[] {
    const out = this.h.do(...events);
    for (const i of out) {
      if (i.type === "compute-task") this.running.get(i.worker)?.add(i.msg.key);
      else if (i.type === "free-keys") for (const k of i.keys) this.running.get(i.worker)?.delete(k);
      else if (i.type === "key-erred" || i.type === "keys-cancelled") {
        // The client's future is done with: a real client would drop it eventually.
      }
    }
    return out;
  }

  addWorker(opts: { name?: string; gpu?: boolean } = {}): void {
    const address = `tcp://w${this.nextWorker++}`;
    const name = opts.name ?? this.pick(["alpha", "beta", "gamma", "delta"]) ?? "x";
    this.running.set(address, new Set());
    this.names.set(address, name);
    this.feed(addWorker(address, { name, nthreads: 1 + Math.floor(this.r() * 3), resources: opts.gpu ? { GPU: 1 } : {} }));
  }

  knownKeys(): string[] {
    const out: string[] = [];
    for (const set of this.wanted.values()) out.push(...set);
    return out;
  }

  submit(): void {
    const client = this.pick(this.clients) as string;
    const n = 1 + Math.floor(this.r() * 12);
    const tasks: TaskSubmission[] = [];
    const existing = this.knownKeys().filter((k) => this.h.state(k) !== undefined);
    for (let i = 0; i < n; i++) {
      const key = `k${this.nextKey++}`;
      const deps: string[] = [];
      const nd = Math.floor(this.r() * 3);
      for (let d = 0; d < nd; d++) {
        const pool = this.r() < 0.8 || existing.length === 0 ? tasks.map((t) => t.key) : existing;
        const dep = this.pick(pool);
        if (dep !== undefined) deps.push(dep);
      }
      const roll = this.r();
      const opts =
        roll < 0.05
          ? { resources: { GPU: 1 } }
          : roll < 0.1
            ? { workers: [this.pick(["alpha", "beta"]) as string], allowOtherWorkers: this.r() < 0.5 }
            : roll < 0.2
              ? { retries: 1, priority: Math.floor(this.r() * 3) }
              : {};
      // Sometimes resubmit a known key (pure: same key, runs once).
      if (this.r() < 0.05 && existing.length > 0) tasks.push(task(this.pick(existing) as string));
      tasks.push(task(key, deps, opts));
    }
    const wanted = tasks.filter(() => this.r() < 0.4).map((t) => t.key);
    if (wanted.length === 0) wanted.push(tasks[tasks.length - 1].key);
    const out = this.feed(graph(client, tasks, wanted));
    if (!out.some((i) => i.type === "graph-rejected")) for (const k of wanted) this.wanted.get(client)?.add(k);
  }

  runningPairs(): [string, string][] {
    const out: [string, string][] = [];
    for (const [w, keys] of this.running) for (const k of keys) out.push([w, k]);
    return out;
  }

  step(): void {
    const roll = this.r();
    const workers = [...this.running.keys()];
    if (roll < 0.15) this.submit();
    else if (roll < 0.55) {
      const pair = this.pick(this.runningPairs());
      if (pair === undefined) return;
      const [w, k] = pair;
      this.running.get(w)?.delete(k);
      if (this.r() < 0.1) this.feed(erred(w, k));
      else this.feed(finished(w, k, { nbytes: Math.floor(this.r() * 1e6), ms: this.r() * 20 }));
    } else if (roll < 0.6) {
      const w = this.pick(workers);
      if (w !== undefined && workers.length > 1) {
        this.running.delete(w);
        this.feed(removeWorker(w));
      }
    } else if (roll < 0.66) {
      this.addWorker({ gpu: this.r() < 0.3 });
    } else if (roll < 0.74) {
      const c = this.pick(this.clients) as string;
      const k = this.pick([...(this.wanted.get(c) as Set<string>)]);
      if (k !== undefined) {
        this.wanted.get(c)?.delete(k);
        this.feed(this.r() < 0.3 ? cancel(c, [k]) : releases(c, [k]));
      }
    } else if (roll < 0.78) {
      const c = this.pick(this.clients) as string;
      const k = this.pick(this.knownKeys());
      if (k !== undefined && this.h.state(k) !== undefined) {
        this.wanted.get(c)?.add(k);
        this.feed(desires(c, [k]));
      }
    } else if (roll < 0.82) {
      const k = this.pick(this.knownKeys());
      const w = this.pick(workers);
      const e = this.pick(workers);
      if (k !== undefined && w !== undefined && e !== undefined) {
        this.feed({ type: "missing-data", worker: w, key: k, errantWorker: e });
      }
    } else if (roll < 0.85) {
      const c = this.pick(this.clients) as string;
      const key = `s${this.nextKey++}`;
      const w = this.pick(workers);
      if (w !== undefined) {
        this.feed({ type: "scatter", client: c, data: { [key]: 100 }, workers: [w] });
        this.wanted.get(c)?.add(key);
      }
    } else if (roll < 0.88) {
      const k = this.pick(this.knownKeys());
      const w = this.pick(workers);
      if (k !== undefined && w !== undefined) this.feed({ type: "add-keys", worker: w, keys: [k], nbytes: { [k]: 5 } });
    } else if (roll < 0.92) {
      // Stale or bogus reports: removed workers, unknown keys.
      const k = this.pick(this.knownKeys()) ?? "nope";
      this.feed(finished("tcp://gone", k), erred("tcp://gone", k), finished(this.pick(workers) ?? "x", `${k}-bogus`));
    } else if (roll < 0.95) {
      const c = this.pick(this.clients) as string;
      this.feed({ type: "gather", client: c, id: 1, keys: this.knownKeys().slice(0, 5) });
    } else if (roll < 0.97) {
      // A balancing round; each victim answers its steal-request (gave it up, or too late).
      const out = this.feed({ type: "balance" });
      for (const i of out) {
        if (i.type !== "steal-request") continue;
        const state = this.pick(["ready", "waiting", "executing", "memory", null]) ?? null;
        const gaveUp = state === "ready" || state === "waiting";
        if (gaveUp) this.running.get(i.worker)?.delete(i.key);
        this.feed({ type: "steal-response", worker: i.worker, key: i.key, state });
      }
    } else {
      // A duplicate finish of something already finished elsewhere (a replica).
      const k = this.pick(this.knownKeys());
      const w = this.pick(workers);
      if (k !== undefined && w !== undefined && this.h.state(k) === "memory") this.feed(finished(w, k));
    }
  }

  /** Give every task a place to run and finish everything. */
  settle(): void {
    this.addWorker({ name: "alpha", gpu: true });
    this.addWorker({ name: "beta", gpu: true });
    for (let i = 0; i < 100_000; i++) {
      const pair = this.runningPairs()[0];
      if (pair === undefined) break;
      this.running.get(pair[0])?.delete(pair[1]);
      this.feed(finished(pair[0], pair[1], { nbytes: 10 }));
    }
  }
}

let totalStolen = 0;

describe("scheduler state machine under random event scripts", () => {
  for (const [seed, saturation] of [
    [1, "auto"],
    [2, 1],
    [3, Infinity],
    [4, "auto"],
    [5, 2],
    [6, "auto"],
  ] as const) {
    it(`seed ${seed}, saturation ${saturation}: invariants hold and nothing leaks`, () => {
      const sim = new Sim(seed, saturation);
      sim.addWorker();
      sim.addWorker();
      for (let i = 0; i < 1500; i++) sim.step();
      sim.settle();
      totalStolen += sim.h.s.stolen;
      const counts = sim.h.s.counts();
      expect([counts.waiting, counts.queued, counts.processing, counts["no-worker"]]).toEqual([0, 0, 0, 0]);
      // Every key a client still wants is in memory or erred.
      for (const [c, keys] of sim.wanted) {
        for (const k of keys) {
          const state = sim.h.state(k);
          if (state !== undefined) expect(["memory", "erred"], `${c} ${k}`).toContain(state);
        }
      }
      for (const c of sim.clients) sim.feed({ type: "remove-client", client: c });
      expect(sim.h.s.taskCount).toBe(0);
      for (const w of sim.h.s.workers()) expect([w.address, w.nbytes, w.nkeys, w.processing]).toEqual([w.address, 0, 0, 0]);
    });
  }

  it("the scripts above moved tasks by stealing", () => {
    expect(totalStolen).toBeGreaterThan(0);
  });
});
