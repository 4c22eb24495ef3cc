/**
 * onnxruntime-node, opened on first use, driven synchronously, with one InferenceSession per
 * task thread per model (a worker process with `threadsPerWorker: 1` has one task thread, so one
 * session per worker process), reused by every partition that thread predicts.
 *
 * Why synchronous: the estimator contract's predict / transform are synchronous. onnxruntime-node's
 * public `session.run` is a Promise only on the surface: its backend calls the native run
 * synchronously inside a setImmediate. We call that native binding directly
 * (`onnxruntime-node/dist/binding.js`, the module the public backend wraps), so nothing moves
 * off-thread that the public API would have moved. If a future onnxruntime-node drops it, the
 * error says so and names the installed version.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { threadId } from "node:worker_threads";
import { threadBound } from "../../src/functions/thread-bound.js";

export const ONNX_PREFIX = "skein onnx:";

/** Element types onnxruntime reports (the public API's names). */
export type OnnxElementType = "float32" | "float64" | "int64" | "int32" | "uint8" | "int8" | "bool" | "string" | "other";

/** One input or output of a model as onnxruntime sees it: symbolic dimensions are strings. */
export interface OnnxValueInfo {
  name: string;
  /** false for sequences / maps (e.g. scikit-learn-onnx's ZipMap output). */
  isTensor: boolean;
  type: OnnxElementType;
  shape: (number | string)[];
}

/** What an OnnxModel needs to know about a file: read once where the model is loaded. */
export interface OnnxFileInfo {
  sha256: string;
  bytes: number;
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

/** The slice of onnxruntime-common's Tensor used here. */
interface OrtTensor {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: ArrayLike<number | bigint | string | boolean>;
}
type TensorCtor = new (type: string, data: Float64Array | Float32Array, dims: readonly number[]) => OrtTensor;

interface RawMeta {
  name: string;
  isTensor: boolean;
  type?: number;
  shape?: number[];
  symbolicDimensions?: string[];
}

interface NativeSession {
  loadModel(buffer: ArrayBufferLike, byteOffset: number, byteLength: number, options: object): void;
  run(feeds: Record<string, OrtTensor>, fetches: Record<string, null>, options: object): Record<string, OrtTensor>;
  dispose?(): void;
  readonly inputMetadata: RawMeta[];
  readonly outputMetadata: RawMeta[];
}

interface Ort {
  Session: new () => NativeSession;
  Tensor: TensorCtor;
  version: string;
}

/** onnxruntime's element type codes (ONNX TensorProto.DataType) -> names. */
const TYPES: Record<number, OnnxElementType> = { 1: "float32", 2: "uint8", 3: "int8", 6: "int32", 7: "int64", 8: "string", 9: "bool", 11: "float64" };

let ort: Ort | null = null;

function loadOrt(): Ort {
  if (ort) return ort;
  const require = createRequire(import.meta.url);
  let pkg: { Tensor: TensorCtor };
  let version = "unknown";
  try {
    pkg = require("onnxruntime-node") as { Tensor: TensorCtor };
    version = (require("onnxruntime-node/package.json") as { version: string }).version;
  } catch (err) {
    throw new Error(`${ONNX_PREFIX} onnxruntime-node cannot be loaded (npm install onnxruntime-node): ${(err as Error).message}`);
  }
  const b = require("onnxruntime-node/dist/binding.js") as { binding?: { InferenceSession?: new () => NativeSession }; initOrt?: () => void };
  if (typeof b.initOrt !== "function" || typeof b.binding?.InferenceSession !== "function") {
    throw new Error(`${ONNX_PREFIX} onnxruntime-node ${version} has no synchronous native binding at dist/binding.js (known to work: 1.30)`);
  }
  b.initOrt();
  ort = { Session: b.binding.InferenceSession, Tensor: pkg.Tensor, version };
  return ort;
}

/** The installed onnxruntime-node version (loads it). */
export function onnxruntimeVersion(): string {
  return loadOrt().version;
}

function valueInfo(m: RawMeta): OnnxValueInfo {
  const shape: (number | string)[] = [];
  const dims = m.shape ?? [];
  for (let i = 0; i < dims.length; i++) shape.push(dims[i] >= 0 ? dims[i] : m.symbolicDimensions?.[i] || "?");
  return { name: m.name, isTensor: m.isTensor, type: m.isTensor ? (TYPES[m.type ?? -1] ?? "other") : "other", shape };
}

/** A loaded session with its names and shapes. */
export interface OnnxSession {
  readonly native: NativeSession;
  readonly info: OnnxFileInfo;
}

export interface SessionOptions {
  /** onnxruntime's intra-op threads. */
  intraOpNumThreads: number;
}

/** Opens `bytes` in onnxruntime (synchronously); `what` names the source in errors. */
export function openSession(bytes: Uint8Array, what: string, opts: SessionOptions): OnnxSession {
  const { Session } = loadOrt();
  const native = new Session();
  try {
    native.loadModel(bytes.buffer, bytes.byteOffset, bytes.byteLength, { intraOpNumThreads: opts.intraOpNumThreads, interOpNumThreads: 1 });
  } catch (err) {
    throw new Error(`${ONNX_PREFIX} ${what} is not a model onnxruntime can load: ${(err as Error).message}`);
  }
  const info: OnnxFileInfo = {
    sha256: createHash("sha256").update(bytes).digest("hex"),
    bytes: bytes.byteLength,
    inputs: native.inputMetadata.map(valueInfo),
    outputs: native.outputMetadata.map(valueInfo),
  };
  return { native, info };
}

/** Reads a model file, with an error naming the path when it is missing or unreadable. */
export function readModelFile(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : (err as Error).message;
    throw new Error(`${ONNX_PREFIX} cannot read model file "${path}": ${why}`);
  }
}

// ------------------------------------------------------------------ per-thread cache

/** Sessions kept per thread; the least recently used beyond this is disposed. */
const MAX_SESSIONS = 8;
const sessions = new Map<string, OnnxSession>();
const stats = { created: 0, reused: 0, runs: 0 };

/**
 * The session for `path` with content `sha256`, created once in this thread and reused (up to
 * MAX_SESSIONS models per thread, least recently used disposed first). The file
 * is read only when the session is not cached yet, and must still hash to `sha256` (the content
 * the model was loaded with), so a file replaced between load and predict is caught, not run.
 */
export function cachedSession(path: string, sha256: string, opts: SessionOptions): OnnxSession {
  const key = `${sha256}\0${opts.intraOpNumThreads}\0${path}`;
  const hit = sessions.get(key);
  if (hit) {
    stats.reused++;
    sessions.delete(key);
    sessions.set(key, hit);
    return hit;
  }
  const bytes = readModelFile(path);
  const s = openSession(bytes, `"${path}"`, opts);
  if (s.info.sha256 !== sha256) {
    s.native.dispose?.();
    throw new Error(`${ONNX_PREFIX} model file "${path}" changed since the OnnxModel was loaded (sha256 ${s.info.sha256.slice(0, 12)}, expected ${sha256.slice(0, 12)}): call fit() again`);
  }
  sessions.set(key, s);
  stats.created++;
  while (sessions.size > MAX_SESSIONS) {
    const [oldest, old] = sessions.entries().next().value as [string, OnnxSession];
    sessions.delete(oldest);
    old.native.dispose?.();
  }
  return s;
}

/** Runs `session` on one float input, returning the requested outputs. */
export function runSession(s: OnnxSession, input: string, data: Float64Array | Float32Array, dims: readonly number[], outputs: readonly string[]): Record<string, OrtTensor> {
  const { Tensor } = loadOrt();
  const feeds: Record<string, OrtTensor> = { [input]: new Tensor(data instanceof Float64Array ? "float64" : "float32", data, dims) };
  const fetches: Record<string, null> = {};
  for (const o of outputs) fetches[o] = null;
  stats.runs++;
  return s.native.run(feeds, fetches, {});
}

export interface OnnxSessionStats {
  pid: number;
  threadId: number;
  /** Sessions created in this thread since it started (or since resetOnnxSessions). */
  created: number;
  /** Times a cached session was reused. */
  reused: number;
  runs: number;
  /** Sessions cached now. */
  cached: number;
}

/** Session counters of the calling thread: run it as a task to see a worker's. */
export function onnxSessionStats(): OnnxSessionStats {
  return { pid: process.pid, threadId, ...stats, cached: sessions.size };
}

/** Disposes this thread's cached sessions and zeroes the counters. */
export function resetOnnxSessions(): OnnxSessionStats {
  const before = onnxSessionStats();
  for (const s of sessions.values()) s.native.dispose?.();
  sessions.clear();
  stats.created = stats.reused = stats.runs = 0;
  return before;
}

// They report on (and reset) the sessions of the thread they run in.
threadBound(onnxSessionStats, resetOnnxSessions);
