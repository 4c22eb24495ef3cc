/**
 * A disk cache for pure tasks, keyed by their deterministic keys (resume after an interruption).
 *
 * The client rewrites a graph before submitting it (`applyDiskCache`): a task whose key already
 * has a file in the cache folder becomes a load of that file (no dependencies, so what fed it is
 * pruned and never runs); any other cached task is wrapped so that the worker that computes it
 * also writes its value, atomically (a temporary file renamed into place), before returning it.
 * A file therefore exists only for a value that was computed in full: a process killed half-way
 * leaves complete files or none, and stray temporaries are ignored.
 *
 * Keys must say everything about the value (as dask's tokenized keys do): the cache trusts a key
 * it has seen. Values are stored with `packValue` (typed arrays kept, msgpack otherwise).
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { threadId } from "node:worker_threads";
import { packValue, unpackValue } from "../comm/serialize.js";
import { SkeinError } from "../errors.js";
import { ownRef } from "../functions/own.js";
import { Call, type Key } from "./spec.js";
import type { NormalizedTask } from "./task.js";
import { tokenize } from "./tokenize.js";

export interface DiskCacheOptions {
  /** Folder of the cache (created when missing). Relative paths resolve against the client's cwd. */
  readonly dir: string;
  /** Which keys to cache (default: every task that calls a function; literals never are). */
  readonly include?: (key: Key) => boolean;
}

/** A folder, or the folder plus a filter on keys. */
export type CacheOption = string | DiskCacheOptions;

const EXT = ".skc";
const SAFE = /^[A-Za-z0-9._-]{1,120}$/;

/** The file name of `key`: the key itself when it is short and plain, else a readable prefix + hash. */
export function cacheFileName(key: Key): string {
  if (SAFE.test(key)) return key + EXT;
  return `${key.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 80)}-${tokenize(key)}${EXT}`;
}

/** Task function: the cached value of `key` (runs on a worker). */
export function loadCached(dir: string, key: Key): unknown {
  const file = path.join(dir, cacheFileName(key));
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new SkeinError(`skein cache: cannot read "${file}" for key "${key}": ${(err as Error).message}`);
  }
  return unpackValue(bytes);
}

let tmpCounter = 0;

/** Task function: writes `value` under `key` (temporary file + rename) and returns it unchanged. */
export function storeCached(dir: string, key: Key, value: unknown): unknown {
  const file = path.join(dir, cacheFileName(key));
  const tmp = `${file}.tmp-${process.pid}-${threadId}-${++tmpCounter}`;
  mkdirSync(dir, { recursive: true });
  try {
    writeFileSync(tmp, packValue(value));
    renameSync(tmp, file);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
    throw new SkeinError(`skein cache: cannot write "${file}" for key "${key}": ${(err as Error).message}`);
  }
  return value;
}

const LOAD = ownRef(import.meta.url, "loadCached");
const STORE = ownRef(import.meta.url, "storeCached");

export interface CacheRewrite {
  /** The graph to submit: hits as loads, misses wrapped in stores, unneeded tasks pruned. */
  readonly tasks: Map<Key, NormalizedTask>;
  /** Keys served from disk. */
  readonly hits: Key[];
  /** Keys that will be computed and stored. */
  readonly misses: Key[];
}

/** Normalises an option to an absolute folder and a filter. */
export function cacheOptions(opt: CacheOption): { dir: string; include: (key: Key) => boolean } {
  const o = typeof opt === "string" ? { dir: opt } : opt;
  if (typeof o.dir !== "string" || o.dir === "") throw new SkeinError(`skein cache: "dir" must be a non-empty path, got ${JSON.stringify(o.dir)}`);
  return { dir: path.resolve(o.dir), include: o.include ?? (() => true) };
}

/** The keys' file names present in `dir` (complete files only; temporaries are skipped). */
export function cachedNames(dir: string): Set<string> {
  try {
    return new Set(readdirSync(dir).filter((n) => n.endsWith(EXT)));
  } catch {
    return new Set();
  }
}

/**
 * Rewrites `tasks` for the cache in `opt`. `held(key)` says the cluster already holds a key
 * (those are left alone: the scheduler is not sent them again). Only tasks reachable from
 * `wanted` through the rewritten dependencies are kept.
 */
export function applyDiskCache(tasks: ReadonlyMap<Key, NormalizedTask>, wanted: readonly Key[], opt: CacheOption, held: (key: Key) => boolean = () => false): CacheRewrite {
  const { dir, include } = cacheOptions(opt);
  mkdirSync(dir, { recursive: true });
  const present = cachedNames(dir);
  const rewritten = new Map<Key, NormalizedTask>();
  const hits: Key[] = [];
  const misses: Key[] = [];
  for (const t of tasks.values()) {
    if (t.fn === null || held(t.key) || !include(t.key)) {
      rewritten.set(t.key, t);
    } else if (present.has(cacheFileName(t.key))) {
      rewritten.set(t.key, { key: t.key, fn: LOAD, args: [dir, t.key], deps: [] });
      hits.push(t.key);
    } else {
      rewritten.set(t.key, { key: t.key, fn: STORE, args: [dir, t.key, new Call(t.fn, t.args)], deps: t.deps });
      misses.push(t.key);
    }
  }
  // Prune: a load has no inputs, so what only fed cached keys need not run.
  const keep = new Map<Key, NormalizedTask>();
  const stack = [...wanted];
  while (stack.length) {
    const k = stack.pop()!;
    if (keep.has(k)) continue;
    const t = rewritten.get(k);
    if (!t) continue;
    keep.set(k, t);
    for (const d of t.deps) if (!keep.has(d)) stack.push(d);
  }
  const kept = new Map<Key, NormalizedTask>();
  for (const [k, t] of rewritten) if (keep.has(k)) kept.set(k, t); // first-seen order preserved
  return { tasks: kept, hits: hits.filter((k) => kept.has(k)), misses: misses.filter((k) => kept.has(k)) };
}
