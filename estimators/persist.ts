/**
 * Model files: `save(estimator, "model.json")` writes the estimator's plain-data form
 * (`toJSON()`: params and fitted state) as versioned JSON; typed arrays of `sidecarMinBytes` or
 * more go to a binary sidecar (`model.bin`, 8-byte aligned, checked by length and SHA-256), the
 * small ones stay inline. `load("model.json")` rebuilds the estimator (importing the module that
 * registers its class when needed).
 *
 * Both files are written atomically (temporary name, then rename; the sidecar first). A file of a
 * newer format version, a file that is not a skein model, truncated or corrupted JSON, and a
 * missing, short or altered sidecar each give an error naming the path and what is wrong.
 *
 *   { "format": "skein-model", "version": 1, "estimator": EstimatorJSON,
 *     "sidecar": null | { "file": "model.bin", "bytes": n, "sha256": "..." } }
 *
 * In `estimator`, a typed array is `{ "$typed": "Float64Array", "data": [...] }` inline or
 * `{ "$typed": "Float64Array", "offset": o, "length": n }` in the sidecar; a non-finite number is
 * `{ "$num": "NaN" }`.
 */
import { createHash, randomBytes } from "node:crypto";
import { readFile, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { PREFIX, fromJSONAsync, isEstimator, type Estimator, type EstimatorJSON } from "./base.js";

export const MODEL_FORMAT = "skein-model";
export const MODEL_FORMAT_VERSION = 1;
const DEFAULT_SIDECAR_MIN_BYTES = 4096;

export interface SaveOptions {
  /** Typed arrays of at least this many bytes go to the binary sidecar. Default 4096; Infinity: none. */
  sidecarMinBytes?: number;
}

export class ModelFileError extends Error {
  static {
    this.prototype.name = "ModelFileError";
  }
}

type TypedCtor = new (buffer: ArrayBuffer, byteOffset?: number, length?: number) => ArrayBufferView & ArrayLike<number | bigint>;

const TYPED: Record<string, TypedCtor & { BYTES_PER_ELEMENT: number }> = {
  Float64Array,
  Float32Array,
  Int32Array,
  Uint32Array,
  Int16Array,
  Uint16Array,
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  BigInt64Array,
  BigUint64Array,
} as unknown as Record<string, TypedCtor & { BYTES_PER_ELEMENT: number }>;

/** The sidecar next to `path`: model.json -> model.bin, anything else -> <path>.bin. */
export function sidecarPath(path: string): string {
  return path.endsWith(".json") ? path.slice(0, -".json".length) + ".bin" : path + ".bin";
}

// ------------------------------------------------------------------ encoding

export interface EncodedModel {
  /** The JSON text of the model file (its `sidecar.file` is filled in by `save`). */
  text: string;
  /** The sidecar bytes, or null when every typed array is inline. */
  sidecar: Uint8Array | null;
}

function typedName(v: ArrayBufferView): string {
  return (v as { constructor: { name: string } }).constructor.name;
}

/** The model file's contents for `est` (`sidecarFile`: the name written into the header). */
export function encodeModel(est: Estimator, opts: SaveOptions & { sidecarFile?: string } = {}): EncodedModel {
  if (!isEstimator(est)) throw new TypeError(`${PREFIX} save: not an estimator`);
  const min = opts.sidecarMinBytes ?? DEFAULT_SIDECAR_MIN_BYTES;
  const chunks: Uint8Array[] = [];
  let size = 0;
  const encoded = JSON.stringify(est.toJSON(), function (this: unknown, _k: string, v: unknown) {
    if (typeof v === "number" && !Number.isFinite(v)) return { $num: String(v) };
    if (typeof v === "bigint") return { $bigint: v.toString() };
    if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
      const name = typedName(v);
      if (!TYPED[name]) throw new TypeError(`${PREFIX} save: cannot store a ${name}`);
      const length = (v as unknown as ArrayLike<unknown>).length;
      if (v.byteLength >= min) {
        const pad = (8 - (size % 8)) % 8;
        if (pad) chunks.push(new Uint8Array(pad));
        const offset = size + pad;
        chunks.push(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
        size = offset + v.byteLength;
        return { $typed: name, offset, length };
      }
      const data: (number | string)[] = new Array(length);
      const src = v as unknown as ArrayLike<number | bigint>;
      for (let i = 0; i < length; i++) {
        const x = src[i];
        data[i] = typeof x === "bigint" ? x.toString() : Number.isFinite(x) ? x : String(x);
      }
      return { $typed: name, data };
    }
    return v;
  }) as string;
  let sidecar: Uint8Array | null = null;
  if (chunks.length) {
    sidecar = new Uint8Array(size);
    let at = 0;
    for (const c of chunks) {
      sidecar.set(c, at);
      at += c.byteLength;
    }
  }
  const header = sidecar
    ? { file: opts.sidecarFile ?? "model.bin", bytes: sidecar.byteLength, sha256: createHash("sha256").update(sidecar).digest("hex") }
    : null;
  const text = `{"format":${JSON.stringify(MODEL_FORMAT)},"version":${MODEL_FORMAT_VERSION},"sidecar":${JSON.stringify(header)},"estimator":${encoded}}\n`;
  return { text, sidecar };
}

// ------------------------------------------------------------------ decoding

interface Header {
  format: unknown;
  version: unknown;
  sidecar: unknown;
  estimator: unknown;
}

/** Reads the header of a model file's text; `where` names the file in errors. */
export function parseModelHeader(text: string, where: string): { sidecar: { file: string; bytes: number; sha256: string } | null; raw: Header } {
  let raw: Header;
  try {
    raw = JSON.parse(text) as Header;
  } catch (err) {
    throw new ModelFileError(`${PREFIX} load: ${where} is not valid JSON (truncated or corrupted?): ${(err as Error).message}`);
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw) || raw.format !== MODEL_FORMAT) {
    throw new ModelFileError(`${PREFIX} load: ${where} is not a skein model file (no "format": "${MODEL_FORMAT}")`);
  }
  const v = raw.version;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) {
    throw new ModelFileError(`${PREFIX} load: ${where} has an invalid format version ${JSON.stringify(v)}`);
  }
  if (v > MODEL_FORMAT_VERSION) {
    throw new ModelFileError(
      `${PREFIX} load: ${where} is model format version ${v}, newer than this skein reads (up to ${MODEL_FORMAT_VERSION}); upgrade skein to load it`,
    );
  }
  const sc = raw.sidecar;
  if (sc !== null) {
    const s = sc as { file?: unknown; bytes?: unknown; sha256?: unknown };
    if (typeof sc !== "object" || typeof s.file !== "string" || typeof s.bytes !== "number" || typeof s.sha256 !== "string" || s.file.includes("/") || s.file.includes("\\")) {
      throw new ModelFileError(`${PREFIX} load: ${where} has a malformed "sidecar" entry ${JSON.stringify(sc)}`);
    }
  }
  if (raw.estimator === null || typeof raw.estimator !== "object") throw new ModelFileError(`${PREFIX} load: ${where} has no "estimator"`);
  return { sidecar: sc as { file: string; bytes: number; sha256: string } | null, raw };
}

/** Rebuilds the EstimatorJSON of a model file from its text and sidecar bytes. */
export function decodeModel(text: string, sidecar: Uint8Array | null, where = "model"): EstimatorJSON {
  const { sidecar: sc, raw } = parseModelHeader(text, where);
  if (sc) {
    if (!sidecar) throw new ModelFileError(`${PREFIX} load: ${where} needs its sidecar ${sc.file}, which was not given`);
    if (sidecar.byteLength !== sc.bytes) {
      throw new ModelFileError(`${PREFIX} load: sidecar ${sc.file} of ${where} has ${sidecar.byteLength} bytes, the model file says ${sc.bytes} (truncated or replaced?)`);
    }
    const digest = createHash("sha256").update(sidecar).digest("hex");
    if (digest !== sc.sha256) throw new ModelFileError(`${PREFIX} load: sidecar ${sc.file} of ${where} is corrupted (SHA-256 ${digest}, expected ${sc.sha256})`);
  }
  const revive = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(revive);
    if (v === null || typeof v !== "object") return v;
    const o = v as Record<string, unknown>;
    if (typeof o.$num === "string" && Object.keys(o).length === 1) return Number(o.$num);
    if (typeof o.$bigint === "string" && Object.keys(o).length === 1) return BigInt(o.$bigint);
    if (typeof o.$typed === "string") {
      const Ctor = TYPED[o.$typed];
      if (!Ctor) throw new ModelFileError(`${PREFIX} load: ${where} holds an unknown array type "${o.$typed}"`);
      if (Array.isArray(o.data)) {
        const big = o.$typed.startsWith("Big");
        const out = new (Ctor as unknown as new (n: number) => { [i: number]: number | bigint })(o.data.length);
        o.data.forEach((x, i) => (out[i] = big ? BigInt(x as string) : Number(x)));
        return out;
      }
      const offset = o.offset;
      const length = o.length;
      const bytes = Ctor.BYTES_PER_ELEMENT * (length as number);
      if (!Number.isInteger(offset) || !Number.isInteger(length) || (offset as number) < 0 || (length as number) < 0 || !sidecar || (offset as number) + bytes > sidecar.byteLength) {
        throw new ModelFileError(`${PREFIX} load: ${where}: array ${JSON.stringify({ $typed: o.$typed, offset, length })} lies outside the sidecar (${sidecar?.byteLength ?? 0} bytes)`);
      }
      // A copy into a fresh buffer: aligned, and independent of the file's bytes.
      const buf = sidecar.buffer.slice(sidecar.byteOffset + (offset as number), sidecar.byteOffset + (offset as number) + bytes) as ArrayBuffer;
      return new Ctor(buf, 0, length as number);
    }
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(o)) out[k] = revive(x);
    return out;
  };
  return revive(raw.estimator) as EstimatorJSON;
}

// ------------------------------------------------------------------ files

async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  try {
    await writeFile(tmp, data, { flag: "wx" });
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Writes `est` to `path` (JSON) and, for large typed arrays, `sidecarPath(path)`. */
export async function save(est: Estimator, path: string, opts: SaveOptions = {}): Promise<void> {
  const side = sidecarPath(path);
  const { text, sidecar } = encodeModel(est, { ...opts, sidecarFile: basename(side) });
  if (sidecar) await writeAtomic(side, sidecar);
  else await rm(side, { force: true });
  await writeAtomic(path, text);
}

/** Reads a model file written by `save` and rebuilds the estimator. */
export async function load(path: string): Promise<Estimator> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new ModelFileError(`${PREFIX} load: cannot read ${path}: ${(err as Error).message}`);
  }
  const { sidecar: sc } = parseModelHeader(text, path);
  let bytes: Uint8Array | null = null;
  if (sc) {
    const side = join(dirname(path), sc.file);
    try {
      bytes = await readFile(side);
    } catch (err) {
      throw new ModelFileError(`${PREFIX} load: sidecar ${side} of ${path} cannot be read: ${(err as Error).message}`);
    }
  }
  const json = decodeModel(text, bytes, path);
  try {
    return await fromJSONAsync(json);
  } catch (err) {
    throw new ModelFileError(`${PREFIX} load: ${path}: ${(err as Error).message}`);
  }
}
