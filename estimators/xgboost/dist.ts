/**
 * Distributed XGBoost training on data the workers already hold (the dask-xgboost pattern):
 *
 * 1. the training (and eval) partitions are brought into memory on the workers, if not yet;
 * 2. each partition is located: a tiny task placed with its partition reports its worker (by the
 *    name the worker process knows, else by `host:pid` against one pinned probe per worker);
 * 3. partitions are grouped per worker process; each process holding training rows gets ONE
 *    participant (the communicator is per native thread in XGBoost 1.7, and two participants in
 *    one process would also fight over its OpenMP threads); processes without rows are left out,
 *    so nobody waits for a participant with nothing to do;
 * 4. skein's tracker (tracker.ts, the rabit protocol) listens in this process; each participant is
 *    a task pinned to its worker that joins the tracker, builds its DMatrix from its local
 *    partitions (no data passes through the client), trains with the others and leaves;
 * 5. rank 0's model (UBJ bytes) comes back.
 *
 * A participant that does not join within `joinTimeoutMs` (worker busy, gone, task failed before
 * joining) makes training fail with an error naming its worker; the tracker then closes the
 * connections of those waiting, so their native init fails instead of blocking their threads.
 * Trainings from one client run one at a time.
 */
import { networkInterfaces } from "node:os";
import { Client } from "../../src/client/client.js";
import { Future } from "../../src/client/future.js";
import { resolveClient } from "../../src/data/collection.js";
import { MatrixCollection, XYCollection } from "../../src/data/matrix-collection.js";
import type { XYPartition } from "../../src/data/types.js";
import { Booster } from "./booster.js";
import type { BoosterParams } from "./booster.js";
import { DMatrix } from "./dmatrix.js";
import { locatePart, partitionClasses, processIdentity, xgbParticipant } from "./dist-tasks.js";
import type { DistPart, ParticipantResult, ParticipantSpec, PartInfo, PartLayout } from "./dist-tasks.js";
import { train as trainLocal } from "./train.js";
import type { EvalsResult, TrainOptions, TrainResult } from "./train.js";
import { RabitTracker } from "./tracker.js";

const PREFIX = "skein xgboost:";

/** Partitioned data on the cluster: X and y per partition, or matrices with a label column. */
export type DistributedSource = XYCollection | MatrixCollection | readonly Future<XYPartition>[];

/** A source with the columns that hold the label and the weight (MatrixCollection only). */
export interface DistributedData {
  data: DistributedSource;
  /** MatrixCollection: the column holding the label (left out of the features). */
  label?: string;
  /** MatrixCollection: the column holding sample weights (left out of the features). */
  weight?: string;
}

export type DistributedInput = DistributedSource | DistributedData;

export interface DistributedTrainOptions {
  /** Boosting rounds. Default 10. */
  numBoostRound?: number;
  /** Eval sets on the cluster, with names; metrics are computed over all participants' rows. */
  evals?: readonly (readonly [DistributedInput, string])[];
  earlyStoppingRounds?: number;
  maximize?: boolean;
  /** Continue training this saved model. */
  xgbModel?: Uint8Array;
  /** Value treated as missing besides NaN. */
  missing?: number;
  /** Encode labels by these sorted classes (0..k-1), as the classifiers do. */
  classes?: readonly number[];
  /** Feature names (default: the collection's columns). */
  featureNames?: readonly string[];
  /** How long participants have to join the tracker. Default 60 000 ms. */
  joinTimeoutMs?: number;
  /** Address the tracker listens on and participants dial. Default: 127.0.0.1 when every worker is local, else this host's first external IPv4. */
  trackerHost?: string;
  /** Tracker port; default 0 (any free port). */
  trackerPort?: number;
  /** Attempts a participant makes to reach the tracker (rabit sleeps 2 s, 4 s, ... between). Default 3. */
  connectRetry?: number;
  /** TCP_NODELAY on the participants' links (default true; rabit's own default is false). */
  tcpNoDelay?: boolean;
  /** Receives messages participants print through the tracker. */
  log?: (message: string) => void;
  /** Called once the participants are chosen, before any starts (logging; tests). */
  onPlan?: (plan: ParticipantPlan[]) => void | Promise<void>;
}

/** Who will train: one entry per participant, by rank. */
export interface ParticipantPlan {
  rank: number;
  worker: string;
  name: string;
  rows: number;
  partitions: number;
}

export interface ParticipantReport {
  /** Worker address and name. */
  worker: string;
  name: string;
  rank: number;
  rows: number;
  partitions: number;
  dmatrixSeconds: number;
  trainSeconds: number;
}

export interface DistributedTrainResult {
  /** The trained model, loaded here. */
  booster: Booster;
  /** The model as UBJ bytes. */
  model: Uint8Array;
  evalsResult: EvalsResult;
  bestIteration?: number;
  bestScore?: number;
  /** One entry per participant, by rank. */
  participants: ParticipantReport[];
}

interface Normalized {
  futures: Future<DistPart>[];
  /** Futures this call created (released at the end). */
  created: Future<DistPart>[];
  layout: PartLayout;
  features: string[] | null;
}

function isData(x: DistributedInput): x is DistributedData {
  return !(x instanceof XYCollection) && !(x instanceof MatrixCollection) && !Array.isArray(x) && typeof x === "object" && x !== null && "data" in x;
}

function normalize(client: Client, input: DistributedInput, what: string): Normalized {
  const spec: DistributedData = isData(input) ? input : { data: input };
  const src = spec.data;
  if (src instanceof XYCollection) {
    if (spec.label !== undefined || spec.weight !== undefined) throw new TypeError(`${PREFIX} ${what}: label / weight columns apply to a MatrixCollection; an XYCollection has y in each partition`);
    const futures = src.toFutures({ client }) as Future<DistPart>[];
    return { futures, created: futures.filter((f, i) => f !== src.parts[i]), layout: { label: -1, weight: -1 }, features: [...src.features] };
  }
  if (src instanceof MatrixCollection) {
    const col = (name: string | undefined, role: string): number => {
      if (name === undefined) return -1;
      const j = src.columns.indexOf(name);
      if (j < 0) throw new RangeError(`${PREFIX} ${what}: ${role} column "${name}" is not among the columns (${src.columns.join(", ")})`);
      return j;
    };
    if (spec.label === undefined) throw new TypeError(`${PREFIX} ${what}: a MatrixCollection needs its label column named: { data, label: "<column>" }`);
    const layout = { label: col(spec.label, "label"), weight: col(spec.weight, "weight") };
    const futures = src.toFutures({ client }) as Future<DistPart>[];
    const features = src.columns.filter((_, j) => j !== layout.label && j !== layout.weight);
    return { futures, created: futures.filter((f, i) => f !== src.parts[i]), layout, features };
  }
  if (Array.isArray(src)) {
    (src as unknown[]).forEach((f, i) => {
      if (!(f instanceof Future)) throw new TypeError(`${PREFIX} ${what}: partition ${i} is not a Future`);
    });
    return { futures: [...(src as Future<DistPart>[])], created: [], layout: { label: -1, weight: -1 }, features: null };
  }
  throw new TypeError(`${PREFIX} ${what}: expected an XYCollection, a MatrixCollection (with { data, label }) or Futures of { X, y } partitions`);
}

async function gatherAndRelease<T>(client: Client, futures: readonly Future<T>[]): Promise<T[]> {
  try {
    return await client.gather(futures);
  } finally {
    for (const f of futures) f.release();
  }
}

function hostOf(address: string): string {
  const m = /^[a-z]+:\/\/(\[[^\]]+\]|[^:/]+)/.exec(address);
  return m ? m[1].replace(/^\[|\]$/g, "") : address;
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host.startsWith("127.");
}

/** 127.0.0.1 when every worker is on this machine's loopback or in this process, else an external IPv4 of this host. */
export function defaultTrackerHost(workerAddresses: readonly string[]): string {
  if (workerAddresses.every((a) => a.startsWith("inproc://") || isLoopback(hostOf(a)))) return "127.0.0.1";
  const mine: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const ni of list ?? []) if (ni.family === "IPv4" && !ni.internal) mine.push(ni.address);
  }
  const hosts = new Set(workerAddresses.map(hostOf));
  return mine.find((a) => hosts.has(a)) ?? mine[0] ?? "127.0.0.1";
}

interface WorkerInfo {
  address: string;
  name: string;
  nthreads: number;
}

interface Group {
  worker: WorkerInfo;
  train: number[];
  evals: number[][];
  rows: number;
}

/**
 * Priority of the locating tasks and the participants: ahead of other ready work, so that the
 * participants start together (the first ones block their threads until all have joined).
 */
const PRIORITY = 1_000_000;

/** Errors of participants whose peer failed (not the cause). */
const COLLECTIVE_FAILURE = /Allreduce failed|Broadcast failed|Allgather failed|Failed to initialize Rabit|could not join the tracker|ReConnectLink|Socket/;

/**
 * Runs `locatePart` for each partition. One at a time (up to 256 partitions): the scheduler then
 * places each on an idle holder; launched together, its cost model would move some of them
 * (and their partitions) to less busy workers.
 */
async function locate(c: Client, parts: readonly Future<DistPart>[]): Promise<PartInfo[]> {
  if (parts.length > 256) return gatherAndRelease(c, c.map(locatePart, parts) as Future<PartInfo>[]);
  const out: PartInfo[] = [];
  for (const p of parts) {
    const f = c.submitWith({ pure: false, priority: PRIORITY }, locatePart, p);
    try {
      out.push(await f.result());
    } finally {
      f.release();
    }
  }
  return out;
}

/**
 * The worker of each located partition: by the name its process reported, else by process
 * identity against one pinned probe per worker (in-process workers share one identity: the
 * first of them stands for all, so one process never gets two participants).
 */
async function holders(c: Client, workers: readonly WorkerInfo[], infos: readonly PartInfo[]): Promise<WorkerInfo[]> {
  const byName = new Map(workers.map((w) => [w.name, w] as const));
  const out: (WorkerInfo | undefined)[] = infos.map((x) => (x.name !== null ? byName.get(x.name) : undefined));
  if (out.every((w) => w !== undefined)) return out as WorkerInfo[];
  const ids = await gatherAndRelease(
    c,
    workers.map((w) => c.submitWith({ workers: [w.address], allowOtherWorkers: false, pure: false, priority: PRIORITY }, processIdentity)),
  );
  const byProcess = new Map<string, WorkerInfo>();
  ids.forEach((id, i) => {
    if (!byProcess.has(id)) byProcess.set(id, workers[i]);
  });
  return infos.map((x, i) => out[i] ?? byProcess.get(x.process) ?? workers[0]);
}

/** Settles to the outcome instead of rejecting. */
function outcome<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: Error }> {
  return p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error: error instanceof Error ? error : new Error(String(error)) }),
  );
}

function delay(ms: number): { promise: Promise<"timeout">; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), ms);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

/**
 * Trains on partitions held by the workers (see the module comment). Each participant trains
 * with `nthread` = params.nthread (or n_jobs), else its worker's thread count.
 */
export async function trainOnCluster(
  client: Client | undefined,
  params: BoosterParams,
  dtrain: DistributedInput,
  opts: DistributedTrainOptions = {},
): Promise<DistributedTrainResult> {
  const c = resolveClient(client);
  // One training at a time per client (as xgboost.dask's MultiLock over the workers): a second
  // one would queue its participants behind the first's and time out waiting for them.
  const before = lanes.get(c) ?? Promise.resolve();
  const mine = before.then(() => trainExclusive(c, params, dtrain, opts));
  lanes.set(c, mine.then(() => undefined, () => undefined));
  return mine;
}

const lanes = new WeakMap<Client, Promise<void>>();

async function trainExclusive(c: Client, params: BoosterParams, dtrain: DistributedInput, opts: DistributedTrainOptions): Promise<DistributedTrainResult> {
  const rounds = opts.numBoostRound ?? 10;
  if (!Number.isInteger(rounds) || rounds < 0) throw new RangeError(`${PREFIX} numBoostRound must be a non-negative integer, got ${rounds}`);
  const evalSpecs = opts.evals ?? [];
  if (opts.earlyStoppingRounds !== undefined && evalSpecs.length === 0) throw new Error(`${PREFIX} earlyStoppingRounds needs at least one eval set (evals)`);
  const joinTimeout = opts.joinTimeoutMs ?? 60_000;
  const created: Future<unknown>[] = [];
  let tracker: RabitTracker | undefined;
  let participants: Future<ParticipantResult>[] = [];
  try {
    const trainData = normalize(c, dtrain, "training data");
    created.push(...trainData.created);
    const evalData = evalSpecs.map(([d, name]) => {
      const n = normalize(c, d, `eval set "${name}"`);
      created.push(...n.created);
      return n;
    });
    const all = [...trainData.futures, ...evalData.flatMap((e) => e.futures)];
    if (trainData.futures.length === 0) throw new RangeError(`${PREFIX} the training data has no partitions`);

    // 1-2. In memory, then located.
    await c.wait(all);
    for (const f of all) if (f.status === "error" || f.status === "cancelled") await f.result();
    const workers: WorkerInfo[] = await c.workers();
    if (workers.length === 0) throw new Error(`${PREFIX} the cluster has no workers`);
    const infos = await locate(c, all);
    const holderOf = await holders(c, workers, infos);

    // Features: from the collection, checked against every partition's shape.
    const nFeatures = trainData.features?.length ?? infos[0].cols;
    let offset = 0;
    for (const [k, d] of [trainData, ...evalData].entries()) {
      const skip = (d.layout.label >= 0 ? 1 : 0) + (d.layout.weight >= 0 ? 1 : 0);
      for (let i = 0; i < d.futures.length; i++) {
        const cols = infos[offset + i].cols - skip;
        if (cols !== nFeatures) {
          const what = k === 0 ? "training data" : `eval set "${evalSpecs[k - 1][1]}"`;
          throw new RangeError(`${PREFIX} ${what} partition ${i} has ${cols} features, expected ${nFeatures}`);
        }
      }
      offset += d.futures.length;
    }
    const featureNames = opts.featureNames ? [...opts.featureNames] : trainData.features;
    if (featureNames && featureNames.length !== nFeatures) throw new RangeError(`${PREFIX} ${featureNames.length} feature names for ${nFeatures} features`);

    // 3. One group per worker process holding training rows, ordered by their first partition.
    const groups = new Map<WorkerInfo, Group>();
    const holder = (i: number): WorkerInfo => holderOf[i];
    trainData.futures.forEach((_, i) => {
      if (infos[i].rows === 0) return;
      const w = holder(i);
      let g = groups.get(w);
      if (!g) groups.set(w, (g = { worker: w, train: [], evals: evalData.map(() => []), rows: 0 }));
      g.train.push(i);
      g.rows += infos[i].rows;
    });
    if (groups.size === 0) throw new RangeError(`${PREFIX} the training data has no rows`);
    const ordered = [...groups.values()];
    offset = trainData.futures.length;
    evalData.forEach((e, k) => {
      e.futures.forEach((_, i) => {
        if (infos[offset + i].rows === 0) return;
        // With its holder when that is a participant, else with the participant holding the fewest rows.
        const g = groups.get(holder(offset + i)) ?? ordered.reduce((a, b) => (b.rows < a.rows ? b : a));
        g.evals[k].push(i);
      });
      offset += e.futures.length;
    });

    const plan: ParticipantPlan[] = ordered.map((g, rank) => ({ rank, worker: g.worker.address, name: g.worker.name, rows: g.rows, partitions: g.train.length }));
    await opts.onPlan?.(plan);

    // 4. Tracker, then one pinned participant per group.
    tracker = await RabitTracker.start({
      host: opts.trackerHost ?? defaultTrackerHost(workers.map((w) => w.address)),
      port: opts.trackerPort,
      nWorkers: ordered.length,
      taskIds: ordered.map((_, r) => `skein-xgb-${r}`),
      log: opts.log,
    });
    const base: BoosterParams = { ...params };
    const given = params.nthread ?? params.n_jobs;
    delete base.n_jobs;
    participants = ordered.map((g, r) => {
      const nthread = typeof given === "number" && given > 0 ? given : g.worker.nthreads;
      const spec: ParticipantSpec = {
        taskId: `skein-xgb-${r}`,
        tracker: tracker!.workerArgs(),
        connectRetry: opts.connectRetry ?? 3,
        params: base,
        numBoostRound: rounds,
        earlyStoppingRounds: opts.earlyStoppingRounds,
        maximize: opts.maximize,
        evalNames: evalSpecs.map((e) => e[1]),
        layout: trainData.layout,
        evalLayouts: evalData.map((e) => e.layout),
        nFeatures,
        featureNames,
        missing: opts.missing,
        classes: opts.classes ? [...opts.classes] : null,
        xgbModel: opts.xgbModel,
        nthread,
        tcpNoDelay: opts.tcpNoDelay ?? true,
      };
      return c.submitWith(
        { workers: [g.worker.address], allowOtherWorkers: false, pure: false, priority: PRIORITY },
        xgbParticipant,
        spec,
        g.train.map((i) => trainData.futures[i]),
        g.evals.map((idx, k) => idx.map((i) => evalData[k].futures[i])),
      );
    });
    const describe = (r: number): string => {
      const w = ordered[r].worker;
      return `rank ${r} on worker ${w.name === w.address ? w.address : `${w.name} (${w.address})`}`;
    };
    const settled = participants.map((f) => outcome(f.result()));
    const firstFailure = new Promise<{ rank: number; error: Error }>((resolve) => {
      settled.forEach((p, r) => void p.then((o) => !o.ok && resolve({ rank: r, error: o.error })));
    });
    const timer = delay(joinTimeout);
    const first = await Promise.race([tracker.started.then(() => "started" as const), firstFailure, timer.promise]);
    timer.cancel();
    const bounded = (ms: number) => {
      const d = delay(ms);
      return Promise.race([Promise.all(settled), d.promise]).finally(() => d.cancel());
    };
    if (first === "timeout") {
      const missing = ordered.map((_, r) => r).filter((r) => !tracker!.joined.has(`skein-xgb-${r}`));
      const error = new Error(
        `${PREFIX} ${missing.length === 1 ? "participant" : "participants"} ${missing.map(describe).join(", ")} did not join the tracker within ${joinTimeout} ms ` +
          "(is the worker busy with other tasks, or gone?)",
      );
      tracker.abort(error);
      await c.cancel(missing.map((r) => participants[r]));
      await bounded(30_000);
      throw error;
    }
    if (first !== "started") tracker.abort(first.error);
    const results = first === "started" ? await Promise.all(settled) : await bounded(30_000);
    const failures: { rank: number; error: Error }[] = [];
    if (results === "timeout") failures.push(first as { rank: number; error: Error });
    else results.forEach((o, rank) => !o.ok && failures.push({ rank, error: o.error }));
    if (failures.length > 0) {
      // The participant that failed first makes the others' collective calls fail too: report the cause.
      const cause = failures.find((f) => !COLLECTIVE_FAILURE.test(f.error.message)) ?? failures[0];
      const others = failures.length - 1;
      throw new Error(`${PREFIX} participant ${describe(cause.rank)} failed: ${cause.error.message}${others > 0 ? ` (and ${others} other participant${others > 1 ? "s" : ""} after it)` : ""}`);
    }
    const values = (results as { ok: true; value: ParticipantResult }[]).map((o) => (o as { ok: true; value: ParticipantResult }).value);
    const lead = values.find((v) => v.rank === 0)!;
    const model = lead.model!;
    const out: DistributedTrainResult = {
      booster: Booster.load(model),
      model,
      evalsResult: lead.evalsResult,
      participants: values
        .map((v, i) => ({
          worker: ordered[i].worker.address,
          name: ordered[i].worker.name,
          rank: v.rank,
          rows: v.rows,
          partitions: ordered[i].train.length,
          dmatrixSeconds: v.dmatrixSeconds,
          trainSeconds: v.trainSeconds,
        }))
        .sort((a, b) => a.rank - b.rank),
    };
    if (lead.bestIteration !== null) out.bestIteration = lead.bestIteration;
    if (lead.bestScore !== null) out.bestScore = lead.bestScore;
    return out;
  } finally {
    for (const f of participants) f.release();
    for (const f of created) f.release();
    await tracker?.close();
  }
}

/** The classes (sorted distinct labels) over every partition of `input`, computed where the partitions are. */
export async function distributedClasses(client: Client | undefined, input: DistributedInput): Promise<Float64Array> {
  const c = resolveClient(client);
  const d = normalize(c, input, "training data");
  try {
    const lists = await gatherAndRelease(c, c.map(partitionClasses, d.futures, d.futures.map(() => d.layout)) as Future<Float64Array>[]);
    const all = new Set<number>();
    for (const l of lists) for (const v of l) all.add(v);
    return Float64Array.from(all).sort();
  } finally {
    for (const f of d.created) f.release();
  }
}

/**
 * XGBoost's `train`: local (`train(params, dtrain, opts)` on a DMatrix, as Python's
 * `xgboost.train`) or distributed (`train(client, params, data, opts)` on partitions held by the
 * workers, as `xgboost.dask.train`).
 */
export function train(params: BoosterParams, dtrain: DMatrix, opts?: TrainOptions): TrainResult;
export function train(client: Client, params: BoosterParams, dtrain: DistributedInput, opts?: DistributedTrainOptions): Promise<DistributedTrainResult>;
export function train(
  a: Client | BoosterParams,
  b: BoosterParams | DMatrix,
  c?: DistributedInput | TrainOptions,
  d?: DistributedTrainOptions,
): TrainResult | Promise<DistributedTrainResult> {
  if (a instanceof Client) return trainOnCluster(a, b as BoosterParams, c as DistributedInput, d);
  return trainLocal(a, b as DMatrix, c as TrainOptions | undefined);
}
