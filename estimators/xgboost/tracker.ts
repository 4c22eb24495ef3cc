/**
 * The collective tracker of XGBoost 1.7 (rabit), in TypeScript: the rendezvous through which the
 * participants of a distributed training learn their rank and connect to each other.
 *
 * Wire protocol (as XGBoost 1.7's python-package/xgboost/tracker.py and rabit's
 * allreduce_base.cc speak it): native-endian (little on every platform skein runs on) int32s and
 * strings sent as int32 length + bytes. Every connection opens with the magic 0xff99 both ways,
 * then the participant sends its rank (-1 when it has none yet), world size (-1 = the tracker
 * decides), task id and a command:
 * - "start": gets rank, parent rank, world size, its tree neighbours, ring prev / next; then, in
 *   a loop, reports the links it already has, receives the peers it must connect to (host, port,
 *   rank: those already waiting for it) and how many will connect to it, reports its connect
 *   errors (0 ends the loop) and finally its listening port. The tracker then closes the socket.
 * - "print": one string to log. - "shutdown": the participant is done.
 * Ranks are handed out in one batch once every participant has sent "start", in the order of
 * `taskIds`, so rank i is the participant with task id `taskIds[i]`. The links form a binary
 * tree plus a ring that shares edges with it (`linkMap`, Python's get_link_map).
 */
import { createServer, type Server, type Socket } from "node:net";

const MAGIC = 0xff99;

export interface TrackerOptions {
  /** Address to listen on; it is also the address participants dial (DMLC_TRACKER_URI). */
  host: string;
  /** Port; 0 (default) picks a free one. */
  port?: number;
  /** Number of participants. */
  nWorkers: number;
  /** Task ids (DMLC_TASK_ID) in rank order; participants with other ids rank after them. */
  taskIds?: readonly string[];
  /** Receives the participants' "print" messages. Default: dropped. */
  log?: (message: string) => void;
}

export interface LinkMap {
  tree: number[][];
  parent: number[];
  ring: [number, number][];
}

/** Tree neighbours of `rank` in the heap-ordered binary tree over n nodes. */
function neighbours(rank: number, n: number): number[] {
  const r = rank + 1;
  const out: number[] = [];
  if (r > 1) out.push(Math.floor(r / 2) - 1);
  if (r * 2 - 1 < n) out.push(r * 2 - 1);
  if (r * 2 < n) out.push(r * 2);
  return out;
}

/** Depth-first order of the subtree at `rank`, the last child's branch reversed (a ring that reuses tree edges). */
function shareRing(tree: number[][], parent: number[], rank: number): number[] {
  const children = tree[rank].filter((v) => v !== parent[rank]).sort((a, b) => a - b);
  if (children.length === 0) return [rank];
  const out = [rank];
  children.forEach((v, i) => {
    const sub = shareRing(tree, parent, v);
    if (i === children.length - 1) sub.reverse();
    out.push(...sub);
  });
  return out;
}

/** The tree and ring links for n participants, renumbered so the ring runs 0, 1, ..., n-1. */
export function linkMap(n: number): LinkMap {
  const tree: number[][] = [];
  const parent: number[] = [];
  for (let r = 0; r < n; r++) {
    tree.push(neighbours(r, n));
    parent.push(Math.floor((r + 1) / 2) - 1);
  }
  const order = shareRing(tree, parent, 0);
  const ring: [number, number][] = new Array(n);
  for (let i = 0; i < n; i++) ring[order[i]] = [order[(i + n - 1) % n], order[(i + 1) % n]];
  const renum = new Array<number>(n);
  renum[0] = 0;
  let k = 0;
  for (let i = 0; i < n - 1; i++) {
    k = ring[k][1];
    renum[k] = i + 1;
  }
  const out: LinkMap = { tree: new Array(n), parent: new Array(n), ring: new Array(n) };
  for (let r = 0; r < n; r++) {
    out.ring[renum[r]] = [renum[ring[r][0]], renum[ring[r][1]]];
    out.tree[renum[r]] = tree[r].map((x) => renum[x]);
    out.parent[renum[r]] = r === 0 ? -1 : renum[parent[r]];
  }
  return out;
}

/** Reads exact byte counts from a socket as promises. */
class Reader {
  private chunks: Buffer[] = [];
  private have = 0;
  private want: { n: number; resolve: (b: Buffer) => void; reject: (e: Error) => void } | null = null;
  private ended: Error | null = null;

  constructor(readonly socket: Socket) {
    socket.on("data", (b: Buffer) => {
      this.chunks.push(b);
      this.have += b.length;
      this.pump();
    });
    const end = (why: string) => {
      this.ended ??= new Error(why);
      if (this.want) {
        const w = this.want;
        this.want = null;
        w.reject(this.ended);
      }
    };
    socket.on("end", () => end("connection closed by the participant"));
    socket.on("close", () => end("connection closed"));
    socket.on("error", (e) => end(e.message));
  }

  private pump(): void {
    const w = this.want;
    if (!w || this.have < w.n) return;
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    this.want = null;
    const rest = all.subarray(w.n);
    this.chunks = rest.length ? [rest] : [];
    this.have = rest.length;
    w.resolve(all.subarray(0, w.n));
  }

  read(n: number): Promise<Buffer> {
    if (this.want) return Promise.reject(new Error("skein xgboost tracker: overlapping reads"));
    return new Promise((resolve, reject) => {
      this.want = { n, resolve, reject };
      this.pump();
      if (this.want && this.ended) {
        this.want = null;
        reject(this.ended);
      }
    });
  }

  async int(): Promise<number> {
    return (await this.read(4)).readInt32LE(0);
  }

  async str(): Promise<string> {
    const n = await this.int();
    if (n < 0 || n > 1 << 20) throw new Error(`skein xgboost tracker: bad string length ${n}`);
    return (await this.read(n)).toString("utf8");
  }
}

function ints(...values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => b.writeInt32LE(v, i * 4));
  return b;
}

function str(s: string): Buffer {
  const body = Buffer.from(s, "utf8");
  return Buffer.concat([ints(body.length), body]);
}

interface Entry {
  reader: Reader;
  socket: Socket;
  host: string;
  rank: number;
  worldSize: number;
  taskId: string;
  cmd: string;
  port: number;
  waitAccept: number;
}

/** Participants' view of the tracker, for XGCommunicatorInit. */
export interface TrackerAddress {
  DMLC_TRACKER_URI: string;
  DMLC_TRACKER_PORT: number;
}

export class RabitTracker {
  readonly host: string;
  readonly port: number;
  readonly nWorkers: number;
  /** Resolves once every participant has its rank and links; rejects on `abort`. */
  readonly started: Promise<void>;
  /** Ranks that reported "shutdown". */
  readonly shutdown = new Set<number>();
  private readonly order: Map<string, number>;
  private readonly log: (m: string) => void;
  private readonly joinedIds = new Set<string>();
  private pending: Entry[] = [];
  private readonly waitConn = new Map<number, Entry>();
  private readonly open = new Set<Socket>();
  private links: LinkMap | null = null;
  private todo: number[] = [];
  private chain: Promise<void> = Promise.resolve();
  private resolveStarted!: () => void;
  private rejectStarted!: (e: Error) => void;
  private failure: Error | null = null;
  private done = false;

  private constructor(private readonly server: Server, opts: TrackerOptions, port: number) {
    this.host = opts.host;
    this.port = port;
    this.nWorkers = opts.nWorkers;
    this.order = new Map((opts.taskIds ?? []).map((id, i) => [id, i]));
    this.log = opts.log ?? (() => {});
    this.started = new Promise<void>((resolve, reject) => {
      this.resolveStarted = resolve;
      this.rejectStarted = reject;
    });
    this.started.catch(() => {});
    server.on("connection", (s) => this.onConnection(s));
  }

  /** Listens on `host:port` and serves participants until `close`. */
  static async start(opts: TrackerOptions): Promise<RabitTracker> {
    if (!Number.isInteger(opts.nWorkers) || opts.nWorkers < 1) {
      throw new RangeError(`skein xgboost tracker: nWorkers must be a positive integer, got ${opts.nWorkers}`);
    }
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host: opts.host, port: opts.port ?? 0, backlog: 256 }, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const addr = server.address();
    if (addr === null || typeof addr === "string") throw new Error("skein xgboost tracker: no TCP address after listen");
    return new RabitTracker(server, opts, addr.port);
  }

  /** The config keys participants pass to XGCommunicatorInit. */
  workerArgs(): TrackerAddress {
    return { DMLC_TRACKER_URI: this.host, DMLC_TRACKER_PORT: this.port };
  }

  /** Task ids that have sent "start" so far. */
  get joined(): ReadonlySet<string> {
    return this.joinedIds;
  }

  /** True once every participant has its rank. */
  get allStarted(): boolean {
    return this.links !== null && this.todo.length === 0 && this.pending.length === 0;
  }

  /**
   * Gives up on the rendezvous: closes the connections of participants still waiting for their
   * rank or links (their XGCommunicatorInit then fails instead of blocking) and rejects `started`.
   * The listener stays open so that failed participants can still report "shutdown".
   */
  abort(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    for (const e of this.pending) e.socket.destroy();
    this.pending = [];
    for (const s of this.open) s.destroy();
    this.rejectStarted(error);
  }

  /** Stops listening and drops every connection. */
  async close(): Promise<void> {
    if (this.done) return;
    this.done = true;
    if (!this.failure) this.abort(new Error("skein xgboost tracker: closed"));
    for (const s of this.open) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onConnection(socket: Socket): void {
    socket.setNoDelay(true);
    this.open.add(socket);
    socket.on("close", () => this.open.delete(socket));
    socket.on("error", () => {});
    const reader = new Reader(socket);
    void this.handshake(socket, reader).then(
      (entry) => {
        // Commands are handled one at a time, in arrival order, as Python's accept loop does.
        this.chain = this.chain.then(() => this.handle(entry)).catch((err: Error) => {
          socket.destroy();
          if (entry.cmd === "start") this.abort(new Error(`skein xgboost tracker: rendezvous with task ${entry.taskId} failed: ${err.message}`));
        });
      },
      () => socket.destroy(),
    );
  }

  private async handshake(socket: Socket, reader: Reader): Promise<Entry> {
    const magic = await reader.int();
    if (magic !== MAGIC) throw new Error(`skein xgboost tracker: invalid magic number ${magic} from ${socket.remoteAddress}`);
    socket.write(ints(MAGIC));
    const rank = await reader.int();
    const worldSize = await reader.int();
    const taskId = await reader.str();
    const cmd = await reader.str();
    const host = (socket.remoteAddress ?? this.host).replace(/^::ffff:/, "");
    return { reader, socket, host, rank, worldSize, taskId, cmd, port: -1, waitAccept: 0 };
  }

  private async handle(e: Entry): Promise<void> {
    if (e.cmd === "print") {
      this.log((await e.reader.str()).trim());
      e.socket.end();
      return;
    }
    if (e.cmd === "shutdown") {
      // Also from a participant whose init failed (rank -1): rabit's Finalize reports it too.
      if (e.rank >= 0) this.shutdown.add(e.rank);
      e.socket.end();
      return;
    }
    if (e.cmd !== "start") throw new Error(`skein xgboost tracker: unsupported command "${e.cmd}" from task ${e.taskId}`);
    if (this.failure) {
      e.socket.destroy();
      return;
    }
    if (e.worldSize > 0 && e.worldSize !== this.nWorkers) {
      throw new Error(`task ${e.taskId} expects ${e.worldSize} participants, the tracker has ${this.nWorkers}`);
    }
    if (this.links === null) {
      this.links = linkMap(this.nWorkers);
      this.todo = Array.from({ length: this.nWorkers }, (_, i) => i);
    }
    this.joinedIds.add(e.taskId);
    if (e.rank >= 0) {
      // A participant that already has a rank (reconnecting): not used by skein, served anyway.
      await this.assign(e, e.rank);
      return;
    }
    if (this.todo.length === 0) throw new Error(`task ${e.taskId} joined, but all ${this.nWorkers} ranks are taken`);
    this.pending.push(e);
    if (this.pending.length < this.todo.length) return;
    const batch = this.pending.sort((a, b) => this.rankKey(a) - this.rankKey(b) || (a.taskId < b.taskId ? -1 : a.taskId > b.taskId ? 1 : 0));
    this.pending = [];
    for (const p of batch) await this.assign(p, this.todo.shift()!);
    this.resolveStarted();
  }

  private rankKey(e: Entry): number {
    return this.order.get(e.taskId) ?? Number.MAX_SAFE_INTEGER;
  }

  /** Python's WorkerEntry.assign_rank + _get_remote. */
  private async assign(e: Entry, rank: number): Promise<void> {
    const links = this.links!;
    e.rank = rank;
    const nn = new Set(links.tree[rank]);
    const [prev, next] = links.ring[rank];
    const head = [rank, links.parent[rank], this.nWorkers, nn.size, ...nn];
    if (prev !== -1 && prev !== rank) {
      nn.add(prev);
      head.push(prev);
    } else head.push(-1);
    if (next !== -1 && next !== rank) {
      nn.add(next);
      head.push(next);
    } else head.push(-1);
    e.socket.write(ints(...head));
    for (;;) {
      const ngood = await e.reader.int();
      const good = new Set<number>();
      for (let i = 0; i < ngood; i++) good.add(await e.reader.int());
      for (const g of good) if (!nn.has(g)) throw new Error(`task ${e.taskId} reports a link to rank ${g}, not its neighbour`);
      const bad = [...nn].filter((r) => !good.has(r)).sort((a, b) => a - b);
      const conn = bad.filter((r) => this.waitConn.has(r));
      const parts: Buffer[] = [ints(conn.length, bad.length - conn.length)];
      for (const r of conn) {
        const peer = this.waitConn.get(r)!;
        parts.push(str(peer.host), ints(peer.port, r));
      }
      e.socket.write(Buffer.concat(parts));
      const nerr = await e.reader.int();
      if (nerr !== 0) continue;
      e.port = await e.reader.int();
      for (const r of conn) {
        const peer = this.waitConn.get(r)!;
        if (--peer.waitAccept === 0) this.waitConn.delete(r);
      }
      e.waitAccept = bad.length - conn.length;
      if (e.waitAccept > 0) this.waitConn.set(rank, e);
      e.socket.end();
      return;
    }
  }
}
