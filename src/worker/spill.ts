/**
 * The worker's value store: results in memory, least recently used first out to disk.
 *
 * Two tiers, as dask's zict Buffer: `fast` (values in memory, a Map kept in use order: a read
 * moves the key to the end) and `slow` (one file per value in the worker's local directory,
 * written with packValue). Storing a value that takes the in-memory total past `targetBytes`
 * spills from the front of `fast` until it fits; a value bigger than `targetBytes` goes straight
 * to disk. `evict` spills on request (process memory pressure, see memory.ts). Reading a spilled
 * value brings it back transparently.
 *
 * Disk I/O is synchronous: the store is read from synchronous paths (starting a task, answering
 * get-data), and one file per value keeps it simple. A value packValue cannot encode, or a write
 * that fails (disk full), stays in memory and is logged.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { packValue, unpackValue } from "../comm/serialize.js";
import type { Key } from "../graph/spec.js";

export interface SpillStoreOptions {
  /** Parent directory; the store makes its own `skein-worker-*` directory inside, removed at close. */
  localDirectory: string;
  /** In-memory bytes above which storing spills LRU values; Infinity never spills on store. */
  targetBytes: number;
  /** Applied to a value read back from disk before it is used (e.g. move arrays to shared memory). */
  revive?: (value: unknown) => unknown;
  log?: (level: "info" | "warn", msg: string) => void;
}

interface Fast {
  value: unknown;
  nbytes: number;
}

interface Slow {
  path: string;
  nbytes: number;
}

export class SpillStore implements ReadonlyMap<Key, unknown> {
  private dir: string | null = null;
  private readonly fast = new Map<Key, Fast>();
  private readonly slow = new Map<Key, Slow>();
  /** Keys whose value could not be written (kept in memory, never retried). */
  private readonly unspillable = new Set<Key>();
  private fastTotal = 0;
  private slowTotal = 0;
  private nextFile = 1;
  private closed = false;
  /** Values written to disk / read back, since creation. */
  spilledCount = 0;
  unspilledCount = 0;

  constructor(private readonly opts: SpillStoreOptions) {}

  /** The store's own directory inside the local directory, made on first use (most workers never spill). */
  get directory(): string {
    if (this.dir === null) {
      mkdirSync(this.opts.localDirectory, { recursive: true });
      this.dir = mkdtempSync(join(this.opts.localDirectory, "skein-worker-"));
    }
    return this.dir;
  }

  /** Bytes of values held in memory. */
  get fastBytes(): number {
    return this.fastTotal;
  }

  /** Bytes of values on disk (their in-memory sizes, as reported). */
  get slowBytes(): number {
    return this.slowTotal;
  }

  get size(): number {
    return this.fast.size + this.slow.size;
  }

  has(key: Key): boolean {
    return this.fast.has(key) || this.slow.has(key);
  }

  /** True when the value is on disk now. */
  isSpilled(key: Key): boolean {
    return this.slow.has(key);
  }

  set(key: Key, value: unknown, nbytes: number): void {
    this.delete(key);
    if (nbytes > this.opts.targetBytes && this.writeOut(key, value, nbytes)) return;
    this.fast.set(key, { value, nbytes });
    this.fastTotal += nbytes;
    if (this.fastTotal > this.opts.targetBytes) this.evict(this.fastTotal - this.opts.targetBytes, key);
  }

  /** The value, read back from disk if it was spilled (it then counts as recently used). */
  get(key: Key): unknown {
    const f = this.fast.get(key);
    if (f !== undefined) {
      // Most recently used goes last.
      this.fast.delete(key);
      this.fast.set(key, f);
      return f.value;
    }
    const s = this.slow.get(key);
    if (s === undefined) return undefined;
    const value = this.readIn(key, s);
    if (s.nbytes > this.opts.targetBytes) return value; // too big to keep: stays on disk
    this.slow.delete(key);
    this.slowTotal -= s.nbytes;
    this.remove(s.path);
    this.fast.set(key, { value, nbytes: s.nbytes });
    this.fastTotal += s.nbytes;
    if (this.fastTotal > this.opts.targetBytes) this.evict(this.fastTotal - this.opts.targetBytes, key);
    return value;
  }

  /** Bytes `key`'s value takes in memory (0 when absent or spilled). */
  memoryBytesOf(key: Key): number {
    return this.fast.get(key)?.nbytes ?? 0;
  }

  delete(key: Key): boolean {
    const f = this.fast.get(key);
    if (f !== undefined) {
      this.fast.delete(key);
      this.fastTotal -= f.nbytes;
      this.unspillable.delete(key);
      return true;
    }
    const s = this.slow.get(key);
    if (s === undefined) return false;
    this.slow.delete(key);
    this.slowTotal -= s.nbytes;
    this.remove(s.path);
    return true;
  }

  /**
   * Spill least recently used values until `bytes` have left memory or nothing more can go
   * (`keep` is never spilled). Returns the bytes moved to disk.
   */
  evict(bytes: number, keep?: Key): number {
    let moved = 0;
    if (this.closed) return 0;
    for (const [key, f] of this.fast) {
      if (moved >= bytes) break;
      if (key === keep || this.unspillable.has(key)) continue;
      if (!this.writeOut(key, f.value, f.nbytes)) continue;
      this.fast.delete(key);
      this.fastTotal -= f.nbytes;
      moved += f.nbytes;
    }
    return moved;
  }

  /** Forget every value and remove the store's directory. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.clear();
    if (this.dir === null) return;
    try {
      rmSync(this.dir, { recursive: true, force: true });
    } catch (err) {
      this.log("warn", `skein worker: cannot remove spill directory ${this.dir}: ${(err as Error).message}`);
    }
  }

  clear(): void {
    for (const s of this.slow.values()) this.remove(s.path);
    this.fast.clear();
    this.slow.clear();
    this.unspillable.clear();
    this.fastTotal = 0;
    this.slowTotal = 0;
  }

  // ---- ReadonlyMap (reads bring spilled values back) ----

  forEach(fn: (value: unknown, key: Key, map: ReadonlyMap<Key, unknown>) => void): void {
    for (const k of [...this.keys()]) fn(this.get(k), k, this);
  }

  *keys(): MapIterator<Key> {
    yield* this.fast.keys();
    yield* this.slow.keys();
  }

  *values(): MapIterator<unknown> {
    for (const k of [...this.keys()]) yield this.get(k);
  }

  *entries(): MapIterator<[Key, unknown]> {
    for (const k of [...this.keys()]) yield [k, this.get(k)];
  }

  [Symbol.iterator](): MapIterator<[Key, unknown]> {
    return this.entries();
  }

  // ---- disk ----

  private writeOut(key: Key, value: unknown, nbytes: number): boolean {
    if (this.closed) return false;
    let path = "";
    try {
      path = join(this.directory, `${this.nextFile++}.bin`);
      writeFileSync(path, packValue(value));
    } catch (err) {
      this.unspillable.add(key);
      if (path !== "") this.remove(path);
      this.log("warn", `skein worker: cannot spill ${JSON.stringify(key)} to ${path || this.opts.localDirectory}, keeping it in memory: ${(err as Error).message}`);
      return false;
    }
    this.slow.set(key, { path, nbytes });
    this.slowTotal += nbytes;
    this.spilledCount++;
    return true;
  }

  private readIn(key: Key, s: Slow): unknown {
    let value: unknown;
    try {
      value = unpackValue(readFileSync(s.path));
    } catch (err) {
      throw new Error(`skein worker: cannot read spilled value ${JSON.stringify(key)} from ${s.path}: ${(err as Error).message}`);
    }
    this.unspilledCount++;
    return this.opts.revive ? this.opts.revive(value) : value;
  }

  private remove(path: string): void {
    try {
      unlinkSync(path);
    } catch {
      // Already gone (never written, or the directory was removed): nothing to do.
    }
  }

  private log(level: "info" | "warn", msg: string): void {
    (this.opts.log ?? ((_l, m) => process.stderr.write(m + "\n")))(level, msg);
  }
}
